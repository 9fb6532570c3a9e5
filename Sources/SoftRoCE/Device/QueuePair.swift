import NIOConcurrencyHelpers
import SoftRoCEMemory
import SoftRoCEWire
import Synchronization

/// A queue pair: a send queue and a receive queue bound to completion queues, reliable
/// connected (RC) or unreliable datagram (UD). Corresponds to `struct ibv_qp` (`ibv_create_qp`).
///
/// The application posts work requests (``postSend(_:)``, ``postReceive(_:)``) from any thread;
/// the device's engine thread runs the requester, and the responder and completer run where
/// packets are delivered (the link), as in Linux rxe. Completions arrive on the CQs.
public final class QueuePair: Sendable, Hashable, CustomStringConvertible {
    /// The QP number (24 bits).
    public let number: QueuePairNumber
    /// RC or UD.
    public let type: QueuePairType
    /// The protection domain; work requests may only use regions of the same domain.
    public let protectionDomain: ProtectionDomain
    /// Completion queues for send and receive work requests.
    public let sendCompletionQueue: CompletionQueue
    public let receiveCompletionQueue: CompletionQueue
    /// The shared receive queue, when receives come from one.
    public let sharedReceiveQueue: SharedReceiveQueue?
    /// Queue sizes and limits, as granted.
    public let capabilities: QueuePairCapabilities
    /// Whether every send work request completes with a CQE (`sq_sig_all`).
    public let signalsAll: Bool

    let device: Device
    let stateValue = Atomic<UInt8>(QueuePairState.reset.rawValue)
    let attributes = LockedValue(QueuePairAttributes())
    let modifyLock = AdaptiveLock()
    let sendSide: LockedValue<SendSide>
    /// Posted send WQEs on their way to `sendSide`'s queue, and the send queue's depth.
    let sendInbox: SendInbox
    let responderSide: LockedValue<ResponderSide>
    let receiveRing: LockedValue<ReceiveRing>
    private let scheduled = Atomic<Bool>(false)
    /// Whether the engine tracks this QP's timers.
    let timerWatched = Atomic<Bool>(false)
    let destroyed = Atomic<Bool>(false)
    /// Bumped whenever runs the requester built must not go out any more (the completer rewound
    /// the send queue, or the QP went to ERR or RESET): a ``PacketRunBatch`` built before the bump
    /// stops at its next run.
    let requesterRewinds = Atomic<Int>(0)
    /// The page-fault handler: four fault contexts, enabled while the QP moves traffic.
    let faultHandler = PageFaultHandler()

    init(
        device: Device, number: QueuePairNumber, type: QueuePairType, protectionDomain: ProtectionDomain,
        sendCompletionQueue: CompletionQueue, receiveCompletionQueue: CompletionQueue,
        sharedReceiveQueue: SharedReceiveQueue?, capabilities: QueuePairCapabilities, signalsAll: Bool
    ) {
        self.device = device
        self.number = number
        self.type = type
        self.protectionDomain = protectionDomain
        self.sendCompletionQueue = sendCompletionQueue
        self.receiveCompletionQueue = receiveCompletionQueue
        self.sharedReceiveQueue = sharedReceiveQueue
        self.capabilities = capabilities
        self.signalsAll = signalsAll
        self.sendSide = LockedValue(SendSide(capacity: capabilities.maxSendWR))
        self.sendInbox = SendInbox(capacity: capabilities.maxSendWR)
        self.responderSide = LockedValue(ResponderSide())
        self.receiveRing = LockedValue(ReceiveRing(capacity: capabilities.maxReceiveWR))
    }

    /// The current state.
    public var state: QueuePairState { QueuePairState(rawValue: stateValue.load(ordering: .acquiring)) ?? .error }

    /// The attributes set so far (`ibv_query_qp`), with the current state.
    public var currentAttributes: QueuePairAttributes {
        var current = attributes.withLockedValue { $0 }
        current.state = state
        return current
    }

    public var description: String { "QP(\(type) #\(number.rawValue) \(state))" }
    public static func == (lhs: QueuePair, rhs: QueuePair) -> Bool { lhs === rhs }
    public func hash(into hasher: inout Hasher) { hasher.combine(ObjectIdentifier(self)) }

    // MARK: Posting

