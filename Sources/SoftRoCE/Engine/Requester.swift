import Synchronization
import NIOConcurrencyHelpers
import SoftRoCEMemory
import SoftRoCEWire

/// What the requester hands to the link after leaving the send-side lock.
struct PendingTransmit {
    var run: PacketRun
    var destination: GID
    /// Where the payload comes from: pieces of local regions, or inline bytes.
    var pieces: [(region: MemoryRegion, range: Range<UInt64>)] = []
    var inline: [UInt8]?
    /// The WQE's first PSN, to find it again if the payload cannot be read.
    var firstPSN: PacketSequenceNumber
}

extension QueuePair {
    /// The requester (rxe_req.c): turns the send queue into packet runs. Runs on the engine thread
    /// only. Returns whether more work is ready (the engine reschedules the QP).
    func runRequester() -> Bool {
        var budget = 16
        while budget > 0 {
            budget -= 1
            let step = sendSide.withLockedValue { side in nextTransmit(&side) }
            switch step {
            case .idle:
                return false
            case .progress:
                continue
            case .transmit(let pending):
                transmit(pending)
            }
        }
        return true
    }

    enum RequesterStep {
        case idle
        case progress
        case transmit(PendingTransmit)
    }

    /// Picks the next run to send and advances the send queue; called under the send-side lock.
    private func nextTransmit(_ side: inout SendSide) -> RequesterStep {
        if side.flushPending || state == .error {
            return flushSendQueue(&side) ? .progress : .idle
        }
        let state = self.state
        guard state == .readyToSend else { return .idle }
        if side.rnrDeadline != nil { return .idle }
        if side.queue.cursor >= side.queue.count { sendInbox.drain(into: &side.queue) }
        guard side.queue.cursor < side.queue.count else { return .idle }
        let offset = side.queue.cursor
        if side.queue[offset].status != nil {
            // Already acknowledged (an ACK covered it after a rewind): nothing to resend.
            side.queue.cursor = offset + 1
            return .progress
        }
        if !side.queue[offset].started {
            if side.queue[offset].isReadOrAtomic && side.outstandingReadAtomic >= side.path.maxReadAtomic { return .idle }
            if side.queue[offset].request.flags.contains(.fence) && side.outstandingReadAtomic > 0 { return .idle }
        }
        // Moved out and back (not copied: a copy retains the WQE's arrays) while `side` changes.
        var wqe = side.queue.take(at: offset)
        if !wqe.started, let status = start(&wqe, side: &side) {
            wqe.status = status
            side.queue.put(wqe, at: offset)
            fail(&side, at: offset, status: status)
            return .progress
        }
        let pending = buildRun(&wqe, offset: offset, side: &side)
        let fullySent = wqe.fullySent
        side.queue.put(wqe, at: offset)
        if fullySent { side.queue.cursor = offset + 1 }
        if type == .rc {
            if side.retransmitDeadline == nil, let timeout = side.path.timeout {
                side.retransmitDeadline = .now + timeout
                side.progressSinceArmed = false
                device.engine.watchTimers(of: self)
            }
        } else if fullySent {
            // UD: no acknowledgement; the send completes once handed to the link.
            side.queue[offset].status = .success
        }
        return .transmit(pending)
    }

    /// Validates a WQE's local SGEs and assigns its PSNs. Returns an error status, or nil.
    private func start(_ wqe: inout SendWQE, side: inout SendSide) -> WorkCompletion.Status? {
        let request = wqe.request
        let needsLocalWrite = request.opcode == .rdmaRead || request.opcode.isAtomic
        if wqe.inlineData == nil {
            guard let regions = localRegions(for: request.scatterGatherList, needsLocalWrite: needsLocalWrite) else {
                return .localProtectionError
            }
            wqe.regions = regions
        }
        let mtu = side.path.mtu
        let length = wqe.length
        if type == .ud && length > mtu { return .localLengthError }
        switch request.opcode {
        case .rdmaRead:
            wqe.psnCount = max(1, (length + mtu - 1) / mtu)
        case .atomicCompareAndSwap, .atomicFetchAndAdd:
            wqe.psnCount = 1
        default:
            wqe.psnCount = max(1, (length + mtu - 1) / mtu)
        }
        wqe.firstPSN = side.nextPSN
        side.nextPSN = side.nextPSN + wqe.psnCount
        wqe.started = true
        return nil
    }

