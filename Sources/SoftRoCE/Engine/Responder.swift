import Synchronization
import NIOConcurrencyHelpers
import SoftRoCEMemory
import SoftRoCEWire

extension QueuePair {
    /// The responder (rxe_resp.c): executes request runs arriving for this QP — receives, RDMA
    /// WRITE into local regions, RDMA READ and ATOMIC — and answers with ACK/NAK, READ responses
    /// and ATOMIC acknowledgements. Runs on whichever thread delivers the request.
    func receiveRequest(_ run: PacketRun, payload: MappedBytes?, from source: GID) {
        guard isResponding else {
            device.statistics.droppedPackets.add(1, ordering: .relaxed)
            return
        }
        if type == .ud {
            receiveDatagram(run, payload: payload, from: source)
            return
        }
        responderSide.withLockedValue { side in
            respond(run, payload: payload, from: source, side: &side)
        }
    }

    /// The responder for a batch of request runs of an RC peer (``PacketRunBatch``), under one
    /// hold of its lock: each run is checked and handled as if delivered alone. Returns how many
    /// runs were taken: all of them unless the batch ended early.
    ///
    /// When the batch ends because the sender could not read a payload, what was executed is
    /// acknowledged at once (a responder may acknowledge unasked): the sender's requests before
    /// the failing one then complete with their own status before its error completion, instead of
    /// being flushed unacknowledged.
    func receiveRequests(_ batch: PacketRunBatch, from source: GID) -> Int {
        responderSide.withLockedValue { side in
            let taken = batch.forEachRun { run, payload in
                guard run.headers.bth.destinationQueuePair == number, !run.headers.opcode.isResponse,
                    accepts(run, payload: payload), isResponding
                else {
                    device.statistics.droppedPackets.add(1, ordering: .relaxed)
                    return
                }
                respond(run, payload: payload, from: source, side: &side)
            }
            if taken < batch.count, batch.failure != nil, isResponding {
                sendAcknowledge(.ackUnlimited, psn: side.expectedPSN - 1, msn: side.msn, path: side.path, to: source)
            }
            return taken
        }
    }

    /// Whether the QP's state lets the responder execute requests (RTR, RTS, SQD, SQE).
    var isResponding: Bool {
        let state = self.state
        return state == .readyToReceive || state == .readyToSend || state == .sendQueueDrained || state == .sendQueueError
    }

    /// Whether a run for this QP is well formed and the QP is live: what every delivery checks
    /// before the responder or completer sees the run.
    func accepts(_ run: PacketRun, payload: MappedBytes?) -> Bool {
        !destroyed.load(ordering: .relaxed) && (payload?.count ?? 0) == run.payloadLength && run.packetCount >= 1
    }

    private func respond(_ run: PacketRun, payload: MappedBytes?, from source: GID, side: inout ResponderSide) {
        let headers = run.headers
        let opcode = headers.opcode
        let psn = headers.bth.psn
        if psn != side.expectedPSN {
            if psn.precedes(side.expectedPSN) {
                respondToDuplicate(run, side: &side, to: source)
            } else if !side.nakSequenceSent {
                side.nakSequenceSent = true
                sendAcknowledge(.nak(.psnSequenceError), psn: side.expectedPSN, msn: side.msn, path: side.path, to: source)
            }
            return
        }
        side.nakSequenceSent = false

        // Packet order within a message: a run continuing a message must match it.
        let continuing = !(opcode.isFirst || opcode.isOnly)
        switch side.message {
        case .some(.send) where !(opcode.isSend && continuing),
            .some(.write) where !(opcode.isRDMAWrite && continuing):
            return protocolError(.invalidRequest, psn: psn, side: &side, to: source)
        case .none where continuing && (opcode.isSend || opcode.isRDMAWrite):
            return protocolError(.invalidRequest, psn: psn, side: &side, to: source)
        default:
            break
        }

        if opcode.isSend {
            respondToSend(run, payload: payload, side: &side, to: source)
        } else if opcode.isRDMAWrite {
            respondToWrite(run, payload: payload, side: &side, to: source)
        } else if opcode == .rcRDMAReadRequest {
            respondToRead(run, side: &side, to: source)
        } else if opcode.isAtomic {
            respondToAtomic(run, side: &side, to: source)
        } else {
            protocolError(.invalidRequest, psn: psn, side: &side, to: source)
        }
    }