    /// Posts one send work request.
    ///
    /// - Throws: ``VerbsError`` when the request is invalid for this QP (opcode, SGE count,
    ///   inline size, atomic length/alignment, missing UD destination), the send queue is full
    ///   (`sendQueueFull`), or the QP is not in RTS/SQD/SQE/ERR (`invalidState`); a request
    ///   posted in ERR completes with `WR_FLUSH_ERR`. Corresponds to `ibv_post_send`.
    public func postSend(_ request: SendWorkRequest) throws {
        try request.validate(for: type, capabilities: capabilities)
        let state = self.state
        guard state == .readyToSend || state == .sendQueueDrained || state == .sendQueueError || state == .error else {
            throw VerbsError(.invalidState, "post_send needs RTS (the QP is \(state))")
        }
        var inlineData: [UInt8]?
        if request.flags.contains(.inline) {
            var data: [UInt8] = []
            data.reserveCapacity(Int(request.totalLength))
            for sge in request.scatterGatherList where sge.length > 0 {
                do {
                    data += try MappedBytes.copyProcessMemory(at: sge.address, count: Int(sge.length))
                } catch {
                    throw VerbsError(.invalidAttributeValue, "inline data at 0x\(String(sge.address, radix: 16)) is not readable")
                }
            }
            inlineData = data
        }
        // Built once and moved into the inbox (a WQE copy retains its arrays).
        let wqe = SendWQE(request: request, signaled: signalsAll || request.flags.contains(.signaled), inlineData: inlineData)
        guard sendInbox.post(wqe) else {
            throw VerbsError(.sendQueueFull, "send queue full (\(capabilities.maxSendWR) WRs)")
        }
        device.engine.schedule(self)
    }

    /// Posts several send work requests in order; stops at the first that fails and throws its error
    /// (the ones before it stay posted), as `ibv_post_send`'s `bad_wr`.
    public func postSend(_ requests: [SendWorkRequest]) throws {
        for request in requests { try postSend(request) }
    }

    /// Posts one receive work request.
    ///
    /// - Throws: ``VerbsError`` for too many SGEs, a full receive queue (`receiveQueueFull`), a QP
    ///   in RESET (`invalidState`), or a QP attached to an SRQ (`invalidState`). Posted in ERR it
    ///   completes with `WR_FLUSH_ERR`. Corresponds to `ibv_post_recv`.
    public func postReceive(_ request: ReceiveWorkRequest) throws {
        try request.validate(capabilities: capabilities)
        guard sharedReceiveQueue == nil else { throw VerbsError(.invalidState, "QP receives from an SRQ") }
        let state = self.state
        guard state != .reset else { throw VerbsError(.invalidState, "post_recv needs INIT or later (the QP is RESET)") }
        if state == .error {
            _ = receiveCompletionQueue.push(.flushed(wrID: request.id, opcode: .receive, qpNumber: number))
            return
        }
        if type == .ud { prefetchReceiveBuffers(request) }
        try receiveRing.withLockedValue { ring in
            guard !ring.isFull else { throw VerbsError(.receiveQueueFull, "receive queue full (\(capabilities.maxReceiveWR) WRs)") }
            ring.append(request)
        }
    }

    /// UD has no RNR NAK to hold a sender while a receive buffer faults, so ODP receive buffers
    /// are mapped for writing when posted (on the posting thread, never the data path). A buffer
    /// invalidated afterwards faults at delivery: that datagram is dropped, as a NIC drops it.
    /// Errors are left for delivery to report (LOC_PROT_ERR).
    private func prefetchReceiveBuffers(_ request: ReceiveWorkRequest) {
        for sge in request.scatterGatherList where sge.length > 0 {
            guard let umem = device.memoryRegions.lookup(sge.lkey.rawValue)?.onDemandUmem else { continue }
            let end = sge.address.addingReportingOverflow(UInt64(sge.length))
            guard !end.overflow else { continue }
            _ = try? umem.map(sge.address..<end.partialValue, access: .write)
        }
    }

    /// Posts several receive work requests in order.
    public func postReceive(_ requests: [ReceiveWorkRequest]) throws {
        for request in requests { try postReceive(request) }
    }

    /// Destroys the QP: it moves to ERR (flushing its queues), stops receiving packets and leaves
    /// the device. Corresponds to `ibv_destroy_qp`.
    public func destroy() {
        guard !destroyed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        moveToError()
        faultHandler.disableAndDrain()
        device.removeQueuePair(self)
    }

    // MARK: Engine plumbing

    /// Marks the QP scheduled on the engine; false if it already was.
    func markScheduled() -> Bool { !scheduled.exchange(true, ordering: .acquiringAndReleasing) }
    func clearScheduled() { scheduled.store(false, ordering: .releasing) }

    /// Takes the next receive work request (own queue or SRQ).
    func takeReceive() -> ReceiveWorkRequest? {
        if let sharedReceiveQueue { return sharedReceiveQueue.take() }
        return receiveRing.withLockedValue { $0.popFirst() }
    }

    /// Puts a receive taken by ``takeReceive()`` back at the head (its message hit a page fault
    /// and will be retried).
    func returnReceive(_ request: ReceiveWorkRequest) {
        if let sharedReceiveQueue { return sharedReceiveQueue.putBack(request) }
        receiveRing.withLockedValue { $0.pushFront(request) }
    }
}
