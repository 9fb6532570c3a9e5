import Synchronization
import NIOConcurrencyHelpers
import SoftRoCEMemory
import SoftRoCEWire

extension QueuePair {
    /// The completer (rxe_comp.c): handles acknowledgements, NAKs, READ responses and ATOMIC
    /// acknowledgements arriving for this QP's requests, and turns finished WQEs into work
    /// completions in send-queue order. Runs on whichever thread delivers the response.
    func receiveResponse(_ run: PacketRun, payload: MappedBytes?) {
        guard type == .rc else { return }
        let state = self.state
        guard state == .readyToSend || state == .sendQueueDrained else { return }
        let headers = run.headers
        let psn = headers.bth.psn
        var reschedule = false
        sendSide.withLockedValue { side in
            switch headers.opcode {
            case .rcAcknowledge:
                guard let aeth = headers.aeth else { return }
                reschedule = handleAcknowledge(aeth, psn: psn, side: &side)
            case .rcAtomicAcknowledge:
                guard let ack = headers.atomicAckETH else { return }
                acknowledge(upTo: psn - 1, side: &side)
                guard let offset = side.queue.offset(of: psn), side.queue[offset].status == nil,
                    side.queue[offset].opcode.isAtomic
                else { return }
                let serial = side.queue[offset].serial
                guard side.stalledSerial != serial else { return }
                var original = (0..<8).map { UInt8(truncatingIfNeeded: ack.originalRemoteData >> (8 * $0)) }  // host order (little-endian)
                let pieces = Self.localPieces(of: side.queue, at: offset, range: 0..<8)
                switch MappedBytes.withBytes(of: &original, { Self.copy($0, into: pieces) }) {
                case .completed:
                    side.queue[offset].status = .success
                    advanceAcknowledged(to: psn, side: &side)
                case .failed:
                    fail(&side, at: offset, status: .localProtectionError)
                case .pageFault(let region, let fault):
                    // Ask again once the result buffer is mapped: the responder replays the
                    // saved result of a repeated atomic, it does not execute it twice.
                    rewind(&side, to: offset, psn: psn)
                    raiseRequesterFault(.requesterWrite, region: region, fault: fault, serial: serial, side: &side)
                }
                reschedule = true
            default:
                guard headers.opcode.isReadResponse else { return }
                reschedule = handleReadResponse(run, payload: payload, side: &side)
            }
            completeFinished(&side)
        }
        if reschedule { device.engine.schedule(self) }
    }

    private func handleAcknowledge(_ aeth: AETH, psn: PacketSequenceNumber, side: inout SendSide) -> Bool {
        switch aeth.syndrome.kind {
        case .ack:
            if let rnrPSN = side.rnrPSN, side.rnrDeadline != nil, psn == rnrPSN - 1 {
                // The responder's hint that the fault behind the RNR NAK is resolved.
                side.rnrDeadline = nil
                side.rnrPSN = nil
                if let timeout = side.path.timeout, side.hasOutstanding {
                    side.retransmitDeadline = .now + timeout
                    side.progressSinceArmed = false
                }
            }
            acknowledge(upTo: psn, side: &side)
            return true
        case .rnrNak(let timer):
            acknowledge(upTo: psn - 1, side: &side)
            guard let offset = side.queue.offset(of: psn) else { return false }
            device.statistics.rnrNaksReceived.add(1, ordering: .relaxed)
            if side.path.rnrRetry != 7 {
                if side.rnrRemaining == 0 {
                    fail(&side, at: offset, status: .rnrRetryExceededError)
                    return true
                }
                side.rnrRemaining -= 1
            }
            rewind(&side, to: offset, psn: psn)
            side.retransmitDeadline = nil
            side.rnrPSN = psn
            side.rnrDeadline = .now + timer.duration
            device.engine.watchTimers(of: self)
            return false
        case .nak(let code):
            acknowledge(upTo: psn - 1, side: &side)
            guard let offset = side.queue.offset(of: psn) else { return false }
            switch code {
            case .psnSequenceError:
                retry(&side, from: offset, psn: psn)
            case .invalidRequest:
                fail(&side, at: offset, status: .remoteInvalidRequestError)
            case .remoteAccessError:
                fail(&side, at: offset, status: .remoteAccessError)
            default:
                fail(&side, at: offset, status: .remoteOperationError)
            }
            return true
        default:
            return false
        }
    }

