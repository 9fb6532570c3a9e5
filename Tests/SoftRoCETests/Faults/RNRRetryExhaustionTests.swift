import SoftRoCE
import SoftRoCEMemory
import Testing

private let page = Host.pageSize

/// test_odp.py's slow-fault scenario with a finite `rnr_retry`: the responder's fault takes
/// 200 ms (injected), so it keeps answering RNR NAK; with `rnr_retry` 1 or 2 and a 10 µs
/// `min_rnr_timer` the requester gives up with RNR_RETRY_EXC_ERR after exactly `rnr_retry`
/// retries; with `rnr_retry` 7 (infinite) the same WRITE succeeds once the fault is resolved.
@Suite("ODP faults: rnr_retry exhaustion on a slow fault", .timeLimit(.minutes(3)))
struct RNRRetryExhaustionTests {
    static let delay: Duration = .milliseconds(200)

    enum Operation: String, CaseIterable, Sendable, CustomTestStringConvertible {
        case write, read, send
        var testDescription: String { rawValue }
    }

    static func request(_ operation: Operation, client: Endpoint, server: Endpoint) throws -> SendWorkRequest {
        switch operation {
        case .write:
            return .rdmaWrite(id: 1, scatterGatherList: [client.sge(0, 512)], remoteAddress: server.address(3 * page + 8), rkey: server.region.rkey)
        case .read:
            return .rdmaRead(id: 1, scatterGatherList: [client.sge(0, 512)], remoteAddress: server.address(3 * page + 8), rkey: server.region.rkey)
        case .send:
            try server.qp.postReceive(ReceiveWorkRequest(id: 5, scatterGatherList: [server.sge(3 * page + 8, 512)]))
            return .send(id: 1, scatterGatherList: [client.sge(0, 512)])
        }
    }

    @Test("Finite rnr_retry against a 200 ms fault: RNR_RETRY_EXC_ERR after rnr_retry retries, the rest flushes",
          arguments: [UInt8(1), 2], [false, true])
    func exhausted(rnrRetry: UInt8, twoDevices: Bool) throws {
        // The client is pinned: only the responder faults (and only it is slowed).
        let (client, server) = try connectedPair(twoDevices: twoDevices, onDemand: (false, true), rnrRetry: rnrRetry, minRNRTimer: 1)
        defer { shutDown(client, server) }
        server.device.injectedFaultDelay = Self.delay
        #expect(server.device.injectedFaultDelay == Self.delay)
        client.buffer.write(pattern(512, seed: 71), at: 0)
        server.buffer.fill(0x5A, at: 3 * page, count: page)
        let before = client.device.counters
        let serverBefore = server.device.counters

        try client.qp.postSend(.rdmaWrite(id: 1, scatterGatherList: [client.sge(0, 512)], remoteAddress: server.address(3 * page + 8), rkey: server.region.rkey))
        try client.qp.postSend(.rdmaWrite(id: 2, scatterGatherList: [client.sge(0, 64)], remoteAddress: server.address(0), rkey: server.region.rkey))
        let completions = client.waitSend(2)
        try #require(completions.count == 2, "completions: \(statuses(completions))")
        #expect(completions[0].wrID == 1 && completions[0].status == .rnrRetryExceededError, "got \(completions[0].status)")
        #expect(completions[1].wrID == 2 && completions[1].status == .workRequestFlushError)
        #expect(client.qp.state == .error)
        let delta = CounterDelta(from: before, to: client.device.counters)
        let serverDelta = CounterDelta(from: serverBefore, to: server.device.counters)
        #expect(delta.rnrNaksReceived == Int(rnrRetry) + 1, "the first RNR NAK and one per retry: \(delta)")
        #expect(serverDelta.rnrNaksSent == Int(rnrRetry) + 1, "\(serverDelta)")
        // Nothing was written: the responder never got its page while the requester asked.
        #expect(mismatch(server.buffer.read(at: 3 * page, count: page), [UInt8](repeating: 0x5A, count: page)) == nil)
    }

    @Test("Finite rnr_retry against a 200 ms fault fails READ and SEND too", arguments: [Operation.read, .send])
    func exhaustedOtherOperations(operation: Operation) throws {
        let (client, server) = try connectedPair(twoDevices: true, onDemand: (false, true), rnrRetry: 1, minRNRTimer: 1)
        defer { shutDown(client, server) }
        server.device.injectedFaultDelay = Self.delay
        server.buffer.fill(0x5A, at: 3 * page, count: page)
        client.buffer.fill(0x11, count: 512)
        let completion = try client.run(Self.request(operation, client: client, server: server))
        #expect(completion?.status == .rnrRetryExceededError, "got \(String(describing: completion?.status))")
        #expect(client.qp.state == .error)
        #expect(mismatch(client.buffer.read(at: 0, count: 512), [UInt8](repeating: 0x11, count: 512)) == nil || operation == .send)
    }