    /// Builds the next run of `wqe` from its progress and advances it.
    private func buildRun(_ wqe: inout SendWQE, offset: Int, side: inout SendSide) -> PendingTransmit {
        let request = wqe.request
        let mtu = side.path.mtu
        let path = side.path
        var bth = BTH(opcode: .rcSendOnly, destinationQueuePair: path.destinationQP, psn: wqe.firstPSN)
        bth.solicitedEvent = request.flags.contains(.solicited)
        var headers = TransportHeaders(bth: bth)
        var pending = PendingTransmit(
            run: PacketRun(headers: headers, mtu: mtu, payloadLength: 0),
            destination: type == .ud ? (request.datagram?.addressHandle.addressVector.destinationGID ?? .zero) : path.destinationGID,
            firstPSN: wqe.firstPSN)

        switch request.opcode {
        case .rdmaRead:
            // One request for what is still missing; its responses use the remaining PSNs.
            let done = wqe.bytesReceived
            headers.bth.opcode = .rcRDMAReadRequest
            headers.bth.psn = wqe.firstPSN + wqe.packetsReceived
            headers.reth = RETH(
                virtualAddress: request.remoteAddress &+ UInt64(done), remoteKey: request.rkey.rawValue,
                dmaLength: UInt32(wqe.length - done))
            headers.bth.acknowledgeRequest = true
            pending.run = PacketRun(headers: headers, mtu: mtu, payloadLength: 0)
            wqe.fullySent = true
            return pending
        case .atomicCompareAndSwap, .atomicFetchAndAdd:
            headers.bth.opcode = request.opcode == .atomicCompareAndSwap ? .rcCompareSwap : .rcFetchAdd
            headers.bth.acknowledgeRequest = true
            headers.atomicETH = AtomicETH(
                virtualAddress: request.remoteAddress, remoteKey: request.rkey.rawValue,
                swapOrAddData: request.opcode == .atomicCompareAndSwap ? request.swap : request.compareAdd,
                compareData: request.opcode == .atomicCompareAndSwap ? request.compareAdd : 0)
            pending.run = PacketRun(headers: headers, mtu: mtu, payloadLength: 0)
            wqe.fullySent = true
            return pending
        default:
            break
        }

        let length = wqe.length
        let sent = wqe.bytesSent
        let maxRun = max(mtu, device.link.maxRunPayload / mtu * mtu)
        let runBytes = min(length - sent, maxRun)
        let packets = max(1, (runBytes + mtu - 1) / mtu)
        let ends = sent + runBytes == length
        let begins = sent == 0
        let packetIndex = sent / mtu
        headers.bth.psn = wqe.firstPSN + packetIndex
        let withImmediate = request.opcode.hasImmediate
        let isWrite = request.opcode == .rdmaWrite || request.opcode == .rdmaWriteWithImmediate
        if type == .ud {
            headers.bth.opcode = withImmediate ? .udSendOnlyWithImmediate : .udSendOnly
            let remoteQKey = request.datagram?.remoteQKey.rawValue ?? 0
            headers.deth = DETH(queueKey: remoteQKey & 0x8000_0000 != 0 ? path.qkey : remoteQKey, sourceQueuePair: number)
            headers.bth.destinationQueuePair = request.datagram?.remoteQPNumber ?? QueuePairNumber(rawValue: 0)
        } else {
            headers.bth.opcode = Opcode.forRun(write: isWrite, begins: begins, ends: ends, single: packets == 1, immediate: withImmediate)
        }
        if isWrite && begins {
            headers.reth = RETH(virtualAddress: request.remoteAddress, remoteKey: request.rkey.rawValue, dmaLength: UInt32(length))
        }
        if withImmediate && ends { headers.immDt = ImmDt(value: request.immediateData) }
        side.packetsSinceAckRequest += packets
        if type == .rc && side.needsAcknowledgeRequest(
            endingMessageAt: ends ? offset : nil, signaled: wqe.signaled, morePosted: sendInbox.hasPosted)
        {
            headers.bth.acknowledgeRequest = true
            side.packetsSinceAckRequest = 0
        }
        pending.run = PacketRun(headers: headers, packetCount: packets, endsMessage: ends, mtu: mtu, payloadLength: runBytes)
        if let inline = wqe.inlineData {
            pending.inline = Array(inline[sent..<sent + runBytes])
        } else {
            pending.pieces = Self.pieces(of: request.scatterGatherList, regions: wqe.regions, range: sent..<sent + runBytes)
        }
        wqe.bytesSent = sent + runBytes
        wqe.fullySent = ends
        return pending
    }

