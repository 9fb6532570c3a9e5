import SoftRoCEMemory
import SoftRoCEWire

/// Which part of a QP raised a page fault: the four fault contexts of the seed's
/// `mlx5_ib_pagefault_context` (`MLX5_IB_PAGEFAULT_{REQUESTOR,RESPONDER}_{READ,WRITE}`). Each
/// holds at most one outstanding fault.
enum PageFaultContext: Int, CaseIterable, Sendable {
    /// The requester reading a WQE's local payload (SEND, RDMA WRITE).
    case requesterRead
    /// The requester writing local memory (RDMA READ responses, ATOMIC results).
    case requesterWrite
    /// The responder reading its memory (RDMA READ).
    case responderRead
    /// The responder writing its memory (receive buffers, RDMA WRITE, ATOMIC).
    case responderWrite

    /// Whether the context belongs to the requester side (else the responder).
    var isRequester: Bool { self == .requesterRead || self == .requesterWrite }
}

/// A page fault raised by the data path, queued for the fault workqueue.
struct PageFaultRequest: Sendable {
    /// The context that raised it.
    var context: PageFaultContext
    /// The region the access went to; kept alive (and deregistration waits) until resolved.
    var region: MemoryRegion
    /// Bytes to resolve: from the faulting page to the end of the access.
    var range: Range<UInt64>
    /// The access the data path needs.
    var access: PageAccess
    /// Requester contexts: the serial of the stalled WQE.
    var serial: UInt64 = 0
    /// Responder contexts: the PSN of the request answered with RNR NAK, and where it came from.
    var psn: PacketSequenceNumber = 0
    var peer: GID = .zero
    /// Responder contexts: the NAK the request gets if the fault cannot be resolved.
    var failure: AETH.NAKCode = .remoteAccessError
    /// When the data path raised the fault (fault latency is measured from here).
    var raised: MonotonicInstant = .now

    init(context: PageFaultContext, region: MemoryRegion, fault: PageFault) {
        self.context = context
        self.region = region
        self.range = max(fault.address, fault.range.lowerBound)..<fault.range.upperBound
        self.access = fault.access
    }
}