    // MARK: SEND

    private func respondToSend(_ run: PacketRun, payload: MappedBytes?, side: inout ResponderSide, to source: GID) {
        let psn = run.headers.bth.psn
        var receive: ReceiveWorkRequest
        var offset: Int
        let begins = side.message == nil
        if case .send(let current, let at) = side.message {
            receive = current
            offset = at
        } else {
            guard let next = takeReceive() else { return receiverNotReady(psn: psn, side: side, to: source) }
            receive = next
            offset = 0
        }
        let length = run.payloadLength
        if offset + length > Int(receive.totalLength) {
            complete(receive, status: .localLengthError, byteLength: 0, run: run)
            side.message = nil
            return protocolError(.invalidRequest, psn: psn, side: &side, to: source)
        }
        if let payload, length > 0 {
            switch scatter(payload, into: receive, at: offset) {
            case .completed:
                break
            case .failed:
                complete(receive, status: .localProtectionError, byteLength: 0, run: run)
                side.message = nil
                return protocolError(.remoteOperationalError, psn: psn, side: &side, to: source)
            case .pageFault(let region, let fault):
                // The receive stays first in line for the retried packet.
                if begins { returnReceive(receive) }
                return raiseResponderFault(
                    .responderWrite, region: region, fault: fault, psn: psn, failure: .remoteOperationalError, side: side, to: source)
            }
        }
        offset += length
        side.expectedPSN = psn + run.packetCount
        if run.endsMessage {
            side.message = nil
            side.msn = side.msn.next
            complete(receive, status: .success, byteLength: offset, run: run, sourceQP: side.path.destinationQP)
        } else {
            side.message = .send(receive, offset: offset)
        }
        acknowledgeIfRequested(run, side: side, to: source)
    }

    // MARK: RDMA WRITE

    private func respondToWrite(_ run: PacketRun, payload: MappedBytes?, side: inout ResponderSide, to source: GID) {
        let headers = run.headers
        let psn = headers.bth.psn
        var region: MemoryRegion
        var address: UInt64
        var remaining: Int
        var total: Int
        if case .write(let current, let at, let left, let all) = side.message {
            (region, address, remaining, total) = (current, at, left, all)
        } else {
            guard let reth = headers.reth else { return protocolError(.invalidRequest, psn: psn, side: &side, to: source) }
            guard let target = remoteRegion(rkey: reth.remoteKey, address: reth.virtualAddress, length: UInt64(reth.dmaLength), access: .remoteWrite, side: &side) else {
                return protocolError(.remoteAccessError, psn: psn, side: &side, to: source)
            }
            (region, address, remaining, total) = (target, reth.virtualAddress, Int(reth.dmaLength), Int(reth.dmaLength))
        }
        let length = run.payloadLength
        guard length <= remaining, run.endsMessage == (length == remaining) else {
            return protocolError(.invalidRequest, psn: psn, side: &side, to: source)
        }
        // WRITE with immediate consumes a receive: check for one before touching memory.
        let withImmediate = run.endsMessage && headers.immDt != nil
        var receive: ReceiveWorkRequest? = nil
        if withImmediate {
            guard let next = takeReceive() else { return receiverNotReady(psn: psn, side: side, to: source) }
            receive = next
        }
        if let payload, length > 0 {
            switch Self.accessMemory(region, address..<address + UInt64(length), .write, { $0.copy(from: payload) }) {
            case .completed:
                break
            case .failed:
                if let receive { complete(receive, status: .localProtectionError, byteLength: 0, run: run) }
                return protocolError(.remoteAccessError, psn: psn, side: &side, to: source)
            case .pageFault(let region, let fault):
                if let receive { returnReceive(receive) }
                return raiseResponderFault(
                    .responderWrite, region: region, fault: fault, psn: psn, failure: .remoteAccessError, side: side, to: source)
            }
        }
        address += UInt64(length)
        remaining -= length
        side.expectedPSN = psn + run.packetCount
        if run.endsMessage {
            side.message = nil
            side.msn = side.msn.next
            if let receive {
                complete(receive, status: .success, byteLength: total, run: run, opcode: .receiveRDMAWithImmediate, sourceQP: side.path.destinationQP)
            }
        } else {
            side.message = .write(region, address: address, remaining: remaining, total: total)
        }
        acknowledgeIfRequested(run, side: side, to: source)
    }

