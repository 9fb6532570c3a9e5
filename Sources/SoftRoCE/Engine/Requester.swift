import Synchronization
import NIOConcurrencyHelpers
import SoftRoCEMemory
import SoftRoCEWire

/// What the requester hands to the link after leaving the send-side lock.
struct PendingTransmit {
    var run = PacketRun(headers: TransportHeaders(bth: BTH(opcode: .rcSendOnly, destinationQueuePair: QueuePairNumber(rawValue: 0), psn: 0)), mtu: 256, payloadLength: 0)
    var destination: GID = .zero
    /// Where the payload comes from: pieces of local regions, or inline bytes.
    var pieces = MemoryPieces()
    var inline: [UInt8]?
    /// The region of the only piece, when there is exactly one (`pieces` holds it), unretained:
    /// a link delivering the run reads it without reference counting. Set by ``read(from:)``.
    var soleRegion: Unmanaged<MemoryRegion>?
    var soleRange: Range<UInt64> = 0..<0
    /// The WQE's first PSN and serial, to find it again if the payload cannot be read.
    var firstPSN: PacketSequenceNumber = 0
    var serial: UInt64 = 0
    /// Where the run starts in the message, in bytes (the WQE resumes here after a fault).
    var messageOffset = 0

    /// Makes `pieces` the payload's source.
    @inline(__always)
    mutating func read(from pieces: consuming MemoryPieces) {
        self.pieces = pieces
        if self.pieces.count == 1 {
            soleRegion = .passUnretained(self.pieces[0].region)
            soleRange = self.pieces[0].range
        } else {
            soleRegion = nil
        }
    }

    /// Forgets the payload's source (and the references to it).
    @inline(__always)
    mutating func dropPayload() {
        pieces = MemoryPieces()
        inline = nil
        soleRegion = nil
    }
}

extension QueuePair {
    /// The requester (rxe_req.c): turns the send queue into packet runs, handed to the link in
    /// batches (``PacketRunBatch``) built under one hold of the send-side lock. Runs on the engine
    /// thread only, with the engine's batch. Returns whether more work is ready (the engine
    /// reschedules the QP).
    func runRequester(using batch: PacketRunBatch) -> Bool {
        // UD runs may each go to another QP: one per batch.
        let runsPerBatch = type == .ud ? 1 : PacketRunBatch.capacity
        var budget = PacketRunBatch.capacity
        while budget > 0 {
            var idle = false
            sendSide.withLockedValue { side in
                batch.begin(for: self)
                var blocked = false
                while budget > 0 && batch.count < runsPerBatch {
                    budget -= 1
                    var step = RequesterStep.idle
                    let hasRuns = batch.count > 0
                    batch.append { pending in
                        step = nextTransmit(&side, into: &pending, batchHasRuns: hasRuns)
                        return step == .transmit
                    }
                    blocked = step == .blocked
                    idle = step == .idle
                    if blocked || idle { break }
                }
                // Runs followed by a WQE that will fail validation (the next one, or the one after a
                // full batch) go out first, the last asking for an ACK: the failure waits for it.
                if type == .rc && batch.count > 0 && side.packetsSinceAckRequest != 0
                    && (blocked || (batch.count == runsPerBatch && nextWQEFailsValidation(&side)))
                {
                    batch.asksForAcknowledgeOnLastRun()
                    side.packetsSinceAckRequest = 0
                }
            }
            if batch.count > 0 { transmit(batch) }
            batch.end()
            if idle { return false }
        }
        return true
    }

    enum RequesterStep: Equatable {
        case idle
        case progress
        /// `pending` describes a run to hand to the link.
        case transmit
        /// The next WQE fails validation: the runs already in the batch go out first.
        case blocked
    }

    /// Whether the WQE the requester takes next is yet to start and its local SGEs fail the
    /// checks ``start(_:side:)`` makes (a key not live, of another PD, out of bounds).
    private func nextWQEFailsValidation(_ side: inout SendSide) -> Bool {
        if side.queue.cursor >= side.queue.count { sendInbox.drain(into: side.queue) }
        let offset = side.queue.cursor
        guard offset < side.queue.count, !side.queue[offset].started, side.queue[offset].inlineData == nil else { return false }
        return localRegions(
            for: side.queue[offset].request.scatterGatherList, needsLocalWrite: side.queue[offset].opcode.isReadOrAtomic,
            cache: &side.localRegionCache) == nil
    }