    private func handleReadResponse(_ run: PacketRun, payload: MappedBytes?, side: inout SendSide) -> Bool {
        let psn = run.headers.bth.psn
        guard let offset = side.queue.offset(of: psn) else { return false }
        // Stored fields read and written in place: copying the WQE would retain its arrays.
        guard side.queue[offset].opcode == .rdmaRead, side.queue[offset].status == nil else { return false }
        // Stalled on a fault writing an earlier response: the rest is asked for again later.
        let serial = side.queue[offset].serial
        guard side.stalledSerial != serial else { return false }
        let firstPSN = side.queue[offset].firstPSN
        let packetsReceived = side.queue[offset].packetsReceived
        let bytesReceived = side.queue[offset].bytesReceived
        let expected = firstPSN + packetsReceived
        if psn != expected {
            // A gap: responses were lost. Ask again for the rest; duplicates are dropped.
            if expected.precedes(psn) { retry(&side, from: offset, psn: expected) }
            return true
        }
        if packetsReceived == 0 { acknowledge(upTo: firstPSN - 1, side: &side) }
        let length = run.payloadLength
        guard bytesReceived + length <= side.queue[offset].length else {
            fail(&side, at: offset, status: .badResponseError)
            return true
        }
        if let payload, length > 0 {
            let pieces = Self.localPieces(of: side.queue, at: offset, range: bytesReceived..<bytesReceived + length)
            switch Self.copy(payload, into: pieces) {
            case .completed:
                break
            case .failed:
                fail(&side, at: offset, status: .localProtectionError)
                return true
            case .pageFault(let region, let fault):
                // Drop the response; once the fault is resolved the requester asks for the rest
                // (from `packetsReceived`) without spending a retry.
                rewind(&side, to: offset, psn: expected)
                raiseRequesterFault(.requesterWrite, region: region, fault: fault, serial: serial, side: &side)
                return false
            }
        }
        side.queue[offset].bytesReceived = bytesReceived + length
        side.queue[offset].packetsReceived = packetsReceived + run.packetCount
        if run.endsMessage {
            side.queue[offset].status = .success
            advanceAcknowledged(to: firstPSN + (side.queue[offset].psnCount - 1), side: &side)
        } else {
            side.retryRemaining = side.path.retryCount
            side.retryStarted = false
        }
        return true
    }

    /// The pieces of the local buffers of the WQE at `offset` (a READ's or ATOMIC's destination)
    /// covering message bytes `range`, its fields read in place.
    private static func localPieces(of queue: SendQueue, at offset: Int, range: Range<Int>) -> MemoryPieces {
        pieces(of: queue[offset].request.scatterGatherList, regions: queue[offset].regions, range: range)
    }

    /// An ACK for `psn` completes every SEND and WRITE whose last packet is at or before it.
    /// A READ or ATOMIC it passes without its response means the response was lost: retry it.
    private func acknowledge(upTo psn: PacketSequenceNumber, side: inout SendSide) {
        var progressed = false
        // Every WQE, not only those before the cursor: after a rewind the cursor may sit before
        // WQEs the responder already executed.
        for offset in 0..<side.queue.count {
            // Stored fields read in place into locals: copying a WQE retains its arrays.
            if side.queue[offset].status != nil { continue }
            let started = side.queue[offset].started, firstPSN = side.queue[offset].firstPSN
            let psnCount = side.queue[offset].psnCount
            guard started, !psn.precedes(firstPSN + (psnCount - 1)) else { break }
            if side.queue[offset].opcode.isReadOrAtomic {
                // Acknowledged only up to the READ/ATOMIC whose response went missing.
                let packetsReceived = side.queue[offset].packetsReceived
                if side.lastAckedPSN.precedes(firstPSN - 1) { side.lastAckedPSN = firstPSN - 1 }
                retry(&side, from: offset, psn: firstPSN + packetsReceived)
                return
            }
            side.queue[offset].status = .success
            progressed = true
        }
        if progressed || side.lastAckedPSN.precedes(psn) { advanceAcknowledged(to: psn, side: &side) }
    }