    // MARK: RDMA READ

    private func respondToRead(_ run: PacketRun, side: inout ResponderSide, to source: GID) {
        let psn = run.headers.bth.psn
        guard let reth = run.headers.reth else { return protocolError(.invalidRequest, psn: psn, side: &side, to: source) }
        guard let region = remoteRegion(rkey: reth.remoteKey, address: reth.virtualAddress, length: UInt64(reth.dmaLength), access: .remoteRead, side: &side) else {
            return protocolError(.remoteAccessError, psn: psn, side: &side, to: source)
        }
        let mtu = side.path.mtu
        let length = Int(reth.dmaLength)
        let range = reth.virtualAddress..<reth.virtualAddress + UInt64(length)
        if length > 0, case .pageFault(let region, let fault) = Self.accessMemory(region, range, .read, { _ in }) {
            return raiseResponderFault(
                .responderRead, region: region, fault: fault, psn: psn, failure: .remoteAccessError, side: side, to: source)
        }
        let responses = max(1, (length + mtu - 1) / mtu)
        side.msn = side.msn.next
        side.expectedPSN = psn + responses
        let (outcome, stoppedAt) = sendReadResponses(
            region: region, address: reth.virtualAddress, length: length, firstPSN: psn, msn: side.msn, path: side.path, to: source)
        switch outcome {
        case .completed:
            break
        case .failed:
            side.expectedPSN = psn
            return protocolError(.remoteAccessError, psn: psn, side: &side, to: source)
        case .pageFault(let region, let fault):
            // Invalidated after the check, part-way through: RNR NAK the first response not
            // sent; the requester asks again for the rest after the back-off.
            raiseResponderFault(
                .responderRead, region: region, fault: fault, psn: stoppedAt, failure: .remoteAccessError, side: side, to: source)
        }
    }

    /// Sends READ response runs for `[address, address + length)`, stopping at a page that is
    /// not mapped (a fault) or cannot be read; returns the outcome and the PSN of the first
    /// response not sent.
    private func sendReadResponses(
        region: MemoryRegion, address: UInt64, length: Int, firstPSN: PacketSequenceNumber,
        msn: MessageSequenceNumber, path: PathParameters, to source: GID
    ) -> (DataPathAccess, stoppedAt: PacketSequenceNumber) {
        let mtu = path.mtu
        let maxRun = max(mtu, device.maxRunPayload / mtu * mtu)
        var sent = 0
        var psn = firstPSN
        repeat {
            let runBytes = min(length - sent, maxRun)
            let packets = max(1, (runBytes + mtu - 1) / mtu)
            let begins = sent == 0
            let ends = sent + runBytes == length
            let opcode: Opcode
            switch (begins, ends && packets == 1) {
            case (true, true): opcode = .rcRDMAReadResponseOnly
            case (true, false): opcode = .rcRDMAReadResponseFirst
            case (false, true): opcode = .rcRDMAReadResponseLast
            case (false, false): opcode = .rcRDMAReadResponseMiddle
            }
            var headers = TransportHeaders(bth: BTH(opcode: opcode, destinationQueuePair: path.destinationQP, psn: psn))
            headers.aeth = AETH(syndrome: .ackUnlimited, msn: msn)
            let run = PacketRun(headers: headers, packetCount: packets, endsMessage: ends, mtu: mtu, payloadLength: runBytes)
            let start = address + UInt64(sent)
            if runBytes == 0 {
                device.link.transmit(run, payload: nil, from: device.gid, to: source)
            } else {
                let outcome = Self.accessMemory(region, start..<start + UInt64(runBytes), .read) {
                    device.link.transmit(run, payload: $0, from: device.gid, to: source)
                }
                guard case .completed = outcome else { return (outcome, psn) }
            }
            sent += runBytes
            psn = psn + packets
        } while sent < length
        return (.completed, psn)
    }

