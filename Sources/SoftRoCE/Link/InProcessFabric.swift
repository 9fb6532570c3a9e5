import NIOConcurrencyHelpers
public import SoftRoCEMemory
import Synchronization

/// The in-process fabric: every device of the process attached to it can reach the others by
/// GID, with no network and no kernel module. Runs are delivered synchronously to the destination
/// device's responder or completer on the sending thread, whole (a 1 MiB segmentation offload),
/// so a loopback RDMA WRITE is one copy from the source region into the target region.
///
/// For tests it can lose runs on purpose (``lossRate``): the engine's retransmission then has
/// to recover.
public final class InProcessFabric: PacketLink, Sendable {
    /// The fabric devices attach to by default.
    public static let shared = InProcessFabric()

    private struct State {
        var devices: [GID: Device] = [:]
        /// The devices at GIDs this fabric assigned, by host number: what `transmit` looks up
        /// (an array index instead of hashing a 16-byte GID per run).
        var hosts: [Device?] = [nil]
        var nextHost: UInt32 = 1

        /// The host number of `gid` if it is one of this fabric's addresses.
        func host(of gid: GID, subnet: UInt32) -> Int? {
            guard gid.high == 0, gid.low >> 32 == 0xFFFF, UInt32(truncatingIfNeeded: gid.low) & 0xFFFF_0000 == subnet else { return nil }
            let host = Int(UInt32(truncatingIfNeeded: gid.low) & 0xFFFF)
            return host > 0 ? host : nil
        }

        func device(at gid: GID, subnet: UInt32) -> Device? {
            if let host = host(of: gid, subnet: subnet) { return host < hosts.count ? hosts[host] : nil }
            return devices[gid]
        }

        mutating func set(_ device: Device?, at gid: GID, subnet: UInt32) {
            devices[gid] = device
            guard let host = host(of: gid, subnet: subnet) else { return }
            while hosts.count <= host { hosts.append(nil) }
            hosts[host] = device
        }
    }
    private let state = LockedValue(State())
    private let faults = InjectedNetworkFaults(seed: 0x9E37_79B9_7F4A_7C15)
    private let subnet: UInt32

    /// Creates a fabric whose devices get GIDs `::ffff:127.<subnet>.x.y`.
    public init(subnet: UInt8 = 0) { self.subnet = 0x7F00_0000 | UInt32(subnet) << 16 }

    public var maxRunPayload: Int { 1 << 20 }

    /// Fraction of runs dropped on purpose, 0 ... 1 (fault injection).
    public var lossRate: Double {
        get { faults.lossRate }
        set { faults.lossRate = newValue }
    }

    /// Runs dropped by fault injection so far.
    public var droppedRuns: Int { faults.dropped.load(ordering: .relaxed) }

    public func assignGID() -> GID {
        state.withLockedValue { state in
            let host = state.nextHost
            state.nextHost += 1
            return GID(ipv4: subnet | host)
        }
    }

    public func attach(_ device: Device, at gid: GID) {
        state.withLockedValue { $0.set(device, at: gid, subnet: subnet) }
    }

    public func detach(_ device: Device) {
        state.withLockedValue { state in
            for (gid, attached) in state.devices where attached === device { state.set(nil, at: gid, subnet: subnet) }
        }
    }

    /// Delivers the whole batch to the destination device, looked up once (run by run while
    /// runs are lost on purpose, or when no device is there).
    public func transmit(_ batch: PacketRunBatch, from source: GID, to destination: GID) -> Int {
        guard faults.lossRate == 0, let device = state.withLockedValue({ $0.device(at: destination, subnet: subnet) }) else {
            return transmitEach(batch, from: source, to: destination)
        }
        return device.receive(batch, from: source)
    }

    public func transmit(_ run: PacketRun, payload: MappedBytes?, from source: GID, to destination: GID) {
        if case .drop = faults.nextFate() { return }
        guard let device = state.withLockedValue({ $0.device(at: destination, subnet: subnet) }) else { return }
        device.receive(run, payload: payload, from: source)
    }
}