    private func advanceAcknowledged(to psn: PacketSequenceNumber, side: inout SendSide) {
        // A response to a later request does not acknowledge a READ or ATOMIC before it that is
        // still missing its response (an implied NAK): the acknowledged PSN stops before that
        // one, so the QP keeps something outstanding and its retransmission timer keeps asking
        // until the response arrives, however many of the asks are lost.
        var upTo = psn
        for offset in 0..<side.queue.count where side.queue[offset].status == nil {
            // Stored fields read in place: copying the WQE would retain its arrays.
            if side.queue[offset].started && side.queue[offset].opcode.isReadOrAtomic {
                let answered = side.queue[offset].firstPSN + side.queue[offset].packetsReceived - 1
                if answered.precedes(upTo) { upTo = answered }
            }
            break
        }
        if side.lastAckedPSN.precedes(upTo) { side.lastAckedPSN = upTo }
        side.retryRemaining = side.path.retryCount
        side.retryStarted = false
        side.rnrRemaining = side.path.rnrRetry
        if side.hasOutstanding, let timeout = side.path.timeout {
            if side.retransmitDeadline == nil {
                side.retransmitDeadline = .now + timeout
                side.progressSinceArmed = false
                device.engine.watchTimers(of: self)
            } else {
                side.progressSinceArmed = true
            }
        } else {
            side.retransmitDeadline = nil
            side.progressSinceArmed = false
        }
    }

    /// Retransmits from `psn` (in the WQE at `offset`), consuming one retry; exhausted retries fail
    /// the WQE with `RETRY_EXC_ERR`. Unless the retransmission timer fired (`onTimeout`), does
    /// nothing while a retry started earlier has not yet made progress.
    private func retry(_ side: inout SendSide, from offset: Int, psn: PacketSequenceNumber, onTimeout: Bool = false) {
        if side.retryStarted && !onTimeout { return }
        side.retryStarted = true
        if side.retryRemaining == 0 {
            fail(&side, at: offset, status: .retryExceededError)
            return
        }
        side.retryRemaining -= 1
        device.statistics.retransmits.add(1, ordering: .relaxed)
        rewind(&side, to: offset, psn: psn)
    }

    /// Moves the requester back to `psn` of the WQE at `offset`; later WQEs are re-sent whole.
    func rewind(_ side: inout SendSide, to offset: Int, psn: PacketSequenceNumber) {
        requesterRewinds.wrappingAdd(1, ordering: .releasing)
        let end = side.queue.cursor
        for index in offset..<max(end, offset + 1) where index < side.queue.count {
            var wqe = side.queue[index]
            guard wqe.started, wqe.status == nil else { continue }
            if index == offset && !wqe.isReadOrAtomic {
                wqe.bytesSent = max(0, wqe.firstPSN.distance(to: psn)) * side.path.mtu
            } else if !wqe.isReadOrAtomic {
                wqe.bytesSent = 0
            }
            wqe.fullySent = false
            side.queue[index] = wqe
        }
        side.queue.cursor = min(side.queue.cursor, offset)
    }

    /// Fails the WQE at `offset` with `status` and moves the QP to ERR; later WQEs flush.
    func fail(_ side: inout SendSide, at offset: Int, status: WorkCompletion.Status) {
        side.queue[offset].status = status
        side.retransmitDeadline = nil
        side.rnrDeadline = nil
        enterError(&side)
    }

    /// Moves the QP to ERR from inside the engine (holding the send-side lock).
    func enterError(_ side: inout SendSide) {
        requesterRewinds.wrappingAdd(1, ordering: .releasing)
        stateValue.store(QueuePairState.error.rawValue, ordering: .releasing)
        faultHandler.disable()
        // The receive queue is flushed by the requester's flush step, after the send queue: the
        // failing WQE's status reaches a shared CQ before the receives' WR_FLUSH_ERRs, as rxe
        // reports them.
        side.flushPending = true
        device.engine.schedule(self)
    }

    /// Pops finished WQEs from the head, in order, posting their completions.
    func completeFinished(_ side: inout SendSide) {
        var removed = 0
        while !side.queue.isEmpty, let status = side.queue[0].status {
            removed += 1
            if status != .success || side.queue[0].signaled {
                let wqe = side.queue.removeFirst()
                sendInbox.release(removed)
                removed = 0
                postCompletion(for: wqe, status: status)
            } else {
                side.queue.discardFirst()
            }
        }
        if removed > 0 { sendInbox.release(removed) }
    }