    // MARK: ATOMIC

    private func respondToAtomic(_ run: PacketRun, side: inout ResponderSide, to source: GID) {
        let psn = run.headers.bth.psn
        guard let atomic = run.headers.atomicETH else { return protocolError(.invalidRequest, psn: psn, side: &side, to: source) }
        guard atomic.virtualAddress & 7 == 0 else { return protocolError(.invalidRequest, psn: psn, side: &side, to: source) }
        guard let region = remoteRegion(rkey: atomic.remoteKey, address: atomic.virtualAddress, length: 8, access: .remoteAtomic, side: &side) else {
            return protocolError(.remoteAccessError, psn: psn, side: &side, to: source)
        }
        let isCompareSwap = run.headers.opcode == .rcCompareSwap
        var original: UInt64 = 0
        switch Self.accessMemory(region, atomic.virtualAddress..<atomic.virtualAddress + 8, .write, { bytes in
            original = isCompareSwap
                ? bytes.compareAndSwap64(at: 0, expected: atomic.compareData, desired: atomic.swapOrAddData)
                : bytes.fetchAdd64(at: 0, atomic.swapOrAddData)
        }) {
        case .completed:
            break
        case .failed:
            return protocolError(.remoteAccessError, psn: psn, side: &side, to: source)
        case .pageFault(let region, let fault):
            return raiseResponderFault(
                .responderWrite, region: region, fault: fault, psn: psn, failure: .remoteAccessError, side: side, to: source)
        }
        side.atomicReplay.append((psn, original))
        if side.atomicReplay.count > 16 { side.atomicReplay.removeFirst() }
        side.msn = side.msn.next
        side.expectedPSN = psn + 1
        sendAtomicAcknowledge(original: original, psn: psn, msn: side.msn, path: side.path, to: source)
    }

    private func sendAtomicAcknowledge(original: UInt64, psn: PacketSequenceNumber, msn: MessageSequenceNumber, path: PathParameters, to source: GID) {
        var headers = TransportHeaders(bth: BTH(opcode: .rcAtomicAcknowledge, destinationQueuePair: path.destinationQP, psn: psn))
        headers.aeth = AETH(syndrome: .ackUnlimited, msn: msn)
        headers.atomicAckETH = AtomicAckETH(originalRemoteData: original)
        device.link.transmit(PacketRun(headers: headers, mtu: path.mtu, payloadLength: 0), payload: nil, from: device.gid, to: source)
    }

    // MARK: Duplicates, errors, acknowledgements

    /// A request below the expected PSN was already executed: acknowledge again, re-send READ
    /// data, or replay the saved ATOMIC result (never execute an atomic twice).
    private func respondToDuplicate(_ run: PacketRun, side: inout ResponderSide, to source: GID) {
        let headers = run.headers
        let psn = headers.bth.psn
        device.statistics.duplicatePackets.add(1, ordering: .relaxed)
        if headers.opcode == .rcRDMAReadRequest, let reth = headers.reth,
            let region = remoteRegion(rkey: reth.remoteKey, address: reth.virtualAddress, length: UInt64(reth.dmaLength), access: .remoteRead, side: &side)
        {
            let (outcome, stoppedAt) = sendReadResponses(
                region: region, address: reth.virtualAddress, length: Int(reth.dmaLength), firstPSN: psn, msn: side.msn, path: side.path, to: source)
            if case .pageFault(let region, let fault) = outcome {
                // As for a new READ: RNR NAK, resolve, and the requester asks again.
                raiseResponderFault(
                    .responderRead, region: region, fault: fault, psn: stoppedAt, failure: .remoteAccessError, side: side, to: source)
            }
        } else if headers.opcode.isAtomic {
            if let saved = side.atomicReplay.last(where: { $0.psn == psn }) {
                sendAtomicAcknowledge(original: saved.original, psn: psn, msn: side.msn, path: side.path, to: source)
            }
        } else {
            sendAcknowledge(.ackUnlimited, psn: side.expectedPSN - 1, msn: side.msn, path: side.path, to: source)
        }
    }

