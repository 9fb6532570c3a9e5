import SoftRoCE
import SoftRoCEMemory
import Testing

/// A connected pair of RC (or UD) queue pairs with a buffer and a region on each side: the
/// set-up most device tests share.
final class Endpoint: Sendable {
    let device: Device
    let pd: ProtectionDomain
    let sendCQ: CompletionQueue
    let receiveCQ: CompletionQueue
    let qp: QueuePair
    let buffer: AnonymousMemory
    let region: MemoryRegion

    init(
        device: Device, type: QueuePairType = .rc, bufferSize: Int = 1 << 20, onDemand: Bool = false,
        access: AccessFlags = [.localWrite, .remoteWrite, .remoteRead, .remoteAtomic], depth: Int = 256,
        pd: ProtectionDomain? = nil, signalsAll: Bool = false
    ) throws {
        self.device = device
        self.pd = pd ?? device.allocateProtectionDomain()
        sendCQ = try device.createCompletionQueue(capacity: 4 * depth)
        receiveCQ = try device.createCompletionQueue(capacity: 4 * depth)
        qp = try device.createQueuePair(
            type: type, protectionDomain: self.pd, sendCompletionQueue: sendCQ, receiveCompletionQueue: receiveCQ,
            capabilities: QueuePairCapabilities(maxSendWR: depth, maxReceiveWR: depth, maxSendSGE: 4, maxReceiveSGE: 4, maxInlineData: 128),
            signalsAll: signalsAll)
        buffer = try AnonymousMemory(length: bufferSize)
        region = try self.pd.registerMemoryRegion(
            address: buffer.address, length: UInt64(bufferSize), access: onDemand ? access.union(.onDemand) : access,
            account: MemlockAccount(limitBytes: nil))
    }

    /// An SGE over `[offset, offset + length)` of the buffer.
    func sge(_ offset: Int = 0, _ length: Int) -> ScatterGatherElement {
        ScatterGatherElement(address: buffer.address + UInt64(offset), length: UInt32(length), lkey: region.lkey)
    }

    /// The address of `offset` in the buffer.
    func address(_ offset: Int) -> UInt64 { buffer.address + UInt64(offset) }

    /// Connects this RC QP to `peer`'s: INIT → RTR → RTS.
    func connect(
        to peer: Endpoint, mtu: PathMTU = .mtu1024, timeout: UInt8 = 14, retry: UInt8 = 7, rnrRetry: UInt8 = 7,
        minRNRTimer: UInt8 = 1, access: AccessFlags = [.localWrite, .remoteWrite, .remoteRead, .remoteAtomic]
    ) throws {
        try qp.modify(QueuePairAttributes(state: .initialized, accessFlags: access, portNumber: 1, pkeyIndex: 0))
        try qp.modify(QueuePairAttributes(
            state: .readyToReceive, pathMTU: mtu, rqPSN: 100, destQPNumber: peer.qp.number,
            addressVector: AddressVector(destinationGID: peer.device.gid), minRNRTimer: RNRTimer(code: minRNRTimer),
            maxDestReadAtomic: 16))
        try qp.modify(QueuePairAttributes(
            state: .readyToSend, sqPSN: 100, timeout: AckTimeout(code: timeout), retryCount: retry, rnrRetry: rnrRetry,
            maxReadAtomic: 16))
    }

    /// Brings a UD QP to RTS with `qkey`.
    func activateDatagram(qkey: UInt32 = 0x1111_1111) throws {
        try qp.modify(QueuePairAttributes(state: .initialized, qkey: QKey(rawValue: qkey), portNumber: 1, pkeyIndex: 0))
        try qp.modify(QueuePairAttributes(state: .readyToReceive))
        try qp.modify(QueuePairAttributes(state: .readyToSend, sqPSN: 0))
    }

    /// Polls `cq` until `count` completions arrived (or the deadline passed) and returns them.
    func wait(_ count: Int, on cq: CompletionQueue, timeout: Duration = .seconds(10)) -> [WorkCompletion] {
        var completions: [WorkCompletion] = []
        let deadline = ContinuousClock.now + timeout
        while completions.count < count && ContinuousClock.now < deadline {
            let batch = cq.poll(maxEntries: count - completions.count)
            if batch.isEmpty { Thread.yield() } else { completions += batch }
        }
        return completions
    }

    func waitSend(_ count: Int = 1, timeout: Duration = .seconds(10)) -> [WorkCompletion] { wait(count, on: sendCQ, timeout: timeout) }
    func waitReceive(_ count: Int = 1, timeout: Duration = .seconds(10)) -> [WorkCompletion] { wait(count, on: receiveCQ, timeout: timeout) }
}

/// Two connected RC endpoints on one device or two.
func connectedPair(
    twoDevices: Bool = false, onDemand: (Bool, Bool) = (false, false), bufferSize: Int = 1 << 20,
    mtu: PathMTU = .mtu1024, timeout: UInt8 = 14, retry: UInt8 = 7, rnrRetry: UInt8 = 7, minRNRTimer: UInt8 = 1,
    fabric: InProcessFabric = .shared
) throws -> (client: Endpoint, server: Endpoint) {
    let first = Device(name: "softroce-a", link: fabric)
    let second = twoDevices ? Device(name: "softroce-b", link: fabric) : first
    let client = try Endpoint(device: first, bufferSize: bufferSize, onDemand: onDemand.0)
    let server = try Endpoint(device: second, bufferSize: bufferSize, onDemand: onDemand.1)
    try client.connect(to: server, mtu: mtu, timeout: timeout, retry: retry, rnrRetry: rnrRetry, minRNRTimer: minRNRTimer)
    try server.connect(to: client, mtu: mtu, timeout: timeout, retry: retry, rnrRetry: rnrRetry, minRNRTimer: minRNRTimer)
    return (client, server)
}

enum Thread {
    static func yield() {
        #if canImport(Glibc)
        _ = sched_yield()
        #endif
    }
}

#if canImport(Glibc)
import Glibc
#endif

/// Deterministic bytes for payloads.
func pattern(_ count: Int, seed: UInt8 = 1) -> [UInt8] {
    (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ Int(seed) &* 7 &+ ($0 >> 8)) }
}