    /// Picks the next run to send, describes it in `pending` and advances the send queue; called
    /// under the send-side lock, with `batchHasRuns` telling whether runs built before wait in the
    /// batch.
    private func nextTransmit(_ side: inout SendSide, into pending: inout PendingTransmit, batchHasRuns: Bool) -> RequesterStep {
        if side.flushPending || state == .error {
            return flushSendQueue(&side) ? .progress : .idle
        }
        let state = self.state
        guard state == .readyToSend else { return .idle }
        if side.rnrDeadline != nil || side.stalledSerial != nil { return .idle }
        if side.queue.cursor >= side.queue.count { sendInbox.drain(into: side.queue) }
        guard side.queue.cursor < side.queue.count else { return .idle }
        let offset = side.queue.cursor
        // Worked on in place, by stored fields (reading a computed property of a WQE in the ring,
        // or copying it, copies it whole and retains its arrays).
        if side.queue[offset].status != nil {
            // Already acknowledged (an ACK covered it after a rewind): nothing to resend.
            side.queue.cursor = offset + 1
            return .progress
        }
        if !side.queue[offset].started {
            // The counts cover the WQEs before `offset` only.
            let blocked = (side.queue[offset].opcode.isReadOrAtomic && side.outstandingReadAtomic >= side.path.maxReadAtomic)
                || (side.queue[offset].request.flags.contains(.fence) && side.outstandingReadAtomic > 0)
            if blocked { return .idle }
            switch start(&side.queue[offset], side: &side) {
            case .started:
                break
            case .failed(let status):
                // The requests before it complete first, by their acknowledgement, not by the
                // flush of ERR: the runs already built go out (the last asking for an ACK), and
                // the failure waits for an ACK that was asked for.
                if batchHasRuns { return .blocked }
                if side.hasOutstanding && side.packetsSinceAckRequest == 0 { return .idle }
                fail(&side, at: offset, status: status)
                return .progress
            case .pageFault(let region, let fault):
                raiseRequesterFault(.requesterWrite, region: region, fault: fault, serial: side.queue[offset].serial, side: &side)
                return .idle
            }
        }
        buildRun(&side.queue[offset], offset: offset, side: &side, into: &pending)
        let fullySent = side.queue[offset].fullySent
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
        return .transmit
    }

    enum StartOutcome {
        case started
        case failed(WorkCompletion.Status)
        /// The local buffer a READ or ATOMIC writes is not mapped: fault it in before asking.
        case pageFault(MemoryRegion, PageFault)
    }