    private func acknowledgeIfRequested(_ run: PacketRun, side: ResponderSide, to source: GID) {
        guard run.headers.bth.acknowledgeRequest else { return }
        sendAcknowledge(.ackUnlimited, psn: run.lastPSN, msn: side.msn, path: side.path, to: source)
    }

    func receiverNotReady(psn: PacketSequenceNumber, side: ResponderSide, to source: GID) {
        device.statistics.rnrNaksSent.add(1, ordering: .relaxed)
        sendAcknowledge(.rnrNak(side.path.minRNRTimer), psn: psn, msn: side.msn, path: side.path, to: source)
    }

    /// NAKs the request and moves the QP to ERR (the responder side of an error completion).
    func protocolError(
        _ code: AETH.NAKCode, psn: PacketSequenceNumber, side: inout ResponderSide, to source: GID
    ) {
        faultHandler.disable()
        // ERR before the flush completion, which goes ahead of the queued receives' flushes.
        stateValue.store(QueuePairState.error.rawValue, ordering: .releasing)
        flushInboundMessage(&side)
        sendSide.withLockedValue { enterError(&$0) }
        sendAcknowledge(.nak(code), psn: psn, msn: side.msn, path: side.path, to: source)
    }

    func sendAcknowledge(
        _ syndrome: AETH.Syndrome, psn: PacketSequenceNumber, msn: MessageSequenceNumber, path: PathParameters, to source: GID
    ) {
        var headers = TransportHeaders(bth: BTH(opcode: .rcAcknowledge, destinationQueuePair: path.destinationQP, psn: psn))
        headers.aeth = AETH(syndrome: syndrome, msn: msn)
        device.link.transmit(PacketRun(headers: headers, mtu: path.mtu, payloadLength: 0), payload: nil, from: device.gid, to: source)
    }

    /// The region `rkey` names, if it may be accessed this way by this QP: same PD, the access
    /// flag on both the region and the QP, the range inside the region.
    private func remoteRegion(rkey: UInt32, address: UInt64, length: UInt64, access: AccessFlags, side: inout ResponderSide) -> MemoryRegion? {
        guard let region = side.remoteRegionCache.lookup(rkey, in: device.memoryRegions),
            region.protectionDomain === protectionDomain,
            region.access.contains(access), side.path.access.contains(access),
            address >= region.address, address.addingReportingOverflow(length).partialValue <= region.address + region.length,
            !address.addingReportingOverflow(length).overflow
        else { return nil }
        return region
    }

    // MARK: Receive completions

    /// Writes `bytes` into the receive's SGEs at message offset `offset`; `.failed` on a bad lkey,
    /// missing LOCAL_WRITE or another PD.
    func scatter(_ bytes: MappedBytes, into receive: ReceiveWorkRequest, at offset: Int) -> DataPathAccess {
        var uncached = MemoryRegionCache()
        guard let regions = localRegions(for: receive.scatterGatherList, needsLocalWrite: true, cache: &uncached) else { return .failed }
        return Self.copy(bytes, into: Self.pieces(of: receive.scatterGatherList, regions: regions, range: offset..<offset + bytes.count))
    }

    func complete(
        _ receive: ReceiveWorkRequest, status: WorkCompletion.Status, byteLength: Int, run: PacketRun,
        opcode: WorkCompletion.Opcode = .receive, sourceQP: QueuePairNumber? = nil, hasGRH: Bool = false
    ) {
        // An error completion is visible only once the QP is in ERR (an application that polls it
        // may move the QP to RESET right away).
        if status != .success && type == .rc { stateValue.store(QueuePairState.error.rawValue, ordering: .releasing) }
        let completion = WorkCompletion(
            wrID: receive.id, status: status, opcode: opcode, byteLength: UInt32(truncatingIfNeeded: byteLength),
            immediateData: status == .success ? run.headers.immDt?.value : nil, qpNumber: number,
            sourceQPNumber: sourceQP,
            hasGRH: hasGRH)
        if !receiveCompletionQueue.push(completion, solicited: run.headers.bth.solicitedEvent) {
            device.reportCompletionQueueOverflow(receiveCompletionQueue)
        }
    }
}