    /// Completes finished WQEs (after an unlocked transmit).
    func completeFinished() {
        sendSide.withLockedValue { completeFinished(&$0) }
    }

    /// In ERR: completes every WQE, finished ones with their status and the rest with
    /// `WR_FLUSH_ERR`, then flushes the receive queue. Returns whether a send WQE was completed.
    func flushSendQueue(_ side: inout SendSide) -> Bool {
        side.flushPending = false
        side.retransmitDeadline = nil
        side.rnrDeadline = nil
        side.rnrPSN = nil
        side.stalledSerial = nil
        sendInbox.drain(into: side.queue)
        defer { flushReceiveQueue() }
        guard !side.queue.isEmpty else { return false }
        while !side.queue.isEmpty {
            let wqe = side.queue.removeFirst()
            sendInbox.release(1)
            let status = wqe.status ?? .workRequestFlushError
            if status != .success || wqe.signaled { postCompletion(for: wqe, status: status) }
        }
        side.queue.cursor = 0
        return true
    }

    private func postCompletion(for wqe: SendWQE, status: WorkCompletion.Status) {
        let completion = WorkCompletion(
            wrID: wqe.request.id, status: status, opcode: wqe.completionOpcode,
            byteLength: UInt32(truncatingIfNeeded: wqe.length), qpNumber: number)
        if !sendCompletionQueue.push(completion) { device.reportCompletionQueueOverflow(sendCompletionQueue) }
    }

    /// The oldest started, unfinished WQE and the first PSN of it the peer has not answered.
    private func firstUnacknowledged(_ side: SendSide) -> (Int, PacketSequenceNumber)? {
        if let offset = side.queue.offset(of: side.lastAckedPSN.next) {
            let wqe = side.queue[offset]
            return (offset, wqe.isReadOrAtomic ? wqe.firstPSN + wqe.packetsReceived : side.lastAckedPSN.next)
        }
        for offset in 0..<side.queue.count {
            let wqe = side.queue[offset]
            if wqe.started && wqe.status == nil { return (offset, wqe.firstPSN + wqe.packetsReceived) }
        }
        return nil
    }

    /// Expires the retransmission and RNR timers. Called by the engine thread.
    func serviceTimers(now: MonotonicInstant) -> TimerStatus {
        sendSide.withLockedValue { side in
            var fired = false
            if let deadline = side.rnrDeadline {
                if now >= deadline {
                    side.rnrDeadline = nil
                    side.rnrPSN = nil
                    if let timeout = side.path.timeout, side.hasOutstanding {
                        side.retransmitDeadline = now + timeout
                        side.progressSinceArmed = false
                    }
                    fired = true
                }
            } else if let deadline = side.retransmitDeadline, now >= deadline {
                if side.stalledSerial != nil, let timeout = side.path.timeout {
                    // Stalled on a local page fault: waiting for it is not the peer's silence.
                    side.retransmitDeadline = now + timeout
                } else if side.progressSinceArmed, side.hasOutstanding, let timeout = side.path.timeout {
                    // Acknowledgements arrived since arming: a full timeout from now, no retry.
                    side.progressSinceArmed = false
                    side.retransmitDeadline = now + timeout
                } else if !side.hasOutstanding || state != .readyToSend {
                    side.retransmitDeadline = nil
                } else if let (offset, psn) = firstUnacknowledged(side) {
                    retry(&side, from: offset, psn: psn, onTimeout: true)
                    if state != .error, let timeout = side.path.timeout { side.retransmitDeadline = now + timeout }
                    fired = true
                } else {
                    side.retransmitDeadline = nil
                }
            }
            completeFinished(&side)
            if fired { return .fired }
            switch (side.rnrDeadline, side.retransmitDeadline) {
            case (let rnr?, let retransmit?): return .pending(.earliest(rnr, retransmit))
            case (let deadline?, nil), (nil, let deadline?): return .pending(deadline)
            case (nil, nil): return .idle
            }
        }
    }
}