    @Test("rnr_retry 7 (infinite) rides out the same 200 ms fault", arguments: Operation.allCases, [false, true])
    func infinite(operation: Operation, twoDevices: Bool) throws {
        let (client, server) = try connectedPair(twoDevices: twoDevices, onDemand: (false, true), rnrRetry: 7, minRNRTimer: 1)
        defer { shutDown(client, server) }
        server.device.injectedFaultDelay = Self.delay
        let data = pattern(512, seed: 72)
        if operation == .read { server.buffer.write(data, at: 3 * page + 8) } else { client.buffer.write(data, at: 0) }
        let before = client.device.counters
        let completion = try client.run(Self.request(operation, client: client, server: server))
        #expect(completion?.status == .success, "got \(String(describing: completion?.status))")
        switch operation {
        case .read:
            #expect(mismatch(client.buffer.read(at: 0, count: 512), data) == nil)
        case .write, .send:
            #expect(mismatch(server.buffer.read(at: 3 * page + 8, count: 512), data) == nil)
        }
        if operation == .send {
            let received = server.waitReceive()
            #expect(received.first?.status == .success && received.first?.byteLength == 512)
        }
        #expect(client.device.counters.rnrNaksReceived > before.rnrNaksReceived, "the requester backed off")
        #expect(client.qp.state == .readyToSend && server.qp.state == .readyToSend)
        // The injected delay shows in the fault latency (lower bound: it is a sleep).
        #expect(server.device.counters.faultLatencyP99Nanoseconds >= 190_000_000, "p99 \(server.device.counters.faultLatencyP99Nanoseconds) ns")
        // Without the delay the next cold fault is quick again, and nothing stayed stuck.
        server.device.injectedFaultDelay = .zero
        if operation == .read { server.buffer.write(data, at: 20 * page) } else { client.buffer.write(data, at: 0) }
        let next: SendWorkRequest = operation == .read
            ? .rdmaRead(id: 2, scatterGatherList: [client.sge(4 * page, 512)], remoteAddress: server.address(20 * page), rkey: server.region.rkey)
            : .rdmaWrite(id: 2, scatterGatherList: [client.sge(0, 512)], remoteAddress: server.address(20 * page), rkey: server.region.rkey)
        #expect(try client.run(next)?.status == .success)
    }

    @Test("rnr_retry 0: the first RNR NAK of a cold ODP target already fails the WRITE", arguments: [false, true])
    func rnrRetryZero(twoDevices: Bool) throws {
        let (client, server) = try connectedPair(twoDevices: twoDevices, onDemand: (false, true), rnrRetry: 0, minRNRTimer: 1)
        defer { shutDown(client, server) }
        client.buffer.write(pattern(256, seed: 73), at: 0)
        let before = client.device.counters
        let completion = try client.run(.rdmaWrite(id: 1, scatterGatherList: [client.sge(0, 256)], remoteAddress: server.address(page), rkey: server.region.rkey))
        #expect(completion?.status == .rnrRetryExceededError, "got \(String(describing: completion?.status))")
        #expect(client.device.counters.rnrNaksReceived - before.rnrNaksReceived == 1, "no retry at all")
        #expect(client.qp.state == .error)
        // The fault itself was still resolved: a new connection finds the page warm.
        #expect(eventually(timeout: .seconds(2)) { server.umem?.pageAccess(at: server.address(page)).contains(.write) == true })
    }

    @Test("The RNR retry budget is per message: rnr_retry 1 survives twenty cold WRITEs in a row", arguments: [false, true])
    func rnrBudgetResetsOnProgress(twoDevices: Bool) throws {
        // A 41 ms RNR timer: the resume hint (or, without it, the timer) lets each retry find its
        // page resolved, so every message needs exactly one RNR NAK of its budget of one.
        let (client, server) = try connectedPair(twoDevices: twoDevices, onDemand: (false, true), rnrRetry: 1, minRNRTimer: 24)
        defer { shutDown(client, server) }
        let count = 20
        for index in 0..<count { client.buffer.write(pattern(128, seed: UInt8(index)), at: index * 256) }
        let before = client.device.counters
        for index in 0..<count {
            try client.qp.postSend(.rdmaWrite(
                id: UInt64(index), scatterGatherList: [client.sge(index * 256, 128)], remoteAddress: server.address((2 * index + 1) * page + 64), rkey: server.region.rkey))
        }
        let completions = client.waitSend(count, timeout: .seconds(20))
        try #require(completions.count == count, "completions: \(statuses(completions))")
        #expect(completions.allSatisfy { $0.status == .success }, "\(statuses(completions))")
        #expect(completions.map(\.wrID) == (0..<UInt64(count)).map { $0 })
        for index in 0..<count {
            #expect(mismatch(server.buffer.read(at: (2 * index + 1) * page + 64, count: 128), pattern(128, seed: UInt8(index))) == nil, "WRITE \(index)")
        }
        let delta = CounterDelta(from: before, to: client.device.counters)
        #expect(delta.rnrNaksReceived >= count, "every cold page cost an RNR NAK: \(delta)")
    }
}