    /// The regions an SGE list names, if every lkey is live, of this QP's PD, covers its SGE
    /// (without address overflow) and, when needed, allows local write; nil otherwise.
    func localRegions(for list: [ScatterGatherElement], needsLocalWrite: Bool) -> [MemoryRegion]? {
        var regions: [MemoryRegion] = []
        regions.reserveCapacity(list.count)
        for sge in list {
            let end = sge.address.addingReportingOverflow(UInt64(sge.length))
            guard let region = device.memoryRegions.lookup(sge.lkey.rawValue),
                region.protectionDomain === protectionDomain,
                !end.overflow, sge.address >= region.address, end.partialValue <= region.address + region.length,
                !needsLocalWrite || region.access.contains(.localWrite)
            else { return nil }
            regions.append(region)
        }
        return regions
    }

    /// The parts of an SGE list covering message bytes `range`.
    static func pieces(
        of list: [ScatterGatherElement], regions: [MemoryRegion], range: Range<Int>
    ) -> [(region: MemoryRegion, range: Range<UInt64>)] {
        var pieces: [(region: MemoryRegion, range: Range<UInt64>)] = []
        var position = 0
        for (index, sge) in list.enumerated() {
            let sgeRange = position..<position + Int(sge.length)
            position = sgeRange.upperBound
            let lower = max(sgeRange.lowerBound, range.lowerBound)
            let upper = min(sgeRange.upperBound, range.upperBound)
            if lower < upper {
                let start = sge.address + UInt64(lower - sgeRange.lowerBound)
                pieces.append((regions[index], start..<start + UInt64(upper - lower)))
            }
            if position >= range.upperBound { break }
        }
        return pieces
    }

    /// Hands a run to the link, reading its payload from local memory (faults are resolved here,
    /// synchronously). A payload that cannot be read fails the WQE with `LOC_PROT_ERR`.
    private func transmit(_ pending: PendingTransmit) {
        let link = device.link
        let source = device.gid
        do {
            if var inline = pending.inline {
                MappedBytes.withBytes(of: &inline) { link.transmit(pending.run, payload: $0, from: source, to: pending.destination) }
            } else if pending.pieces.isEmpty {
                link.transmit(pending.run, payload: nil, from: source, to: pending.destination)
            } else if pending.pieces.count == 1 {
                let piece = pending.pieces[0]
                try piece.region.umem.withBytes(piece.range, access: .read) {
                    link.transmit(pending.run, payload: $0, from: source, to: pending.destination)
                }
            } else {
                var gathered = [UInt8](repeating: 0, count: pending.run.payloadLength)
                var offset = 0
                try MappedBytes.withBytes(of: &gathered) { buffer in
                    for piece in pending.pieces {
                        let count = Int(piece.range.count)
                        try piece.region.umem.withBytes(piece.range, access: .read) {
                            buffer.extracting(offset..<offset + count).copy(from: $0)
                        }
                        offset += count
                    }
                }
                MappedBytes.withBytes(of: &gathered) { link.transmit(pending.run, payload: $0, from: source, to: pending.destination) }
            }
        } catch {
            sendSide.withLockedValue { side in
                if let offset = side.queue.offset(of: pending.firstPSN) { fail(&side, at: offset, status: .localProtectionError) }
            }
        }
        if type == .ud { completeFinished() }
    }
}

extension Opcode {
    /// The opcode of the first packet of a SEND or RDMA WRITE run.
    static func forRun(write: Bool, begins: Bool, ends: Bool, single: Bool, immediate: Bool) -> Opcode {
        switch (write, begins, ends && single) {
        case (false, true, true): immediate ? .rcSendOnlyWithImmediate : .rcSendOnly
        case (false, true, false): .rcSendFirst
        case (false, false, true): immediate ? .rcSendLastWithImmediate : .rcSendLast
        case (false, false, false): .rcSendMiddle
        case (true, true, true): immediate ? .rcRDMAWriteOnlyWithImmediate : .rcRDMAWriteOnly
        case (true, true, false): .rcRDMAWriteFirst
        case (true, false, true): immediate ? .rcRDMAWriteLastWithImmediate : .rcRDMAWriteLast
        case (true, false, false): .rcRDMAWriteMiddle
        }
    }
}

extension SendQueue {
    /// The offset of the started WQE whose PSN range contains `psn`.
    func offset(of psn: PacketSequenceNumber) -> Int? {
        for offset in 0..<count where self[offset].contains(psn) { return offset }
        return nil
    }
}
