public import SoftRoCE
public import SoftRoCEMemory

/// One side of a perftest-style run: a QP with its CQ, buffer and memory region.
public final class PerftestSide: Sendable {
    public let device: Device
    public let protectionDomain: ProtectionDomain
    public let completionQueue: CompletionQueue
    public let queuePair: QueuePair
    public let buffer: AnonymousMemory
    public let region: MemoryRegion

    /// Creates the QP, a buffer of `bufferSize` bytes and its region (ODP or pinned).
    public init(device: Device, protectionDomain: ProtectionDomain, bufferSize: Int, onDemand: OnDemandMode, depth: Int) throws {
        self.device = device
        self.protectionDomain = protectionDomain
        completionQueue = try device.createCompletionQueue(capacity: 4 * depth)
        queuePair = try device.createQueuePair(
            type: .rc, protectionDomain: protectionDomain, sendCompletionQueue: completionQueue,
            receiveCompletionQueue: completionQueue,
            capabilities: QueuePairCapabilities(maxSendWR: depth, maxReceiveWR: depth, maxSendSGE: 1, maxReceiveSGE: 1, maxInlineData: 0))
        buffer = try AnonymousMemory(length: max(bufferSize, 64))
        let access: AccessFlags = [.localWrite, .remoteWrite, .remoteRead, .remoteAtomic]
        switch onDemand {
        case .implicit:
            region = try protectionDomain.registerImplicitOnDemandRegion(access: access)
        case .explicit:
            region = try protectionDomain.registerMemoryRegion(
                address: buffer.address, length: UInt64(buffer.length), access: access.union(.onDemand), account: PerftestSide.account)
        case .none:
            region = try protectionDomain.registerMemoryRegion(
                address: buffer.address, length: UInt64(buffer.length), access: access, account: PerftestSide.account)
        }
    }

    /// Pinned test buffers are charged to their own unlimited account (root may pin freely;
    /// others hit `mlock`'s own RLIMIT_MEMLOCK check, reported as an error).
    static let account = MemlockAccount(limitBytes: nil)

    /// Connects this QP to `peer`'s: INIT → RTR → RTS with perftest's attributes.
    public func connect(to peer: PerftestSide, mtu: PathMTU) throws {
        try queuePair.modify(QueuePairAttributes(
            state: .initialized, accessFlags: [.localWrite, .remoteWrite, .remoteRead, .remoteAtomic], portNumber: 1, pkeyIndex: 0))
        try queuePair.modify(QueuePairAttributes(
            state: .readyToReceive, pathMTU: mtu, rqPSN: 0, destQPNumber: peer.queuePair.number,
            addressVector: AddressVector(destinationGID: peer.device.gid), minRNRTimer: RNRTimer(code: 12),
            maxDestReadAtomic: 16))
        try queuePair.modify(QueuePairAttributes(
            state: .readyToSend, sqPSN: 0, timeout: AckTimeout(code: 14), retryCount: 7, rnrRetry: 7, maxReadAtomic: 16))
    }

    /// An SGE over the first `length` bytes of the buffer.
    public func sge(_ length: Int) -> ScatterGatherElement {
        ScatterGatherElement(address: buffer.address, length: UInt32(length), lkey: region.lkey)
    }

    /// The buffer's address range.
    public var range: Range<UInt64> { buffer.address..<buffer.address + UInt64(buffer.length) }

    /// Maps the whole buffer for the device ahead of the run (`ibv_advise_mr` PREFETCH_WRITE,
    /// synchronous): the `--prefetch` step. Returns the pages mapped; 0 for pinned memory.
    public func prefetch() throws -> Int {
        guard region.isOnDemand else { return 0 }
        return try protectionDomain.adviseMemory(.write, scatterGatherList: [sge(buffer.length)], synchronous: true)
    }

    /// Clears the device's mapping of `[offset, offset + count)` of the buffer, so the next device
    /// access faults; the bytes stay. With `drop`, the pages also leave the process
    /// (`MADV_DONTNEED`): the next access allocates fresh zeroed pages. The `--cold` step.
    public func makeCold(at offset: Int = 0, count: Int? = nil, drop: Bool) throws {
        let count = count ?? buffer.length - offset
        let range = buffer.address + UInt64(offset)..<buffer.address + UInt64(offset + count)
        if let umem = region.onDemandUmem {
            _ = try umem.invalidate(range) { if drop { try buffer.dropPages(at: offset, count: count) } }
        } else if drop {
            try buffer.dropPages(at: offset, count: count)
        }
    }
}

/// Errors of a perftest-style run.
public struct PerftestError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