    /// Validates a WQE's local SGEs and assigns its PSNs. A READ or ATOMIC first checks that its
    /// local buffer is mapped for writing (the responses land there).
    private func start(_ wqe: inout SendWQE, side: inout SendSide) -> StartOutcome {
        let needsLocalWrite = wqe.opcode.isReadOrAtomic
        if wqe.inlineData == nil {
            guard let regions = localRegions(for: wqe.request.scatterGatherList, needsLocalWrite: needsLocalWrite, cache: &side.localRegionCache) else {
                return .failed(.localProtectionError)
            }
            if needsLocalWrite {
                for (sge, region) in zip(wqe.request.scatterGatherList, regions) where region.isOnDemand && sge.length > 0 {
                    switch Self.accessMemory(region, sge.address..<sge.address + UInt64(sge.length), .write, { _ in }) {
                    case .completed: continue
                    case .failed: return .failed(.localProtectionError)
                    case .pageFault(let region, let fault): return .pageFault(region, fault)
                    }
                }
            }
            wqe.regions = regions
        }
        let mtu = side.path.mtu
        let length = wqe.length
        if type == .ud && length > mtu { return .failed(.localLengthError) }
        switch wqe.request.opcode {
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
        return .started
    }

    /// Describes the next run of `wqe` in `pending` from the WQE's progress and advances it.
    private func buildRun(_ wqe: inout SendWQE, offset: Int, side: inout SendSide, into pending: inout PendingTransmit) {
        let mtu = side.path.mtu
        var bth = BTH(opcode: .rcSendOnly, destinationQueuePair: side.path.destinationQP, psn: wqe.firstPSN)
        bth.solicitedEvent = wqe.request.flags.contains(.solicited)
        var headers = TransportHeaders(bth: bth)
        pending.destination = type == .ud ? (wqe.request.datagram?.addressHandle.addressVector.destinationGID ?? .zero) : side.path.destinationGID
        pending.firstPSN = wqe.firstPSN
        pending.serial = wqe.serial
        pending.dropPayload()
        pending.messageOffset = 0

        switch wqe.request.opcode {
        case .rdmaRead:
            // One request for what is still missing; its responses use the remaining PSNs.
            let done = wqe.bytesReceived
            headers.bth.opcode = .rcRDMAReadRequest
            headers.bth.psn = wqe.firstPSN + wqe.packetsReceived
            headers.reth = RETH(
                virtualAddress: wqe.request.remoteAddress &+ UInt64(done), remoteKey: wqe.request.rkey.rawValue,
                dmaLength: UInt32(wqe.length - done))
            headers.bth.acknowledgeRequest = true
            pending.run = PacketRun(headers: headers, mtu: mtu, payloadLength: 0)
            wqe.fullySent = true
            return
        case .atomicCompareAndSwap, .atomicFetchAndAdd:
            headers.bth.opcode = wqe.request.opcode == .atomicCompareAndSwap ? .rcCompareSwap : .rcFetchAdd
            headers.bth.acknowledgeRequest = true
            headers.atomicETH = AtomicETH(
                virtualAddress: wqe.request.remoteAddress, remoteKey: wqe.request.rkey.rawValue,
                swapOrAddData: wqe.request.opcode == .atomicCompareAndSwap ? wqe.request.swap : wqe.request.compareAdd,
                compareData: wqe.request.opcode == .atomicCompareAndSwap ? wqe.request.compareAdd : 0)
            pending.run = PacketRun(headers: headers, mtu: mtu, payloadLength: 0)
            wqe.fullySent = true
            return
        default:
            break
        }

        let length = wqe.length
        let sent = wqe.bytesSent
        let maxRun = max(mtu, device.maxRunPayload / mtu * mtu)
        let runBytes = min(length - sent, maxRun)
        let packets = max(1, (runBytes + mtu - 1) / mtu)
        let ends = sent + runBytes == length
        let begins = sent == 0
        let packetIndex = sent / mtu
        headers.bth.psn = wqe.firstPSN + packetIndex
        let withImmediate = wqe.request.opcode.hasImmediate
        let isWrite = wqe.request.opcode == .rdmaWrite || wqe.request.opcode == .rdmaWriteWithImmediate
        if type == .ud {
            headers.bth.opcode = withImmediate ? .udSendOnlyWithImmediate : .udSendOnly
            let remoteQKey = wqe.request.datagram?.remoteQKey.rawValue ?? 0
            headers.deth = DETH(queueKey: remoteQKey & 0x8000_0000 != 0 ? side.path.qkey : remoteQKey, sourceQueuePair: number)
            headers.bth.destinationQueuePair = wqe.request.datagram?.remoteQPNumber ?? QueuePairNumber(rawValue: 0)
        } else {
            headers.bth.opcode = Opcode.forRun(write: isWrite, begins: begins, ends: ends, single: packets == 1, immediate: withImmediate)
        }
        if isWrite && begins {
            headers.reth = RETH(virtualAddress: wqe.request.remoteAddress, remoteKey: wqe.request.rkey.rawValue, dmaLength: UInt32(length))
        }
        if withImmediate && ends { headers.immDt = ImmDt(value: wqe.request.immediateData) }
        side.packetsSinceAckRequest += packets
        if type == .rc && side.needsAcknowledgeRequest(
            endingMessageAt: ends ? offset : nil, signaled: wqe.signaled, morePosted: sendInbox.hasPosted)
        {
            headers.bth.acknowledgeRequest = true
            side.packetsSinceAckRequest = 0
        }
        pending.run = PacketRun(headers: headers, packetCount: packets, endsMessage: ends, mtu: mtu, payloadLength: runBytes)
        pending.messageOffset = sent
        if let inline = wqe.inlineData {
            pending.inline = Array(inline[sent..<sent + runBytes])
        } else {
            pending.read(from: Self.pieces(of: wqe.request.scatterGatherList, regions: wqe.regions, range: sent..<sent + runBytes))
        }
        wqe.bytesSent = sent + runBytes
        wqe.fullySent = ends
    }

    /// The regions an SGE list names, if every lkey is live, of this QP's PD, covers its SGE
    /// (without address overflow) and, when needed, allows local write; nil otherwise.
    func localRegions(
        for list: [ScatterGatherElement], needsLocalWrite: Bool, cache: inout MemoryRegionCache
    ) -> InlineFirstList<MemoryRegion>? {
        var regions = InlineFirstList<MemoryRegion>()
        for sge in list {
            let end = sge.address.addingReportingOverflow(UInt64(sge.length))
            guard let region = cache.lookup(sge.lkey.rawValue, in: device.memoryRegions),
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
        of list: [ScatterGatherElement], regions: InlineFirstList<MemoryRegion>, range: Range<Int>
    ) -> MemoryPieces {
        var pieces = MemoryPieces()
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

    /// Hands a batch to the link. A run whose payload cannot be read ends the batch: a page
    /// fault stalls the send queue at its WQE until the fault workqueue has resolved it, a payload
    /// that can never be read fails the WQE with `LOC_PROT_ERR`. The runs that did not go out
    /// (from there, or from where the completer rewound the queue meanwhile) are taken back.
    private func transmit(_ batch: PacketRunBatch) {
        let sent = device.link.transmit(batch, from: device.gid, to: batch.destination)
        if sent < batch.count {
            sendSide.withLockedValue { side in
                for index in sent..<batch.count {
                    let resumes = unsend(batch[index], side: &side)
                    guard let failure = batch.failure, failure.index == index else { continue }
                    switch failure.access {
                    case .completed:
                        break
                    case .failed:
                        if let offset = side.queue.offset(ofSerial: batch[index].serial) {
                            fail(&side, at: offset, status: .localProtectionError)
                        }
                    case .pageFault(let region, let fault):
                        if resumes {
                            raiseRequesterFault(.requesterRead, region: region, fault: fault, serial: batch[index].serial, side: &side)
                        }
                    }
                }
            }
        }
        if type == .ud { completeFinished() }
    }

    /// Runs `body` with a run's payload — `inline` bytes, or `length` bytes at `pieces` of local
    /// regions (none: no payload, nil) — read from local memory without faulting: in place from
    /// one piece, gathered into one buffer from several. A page fault or an unreadable piece
    /// stops before `body`.
    static func readPayload(
        inline: [UInt8]?, pieces: MemoryPieces, length: Int, _ body: (MappedBytes?) -> Void
    ) -> DataPathAccess {
        if var inline {
            MappedBytes.withBytes(of: &inline) { body($0) }
            return .completed
        }
        if pieces.isEmpty {
            body(nil)
            return .completed
        }
        if pieces.count == 1 {
            let piece = pieces[0]
            return Self.accessMemory(piece.region, piece.range, .read) { body($0) }
        }
        var gathered = [UInt8](repeating: 0, count: length)
        var outcome = DataPathAccess.completed
        var offset = 0
        MappedBytes.withBytes(of: &gathered) { buffer in
            for piece in pieces {
                let count = Int(piece.range.count)
                outcome = Self.accessMemory(piece.region, piece.range, .read) {
                    buffer.extracting(offset..<offset + count).copy(from: $0)
                }
                guard case .completed = outcome else { return }
                offset += count
            }
        }
        if case .completed = outcome { MappedBytes.withBytes(of: &gathered) { body($0) } }
        return outcome
    }

    /// Takes back a run that was never handed to the link: its WQE resumes from the run's first
    /// byte. False if the WQE is gone (flushed) or finished meanwhile.
    private func unsend(_ pending: PendingTransmit, side: inout SendSide) -> Bool {
        guard let offset = side.queue.offset(ofSerial: pending.serial) else { return false }
        var wqe = side.queue[offset]
        if type == .ud { wqe.status = nil }  // UD marked it sent before the transmit
        guard wqe.status == nil else { return false }
        wqe.bytesSent = min(wqe.bytesSent, pending.messageOffset)
        wqe.fullySent = false
        side.queue[offset] = wqe
        side.queue.cursor = min(side.queue.cursor, offset)
        return true
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
