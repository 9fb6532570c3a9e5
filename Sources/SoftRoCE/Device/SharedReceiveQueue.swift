import SoftRoCEMemory
import Synchronization
import NIOConcurrencyHelpers

/// A shared receive queue: receives consumed by any QP attached to it.
/// Corresponds to `struct ibv_srq` (`ibv_create_srq`).
public final class SharedReceiveQueue: Sendable {
    /// The protection domain.
    public let protectionDomain: ProtectionDomain
    /// Maximum outstanding receives and SGEs per receive.
    public let maxWorkRequests: Int
    public let maxScatterGatherElements: Int
    private let ring: LockedValue<ReceiveRing>

    init(protectionDomain: ProtectionDomain, maxWorkRequests: Int, maxScatterGatherElements: Int) {
        self.protectionDomain = protectionDomain
        self.maxWorkRequests = maxWorkRequests
        self.maxScatterGatherElements = maxScatterGatherElements
        self.ring = LockedValue(ReceiveRing(capacity: maxWorkRequests))
    }

    /// Posts a receive. Throws ``VerbsError`` (`receiveQueueFull`, `tooManyScatterGatherElements`).
    /// Corresponds to `ibv_post_srq_recv`.
    public func postReceive(_ request: ReceiveWorkRequest) throws {
        guard request.scatterGatherList.count <= maxScatterGatherElements else {
            throw VerbsError(.tooManyScatterGatherElements, "\(request.scatterGatherList.count) SGEs, SRQ allows \(maxScatterGatherElements)")
        }
        try ring.withLockedValue { ring in
            guard !ring.isFull else { throw VerbsError(.receiveQueueFull, "SRQ full (\(maxWorkRequests) WRs)") }
            ring.append(request)
        }
    }

    /// Receives currently posted.
    public var count: Int { ring.withLockedValue { $0.count } }

    func take() -> ReceiveWorkRequest? { ring.withLockedValue { $0.popFirst() } }

    /// Puts a taken receive back at the head.
    func putBack(_ request: ReceiveWorkRequest) { ring.withLockedValue { $0.pushFront(request) } }
}
