import SoftRoCE
import SoftRoCEMemory
import Testing

private let page = Host.pageSize

/// Requester-side faults stall the send queue instead of involving the peer: the client's ODP
/// source (or READ destination) was invalidated, dropped and refilled by the application; the
/// server is pinned. Many work requests queued behind the faulting one complete in order with
/// the right data; the client's fault counters grow; no RNR NAK is involved.
@Suite("ODP faults: requester faults stall the send queue", .timeLimit(.minutes(3)))
struct RequesterFaultStallTests {
    enum Operation: String, CaseIterable, Sendable, CustomTestStringConvertible {
        case write, send, read
        var testDescription: String { rawValue }
    }

    static let count = 48
    /// Each WQE's bytes: unaligned, crossing a page boundary; spread so many pages fault.
    static func offset(_ index: Int) -> Int { index * 3 * page / 2 + 777 }
    static let length = page + 100

    @Test("Many WQEs over invalidated, dropped and refilled ODP pages complete in order, data intact, no RNR", arguments: Operation.allCases, [false, true])
    func stall(operation: Operation, twoDevices: Bool) throws {
        let (client, server) = try connectedPair(twoDevices: twoDevices, onDemand: (true, false))
        defer { shutDown(client, server) }
        let span = Self.offset(Self.count - 1) + Self.length
        // Warm the whole client range once, so the faults below are caused by the invalidation.
        #expect(try client.pd.adviseMemory(.write, scatterGatherList: [client.sge(0, span)]) > 0)
        #expect(client.umem!.mappedPageCount > 0)

        // Reclaim, then the application writes its data again (pages resident, entries gone).
        try client.makeCold(0, span)
        #expect(client.umem!.mappedPageCount == 0)
        let payloads = (0..<Self.count).map { pattern(Self.length, seed: UInt8(truncatingIfNeeded: $0 &* 5 &+ 1)) }
        for index in 0..<Self.count {
            switch operation {
            case .write, .send: client.buffer.write(payloads[index], at: Self.offset(index))
            case .read:
                client.buffer.fill(0xEE, at: Self.offset(index), count: Self.length)
                server.buffer.write(payloads[index], at: Self.offset(index))
            }
        }
        if operation == .send {
            for index in 0..<Self.count {
                try server.qp.postReceive(ReceiveWorkRequest(id: UInt64(index), scatterGatherList: [server.sge(Self.offset(index), Self.length)]))
            }
        }
        let clientBefore = client.device.counters
        let serverBefore = server.device.counters
        let regionBefore = regionFaults(client.region)

        for index in 0..<Self.count {
            let local = [client.sge(Self.offset(index), Self.length)]
            let remote = server.address(Self.offset(index))
            let request: SendWorkRequest = switch operation {
            case .write: .rdmaWrite(id: UInt64(index), scatterGatherList: local, remoteAddress: remote, rkey: server.region.rkey)
            case .send: .send(id: UInt64(index), scatterGatherList: local)
            case .read: .rdmaRead(id: UInt64(index), scatterGatherList: local, remoteAddress: remote, rkey: server.region.rkey)
            }
            try client.qp.postSend(request)
        }
        let completions = client.waitSend(Self.count)
        try #require(completions.count == Self.count, "completions: \(completions.count), \(statuses(completions).prefix(4))")
        #expect(completions.map(\.wrID) == (0..<UInt64(Self.count)).map { $0 }, "completed in order")
        #expect(completions.allSatisfy { $0.status == .success }, "\(Set(statuses(completions)))")

        var wrong: [Int] = []
        for index in 0..<Self.count {
            let landed = operation == .read
                ? client.buffer.read(at: Self.offset(index), count: Self.length)
                : server.buffer.read(at: Self.offset(index), count: Self.length)
            if landed != payloads[index] { wrong.append(index) }
        }
        #expect(wrong.isEmpty, "WQEs with wrong data: \(wrong)")
        if operation == .send {
            let received = server.waitReceive(Self.count)
            #expect(received.count == Self.count)
            #expect(received.map(\.wrID) == (0..<UInt64(Self.count)).map { $0 })
            #expect(received.allSatisfy { $0.status == .success && $0.byteLength == UInt32(Self.length) })
        }

        let clientDelta = CounterDelta(from: clientBefore, to: client.device.counters)
        let serverDelta = CounterDelta(from: serverBefore, to: server.device.counters)
        #expect(clientDelta.pageFaults >= 1, "requester faults resolved: \(clientDelta)")
        #expect(regionFaults(client.region).pages - regionBefore.pages >= (span + page - 1) / page, "every invalidated page faulted back in")
        #expect(clientDelta.rnrNaksReceived == 0, "no RNR NAK: \(clientDelta)")
        #expect(serverDelta.rnrNaksSent == 0, "no RNR NAK: \(serverDelta)")
        if twoDevices {
            #expect(serverDelta.pageFaults == 0, "the pinned server never faults")
        }
        #expect(client.qp.state == .readyToSend && server.qp.state == .readyToSend)
    }

    @Test("A slow requester fault (50 ms) holds the queue: later WQEs wait, then complete in order")
    func slowStall() throws {
        let (client, server) = try connectedPair(twoDevices: true, onDemand: (true, false))
        defer { shutDown(client, server) }
        client.device.injectedFaultDelay = .milliseconds(50)
        // WQE 0 faults (cold source); WQEs 1...7 use warm pages behind it.
        client.buffer.write(pattern(page, seed: 90), at: 64 * page)
        #expect(try client.pd.adviseMemory(.read, scatterGatherList: [client.sge(0, 8 * page)]) == 8)
        for index in 1..<8 { client.buffer.write(pattern(64, seed: UInt8(90 + index)), at: index * page) }
        try client.qp.postSend(.rdmaWrite(id: 0, scatterGatherList: [client.sge(64 * page, page)], remoteAddress: server.address(0), rkey: server.region.rkey))
        for index in 1..<8 {
            try client.qp.postSend(.rdmaWrite(id: UInt64(index), scatterGatherList: [client.sge(index * page, 64)], remoteAddress: server.address(16 * page + index * 64), rkey: server.region.rkey))
        }
        #expect(client.sendCQ.poll(maxEntries: 8).isEmpty, "nothing overtakes the stalled WQE")
        let completions = client.waitSend(8)
        try #require(completions.count == 8, "completions: \(statuses(completions))")
        #expect(completions.map(\.wrID) == Array(0..<8))
        #expect(completions.allSatisfy { $0.status == .success })
        #expect(mismatch(server.buffer.read(at: 0, count: page), pattern(page, seed: 90)) == nil)
        for index in 1..<8 {
            #expect(mismatch(server.buffer.read(at: 16 * page + index * 64, count: 64), pattern(64, seed: UInt8(90 + index))) == nil)
        }
        #expect(client.device.counters.rnrNaksReceived == 0)
        #expect(client.device.counters.faultLatencyP50Nanoseconds >= 45_000_000, "the injected delay is part of the fault latency")
    }
}
