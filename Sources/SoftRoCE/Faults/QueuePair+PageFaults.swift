import SoftRoCEMemory
import SoftRoCEWire
import Synchronization

/// The outcome of one data-path access to registered memory.
enum DataPathAccess {
    /// Every page was accessible; the access ran.
    case completed
    /// A page of an ODP region lacked the access: a page fault to queue.
    case pageFault(MemoryRegion, PageFault)
    /// The access can never succeed (region released, range outside it, write not registered).
    case failed
}

extension QueuePair {
    /// Runs `body` on `range` of `region` if the device may access it now, without faulting and
    /// without a system call: the check the data path makes before every access.
    @inline(__always)
    static func accessMemory(
        _ region: MemoryRegion, _ range: Range<UInt64>, _ access: PageAccess, _ body: (MappedBytes) -> Void
    ) -> DataPathAccess {
        do {
            guard let fault = try region.umem.accessIfMapped(range, access: access, body) else { return .completed }
            return .pageFault(region, fault)
        } catch {
            return .failed
        }
    }

    /// Copies `bytes` across `pieces` of local regions in order. A page fault stops the copy
    /// (the pieces before it may have been written; the retry writes them again); `.failed` also
    /// when the pieces do not hold exactly `bytes.count` bytes.
    static func copy(_ bytes: MappedBytes, into pieces: MemoryPieces) -> DataPathAccess {
        var position = 0
        for piece in pieces {
            let count = Int(piece.range.count)
            guard position + count <= bytes.count else { return .failed }
            let source = bytes.extracting(position..<position + count)
            let outcome = accessMemory(piece.region, piece.range, .write) { _ = $0.copy(from: source) }
            guard case .completed = outcome else { return outcome }
            position += count
        }
        return position == bytes.count ? .completed : .failed
    }

    // MARK: Raising faults

    /// A requester fault (called holding the send-side lock): the send queue stalls at the WQE
    /// with `serial` and the fault is queued; its resolution resumes the queue, its failure
    /// completes the WQE with `LOC_PROT_ERR`.
    func raiseRequesterFault(
        _ context: PageFaultContext, region: MemoryRegion, fault: PageFault, serial: UInt64, side: inout SendSide
    ) {
        switch faultHandler.claim(context) {
        case .disabled:
            // The QP is leaving RTS: the flush completes the WQE.
            return
        case .busy:
            // The outstanding resolution of this context un-stalls the queue; the WQE then
            // faults again if its pages are still missing.
            side.stalledSerial = serial
        case .claimed:
            side.stalledSerial = serial
            var request = PageFaultRequest(context: context, region: region, fault: fault)
            request.serial = serial
            device.faultWorkqueue.submit(.pageFault(self, request))
        }
    }

    /// A responder fault (called holding the responder-side lock): queues the fault unless its
    /// context already holds one, and answers the request (at `psn`) with an RNR NAK carrying the
    /// QP's min_rnr_timer, so the requester retries it later.
    func raiseResponderFault(
        _ context: PageFaultContext, region: MemoryRegion, fault: PageFault, psn: PacketSequenceNumber,
        failure: AETH.NAKCode, side: ResponderSide, to source: GID
    ) {
        var request = PageFaultRequest(context: context, region: region, fault: fault)
        request.psn = psn
        request.peer = source
        request.failure = failure
        queueResponderFault(request)
        receiverNotReady(psn: psn, side: side, to: source)
    }

    /// Queues a responder fault unless its context already holds one (or faults are disabled):
    /// whoever then retries the access finds it resolved or faults again.
    func queueResponderFault(_ request: PageFaultRequest) {
        if case .claimed = faultHandler.claim(request.context) {
            device.faultWorkqueue.submit(.pageFault(self, request))
        }
    }

    // MARK: Resolution

    /// Called by the fault workqueue when a fault of this QP finished (`error` nil: resolved).
    func pageFaultFinished(_ request: PageFaultRequest, error: MemoryError?) {
        if request.context.isRequester {
            sendSide.withLockedValue { side in
                if error != nil, let offset = side.queue.offset(ofSerial: request.serial), side.queue[offset].status == nil {
                    fail(&side, at: offset, status: .localProtectionError)
                }
                side.stalledSerial = nil
            }
            device.engine.schedule(self)
            return
        }
        guard type == .rc else { return }
        responderSide.withLockedValue { side in
            // The request is still unanswered: the expected one (SEND, WRITE, ATOMIC, a new READ),
            // or a READ already accepted whose responses stopped at this PSN.
            let pending = side.expectedPSN == request.psn
                || (request.context == .responderRead && request.psn.precedes(side.expectedPSN))
            guard isResponding, pending else { return }
            if error == nil {
                // Resume hint: a repeated acknowledgement of the PSN before the RNR-NAKed one. Our
                // requester ends its RNR back-off on it; others ignore a duplicate ACK and retry
                // when their timer expires.
                sendAcknowledge(.ackUnlimited, psn: request.psn - 1, msn: side.msn, path: side.path, to: request.peer)
                return
            }
            // Unresolvable: the request fails. A receive buffer that cannot be written completes
            // with LOC_PROT_ERR here and REM_OP_ERR at the requester; other accesses REM_ACCESS_ERR.
            if request.failure == .remoteOperationalError {
                if case .send(let receive, _) = side.message {
                    side.message = nil
                    completeReceive(receive, status: .localProtectionError)
                } else if let receive = takeReceive() {
                    completeReceive(receive, status: .localProtectionError)
                }
            }
            protocolError(request.failure, psn: request.psn, side: &side, to: request.peer)
        }
    }

    /// In ERR: a receive the responder was filling (a multi-packet SEND in progress) completes
    /// with `WR_FLUSH_ERR`, ahead of those still queued.
    func flushInboundMessage() {
        responderSide.withLockedValue { side in flushInboundMessage(&side) }
    }

    func flushInboundMessage(_ side: inout ResponderSide) {
        if case .send(let receive, _) = side.message {
            _ = receiveCompletionQueue.push(.flushed(wrID: receive.id, opcode: .receive, qpNumber: number))
        }
        side.message = nil
    }

    /// Completes `receive` with an error status and no data.
    private func completeReceive(_ receive: ReceiveWorkRequest, status: WorkCompletion.Status) {
        stateValue.store(QueuePairState.error.rawValue, ordering: .releasing)
        let completion = WorkCompletion(wrID: receive.id, status: status, opcode: .receive, byteLength: 0, qpNumber: number)
        if !receiveCompletionQueue.push(completion) { device.reportCompletionQueueOverflow(receiveCompletionQueue) }
    }
}
