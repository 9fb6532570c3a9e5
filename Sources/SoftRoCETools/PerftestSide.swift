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
        var access: AccessFlags = [.localWrite, .remoteWrite, .remoteRead, .remoteAtomic]
        if onDemand != .none { access.insert(.onDemand) }
        region = try protectionDomain.registerMemoryRegion(
            address: buffer.address, length: UInt64(buffer.length), access: access, account: PerftestSide.account)
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

    /// Invalidates the region's pages and drops them from the process (`MADV_DONTNEED`), so the
    /// next device access faults: the `--cold` step.
    public func dropPages() throws {
        if let umem = region.onDemandUmem {
            try umem.invalidate(region.range) { try buffer.dropPages() }
        } else {
            try buffer.dropPages()
        }
    }
}

/// Errors of a perftest-style run.
public struct PerftestError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
