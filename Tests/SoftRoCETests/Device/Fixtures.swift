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
        pd: ProtectionDomain? = nil, signalsAll: Bool = false, sharedReceiveQueue: SharedReceiveQueue? = nil
    ) throws {
        self.device = device
        self.pd = pd ?? device.allocateProtectionDomain()
        sendCQ = try device.createCompletionQueue(capacity: 4 * depth)
        receiveCQ = try device.createCompletionQueue(capacity: 4 * depth)
        qp = try device.createQueuePair(
            type: type, protectionDomain: self.pd, sendCompletionQueue: sendCQ, receiveCompletionQueue: receiveCQ,
            capabilities: QueuePairCapabilities(maxSendWR: depth, maxReceiveWR: depth, maxSendSGE: 4, maxReceiveSGE: 4, maxInlineData: 128),
            sharedReceiveQueue: sharedReceiveQueue, signalsAll: signalsAll)
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
    fabric: InProcessFabric = .shared, engineCPU: Int? = nil
) throws -> (client: Endpoint, server: Endpoint) {
    let first = Device(name: "softroce-a", link: fabric, engineCPU: engineCPU)
    let second = twoDevices ? Device(name: "softroce-b", link: fabric, engineCPU: engineCPU) : first
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

// MARK: - Layouts

/// Where the two ends of a connection live and how their memory is registered.
struct Layout: Sendable, Hashable, CustomTestStringConvertible {
    var twoDevices: Bool
    var clientODP: Bool
    var serverODP: Bool

    var testDescription: String {
        "\(twoDevices ? "2 devices" : "1 device"), client \(clientODP ? "ODP" : "pinned"), server \(serverODP ? "ODP" : "pinned")"
    }

    /// {one device, two devices} × {pinned, ODP} on each side.
    static let all: [Layout] = [false, true].flatMap { two in
        [(false, false), (true, true), (true, false), (false, true)].map { Layout(twoDevices: two, clientODP: $0.0, serverODP: $0.1) }
    }

    /// {one device, two devices} × {both pinned, both ODP}.
    static let symmetric: [Layout] = [false, true].flatMap { two in
        [false, true].map { Layout(twoDevices: two, clientODP: $0, serverODP: $0) }
    }
}

/// Two connected RC endpoints laid out as `layout`.
func connectedPair(
    _ layout: Layout, bufferSize: Int = 1 << 20, mtu: PathMTU = .mtu1024, timeout: UInt8 = 14, retry: UInt8 = 7,
    rnrRetry: UInt8 = 7, minRNRTimer: UInt8 = 1, fabric: InProcessFabric = .shared
) throws -> (client: Endpoint, server: Endpoint) {
    try connectedPair(
        twoDevices: layout.twoDevices, onDemand: (layout.clientODP, layout.serverODP), bufferSize: bufferSize, mtu: mtu,
        timeout: timeout, retry: retry, rnrRetry: rnrRetry, minRNRTimer: minRNRTimer, fabric: fabric)
}

/// Closes the devices of `endpoints` (each once): their engine threads stop and they leave the fabric.
func shutDown(_ endpoints: Endpoint...) {
    var seen: [ObjectIdentifier] = []
    for endpoint in endpoints where !seen.contains(ObjectIdentifier(endpoint.device)) {
        seen.append(ObjectIdentifier(endpoint.device))
        endpoint.device.close()
    }
}

// MARK: - Memory helpers

extension AnonymousMemory {
    /// The 64-bit little-endian (host order on x86-64 and arm64) value at `offset`.
    func loadUInt64(at offset: Int) -> UInt64 {
        read(at: offset, count: 8).enumerated().reduce(0) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
    }

    /// Stores `value` little-endian at `offset`.
    func storeUInt64(_ value: UInt64, at offset: Int) {
        write((0..<8).map { UInt8(truncatingIfNeeded: value >> (8 * UInt64($0))) }, at: offset)
    }
}

extension Endpoint {
    /// The address of `offset` in the region, as an SGE of `length` bytes with another key.
    func sge(_ offset: Int, _ length: Int, lkey: LocalKey) -> ScatterGatherElement {
        ScatterGatherElement(address: address(offset), length: UInt32(length), lkey: lkey)
    }

    /// Registers another region over `[offset, offset + length)` of the buffer.
    func register(
        _ offset: Int = 0, _ length: Int, access: AccessFlags, onDemand: Bool? = nil, pd: ProtectionDomain? = nil
    ) throws -> MemoryRegion {
        let odp = onDemand ?? region.isOnDemand
        return try (pd ?? self.pd).registerMemoryRegion(
            address: address(offset), length: UInt64(length), access: odp ? access.union(.onDemand) : access,
            account: MemlockAccount(limitBytes: nil))
    }
}

// MARK: - Waiting

/// Polls `condition` until it holds or `timeout` passed; returns whether it held.
func eventually(timeout: Duration = .seconds(10), _ condition: () -> Bool) -> Bool {
    let deadline = ContinuousClock.now + timeout
    while !condition() {
        if ContinuousClock.now >= deadline { return false }
        Thread.yield()
    }
    return true
}

/// Runs `body(0..<count)` on `count` POSIX threads at once and waits for all of them.
/// (Issues must not be recorded from these threads: collect results and assert afterwards.)
func runOnThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
    final class Job: @unchecked Sendable {
        let body: @Sendable (Int) -> Void
        let index: Int
        init(body: @escaping @Sendable (Int) -> Void, index: Int) { self.body = body; self.index = index }
    }
    var threads: [pthread_t] = []
    for index in 0..<count {
        let job = Unmanaged.passRetained(Job(body: body, index: index)).toOpaque()
        var thread = pthread_t()
        let rc = pthread_create(&thread, nil, { context in
            let job = Unmanaged<Job>.fromOpaque(context!).takeRetainedValue()
            job.body(job.index)
            return nil
        }, job)
        precondition(rc == 0, "pthread_create failed")
        threads.append(thread)
    }
    for thread in threads { pthread_join(thread, nil) }
}

/// The statuses of `completions`, for readable failure messages.
func statuses(_ completions: [WorkCompletion]) -> [WorkCompletion.Status] { completions.map(\.status) }

/// `nil` when the bytes are equal; otherwise a short account of the first difference, so a failed
/// `#expect(mismatch(actual, expected) == nil)` does not print megabytes.
func mismatch(_ actual: [UInt8], _ expected: [UInt8]) -> String? {
    if actual == expected { return nil }
    let first = zip(actual, expected).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(actual.count, expected.count)
    let differing = zip(actual, expected).filter { $0 != $1 }.count + abs(actual.count - expected.count)
    func around(_ bytes: [UInt8]) -> String { bytes[first..<min(bytes.count, first + 8)].map { String($0) }.joined(separator: " ") }
    return "lengths \(actual.count)/\(expected.count), \(differing) bytes differ, first at \(first): [\(around(actual))] vs [\(around(expected))]"
}
