import Synchronization
import NIOConcurrencyHelpers
/// The capabilities of a device: what `ibv_query_device` (and `_ex` for ODP) reports.
public struct DeviceAttributes: Hashable, Sendable {
    /// Firmware / software version string.
    public var firmwareVersion: String
    /// Node GUID (EUI-64).
    public var nodeGUID: UInt64
    /// Vendor ID (0xFFFFFF: none) and part ID.
    public var vendorID: UInt32
    /// Largest registrable region in bytes.
    public var maxMemoryRegionSize: UInt64
    /// Page sizes the device can map (bit n set = 2^n bytes).
    public var pageSizeCapabilities: UInt64
    /// Maximum queue pairs, work requests per queue, SGEs per work request, CQs, CQ entries, MRs, PDs.
    public var maxQueuePairs: Int
    public var maxQueuePairWorkRequests: Int
    public var maxScatterGatherElements: Int
    public var maxCompletionQueues: Int
    public var maxCompletionQueueEntries: Int
    public var maxMemoryRegions: Int
    public var maxProtectionDomains: Int
    /// Outstanding RDMA READ / ATOMIC operations per QP as responder and as requester.
    public var maxQueuePairReadAtomic: Int
    public var maxQueuePairInitiatorReadAtomic: Int
    /// Largest inline payload in bytes.
    public var maxInlineData: Int
    /// Atomic capability: `IBV_ATOMIC_HCA` (atomic with respect to other device operations and
    /// the CPU: the device uses the CPU's atomic instructions on the memory).
    public var atomicCapability: AtomicCapability
    /// On-demand-paging capabilities (`ibv_odp_caps`).
    public var onDemandPaging: OnDemandPagingCapabilities

    /// `enum ibv_atomic_cap`.
    public enum AtomicCapability: String, Hashable, Sendable {
        case none = "ATOMIC_NONE"
        case hca = "ATOMIC_HCA"
        case global = "ATOMIC_GLOB"
    }
}

/// On-demand-paging capabilities: which operations may use ODP memory, per transport.
/// Corresponds to `struct ibv_odp_caps`.
public struct OnDemandPagingCapabilities: Hashable, Sendable {
    /// Operations that may target ODP memory (`IBV_ODP_SUPPORT_*`).
    public struct Operations: OptionSet, Hashable, Sendable, CustomStringConvertible {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }
        /// `IBV_ODP_SUPPORT_SEND`.
        public static let send = Operations(rawValue: 1 << 0)
        /// `IBV_ODP_SUPPORT_RECV`.
        public static let receive = Operations(rawValue: 1 << 1)
        /// `IBV_ODP_SUPPORT_WRITE`.
        public static let write = Operations(rawValue: 1 << 2)
        /// `IBV_ODP_SUPPORT_READ`.
        public static let read = Operations(rawValue: 1 << 3)
        /// `IBV_ODP_SUPPORT_ATOMIC`.
        public static let atomic = Operations(rawValue: 1 << 4)

        public var description: String {
            let names: [(Operations, String)] = [
                (.send, "SEND"), (.receive, "RECV"), (.write, "WRITE"), (.read, "READ"), (.atomic, "ATOMIC"),
            ]
            return names.filter { contains($0.0) }.map(\.1).joined(separator: " ")
        }
    }

    /// Whether ODP is supported at all (`IBV_ODP_SUPPORT`).
    public var isSupported: Bool
    /// Whether an implicit (whole address space) ODP region is supported (`IBV_ODP_SUPPORT_IMPLICIT`).
    public var supportsImplicit: Bool
    /// Operations per transport.
    public var reliableConnected: Operations
    public var unreliableDatagram: Operations
}

/// The state and attributes of a device port: what `ibv_query_port` reports.
public struct PortAttributes: Hashable, Sendable {
    /// `IBV_PORT_ACTIVE` etc.
    public enum State: String, Hashable, Sendable {
        case down = "PORT_DOWN"
        case active = "PORT_ACTIVE"
    }
    /// Port number (1-based).
    public var number: UInt8
    /// Port state.
    public var state: State
    /// Largest MTU the port supports, and the active one.
    public var maxMTU: PathMTU
    public var activeMTU: PathMTU
    /// Link layer name ("Ethernet" for RoCE).
    public var linkLayer: String
    /// GID table length.
    public var gidTableLength: Int
}
