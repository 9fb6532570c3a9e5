import SoftRoCE
import SoftRoCEMemory
import Testing

private let page = Host.pageSize

/// test_odp.py's RC traffic tests (`test_odp_rc_traffic`, `test_odp_rc_rdma_write`,
/// `test_odp_rc_rdma_read`, `test_odp_rc_atomic_*`): every RC operation with ODP regions on both
/// sides, cold (fresh memory; then again after the pages were invalidated and dropped) and warm.
/// Cold runs fault on both sides — the responder answers RNR NAK while its fault is resolved —
/// and warm runs do not fault at all.
@Suite("ODP faults: cold and warm RC operations", .timeLimit(.minutes(3)))
struct ColdWarmOperationTests {
    enum Operation: String, CaseIterable, Sendable, CustomTestStringConvertible {
        case send, write, writeWithImmediate, read, fetchAdd, compareSwap
        var testDescription: String { rawValue }
        var isAtomic: Bool { self == .fetchAdd || self == .compareSwap }
    }

    /// Client bytes: an unaligned message over 4 pages; server bytes likewise, elsewhere.
    static let clientOffset = 100
    static let serverOffset = 16 * page + 200
    static let length = 3 * page
    /// The remote atomic word and the local result (on pages of their own).
    static let wordOffset = 40 * page + 64
    static let resultOffset = 44 * page + 8

    /// Runs `operation` once (round `round`), checking its completions and data byte for byte.
    static func perform(_ operation: Operation, round: Int, client: Endpoint, server: Endpoint) throws {
        let seed = UInt8(truncatingIfNeeded: 17 &* round &+ 3)
        let payload = pattern(length, seed: seed)
        let base = UInt64(1000 * round)
        let rkey = server.region.rkey
        let request: SendWorkRequest
        switch operation {
        case .send:
            client.buffer.write(payload, at: clientOffset)
            try server.qp.postReceive(ReceiveWorkRequest(id: UInt64(round), scatterGatherList: [server.sge(serverOffset, length)]))
            request = .send(id: UInt64(round), scatterGatherList: [client.sge(clientOffset, length)])
        case .write:
            client.buffer.write(payload, at: clientOffset)
            request = .rdmaWrite(id: UInt64(round), scatterGatherList: [client.sge(clientOffset, length)], remoteAddress: server.address(serverOffset), rkey: rkey)
        case .writeWithImmediate:
            client.buffer.write(payload, at: clientOffset)
            try server.qp.postReceive(ReceiveWorkRequest(id: UInt64(round), scatterGatherList: []))
            request = .rdmaWrite(
                id: UInt64(round), scatterGatherList: [client.sge(clientOffset, length)], remoteAddress: server.address(serverOffset),
                rkey: rkey, immediateData: 0xABCD_0000 | UInt32(round))
        case .read:
            server.buffer.write(payload, at: serverOffset)
            client.buffer.fill(0xEE, at: clientOffset, count: length)
            request = .rdmaRead(id: UInt64(round), scatterGatherList: [client.sge(clientOffset, length)], remoteAddress: server.address(serverOffset), rkey: rkey)
        case .fetchAdd:
            server.buffer.storeUInt64(base, at: wordOffset)
            client.buffer.storeUInt64(0xEEEE_EEEE_EEEE_EEEE, at: resultOffset)
            request = .atomicFetchAndAdd(id: UInt64(round), result: client.sge(resultOffset, 8), remoteAddress: server.address(wordOffset), rkey: rkey, add: 5)
        case .compareSwap:
            server.buffer.storeUInt64(base, at: wordOffset)
            client.buffer.storeUInt64(0xEEEE_EEEE_EEEE_EEEE, at: resultOffset)
            request = .atomicCompareAndSwap(
                id: UInt64(round), result: client.sge(resultOffset, 8), remoteAddress: server.address(wordOffset), rkey: rkey,
                compare: base, swap: base + 7)
        }
        let completion = try client.run(request)
        try #require(completion != nil, "\(operation) round \(round): no completion")
        #expect(completion?.status == .success, "\(operation) round \(round)")
        #expect(completion?.wrID == UInt64(round))

        switch operation {
        case .send, .writeWithImmediate:
            let received = server.waitReceive()
            try #require(received.count == 1, "\(operation) round \(round): no receive completion")
            #expect(received[0].status == .success)
            #expect(received[0].wrID == UInt64(round))
            if operation == .send {
                #expect(received[0].opcode == .receive && received[0].byteLength == UInt32(length))
            } else {
                #expect(received[0].opcode == .receiveRDMAWithImmediate)
                #expect(received[0].immediateData == 0xABCD_0000 | UInt32(round))
            }
            #expect(mismatch(server.buffer.read(at: serverOffset, count: length), payload) == nil)
        case .write:
            #expect(mismatch(server.buffer.read(at: serverOffset, count: length), payload) == nil)
        case .read:
            #expect(completion?.byteLength == UInt32(length))
            #expect(mismatch(client.buffer.read(at: clientOffset, count: length), payload) == nil)
        case .fetchAdd:
            #expect(client.buffer.loadUInt64(at: resultOffset) == base, "the original value came back")
            #expect(server.buffer.loadUInt64(at: wordOffset) == base + 5)
        case .compareSwap:
            #expect(client.buffer.loadUInt64(at: resultOffset) == base, "the original value came back")
            #expect(server.buffer.loadUInt64(at: wordOffset) == base + 7, "compare matched: swapped")
        }
    }

    /// The bytes each side's operation touches.
    static func touched(_ operation: Operation) -> (client: (Int, Int), server: (Int, Int)) {
        operation.isAtomic ? ((resultOffset, 8), (wordOffset, 8)) : ((clientOffset, length), (serverOffset, length))
    }

    /// Runs one cold round: both sides fault, the responder answers RNR NAK.
    static func coldRound(_ operation: Operation, round: Int, client: Endpoint, server: Endpoint, label: String) throws {
        let clientDevice = client.device.counters
        let serverDevice = server.device.counters
        let clientRegion = regionFaults(client.region)
        let serverRegion = regionFaults(server.region)
        try perform(operation, round: round, client: client, server: server)
        let clientDelta = CounterDelta(from: clientDevice, to: client.device.counters)
        let serverDelta = CounterDelta(from: serverDevice, to: server.device.counters)
        let minimumPages = operation.isAtomic ? 1 : 4
        #expect(regionFaults(server.region).faults > serverRegion.faults, "\(label): the responder faulted on its memory")
        #expect(regionFaults(server.region).pages - serverRegion.pages >= minimumPages, "\(label): responder pages")
        #expect(regionFaults(client.region).faults > clientRegion.faults, "\(label): the requester faulted on its local buffer")
        #expect(regionFaults(client.region).pages - clientRegion.pages >= minimumPages, "\(label): requester pages")
        #expect(serverDelta.pageFaults >= 1 && serverDelta.faultedPages >= minimumPages, "\(label): server device \(serverDelta)")
        #expect(clientDelta.pageFaults >= 1 && clientDelta.faultedPages >= minimumPages, "\(label): client device \(clientDelta)")
        #expect(serverDelta.rnrNaksSent > 0, "\(label): the responder answered its fault with RNR NAK (\(serverDelta))")
        #expect(clientDelta.rnrNaksReceived > 0, "\(label): the requester saw the RNR NAK (\(clientDelta))")
        #expect(serverDelta.failedFaults == 0 && clientDelta.failedFaults == 0)
    }

    /// Runs one warm round: no fault and no RNR NAK anywhere.
    static func warmRound(_ operation: Operation, round: Int, client: Endpoint, server: Endpoint, label: String) throws {
        let clientDevice = client.device.counters
        let serverDevice = server.device.counters
        let clientRegion = regionFaults(client.region)
        let serverRegion = regionFaults(server.region)
        try perform(operation, round: round, client: client, server: server)
        let clientDelta = CounterDelta(from: clientDevice, to: client.device.counters)
        let serverDelta = CounterDelta(from: serverDevice, to: server.device.counters)
        #expect(serverDelta.pageFaults == 0 && clientDelta.pageFaults == 0, "\(label): warm pages fault (server \(serverDelta); client \(clientDelta))")
        #expect(regionFaults(server.region) == serverRegion && regionFaults(client.region) == clientRegion, "\(label): region fault counters moved")
        #expect(serverDelta.rnrNaksSent == 0, "\(label): no RNR NAK for warm pages")
    }

    @Test(
        "Cold faults on both sides, warm runs do not fault; again after invalidate + MADV_DONTNEED",
        arguments: Operation.allCases, [(false, false), (true, false), (false, true)])
    func coldThenWarm(operation: Operation, layout: (twoDevices: Bool, pinnedEngine: Bool)) throws {
        let twoDevices = layout.twoDevices
        let (client, server) = try connectedPair(
            twoDevices: twoDevices, onDemand: (true, true), engineCPU: layout.pinnedEngine ? Host.allowedCPUs.last : nil)
        defer { shutDown(client, server) }
        #expect(client.umem?.mappedPageCount == 0 && server.umem?.mappedPageCount == 0, "fresh regions start unmapped")

        try Self.coldRound(operation, round: 1, client: client, server: server, label: "fresh")
        try Self.warmRound(operation, round: 2, client: client, server: server, label: "warm after fresh")

        // Reclaim: invalidate the entries and drop the pages on both sides, as the kernel's MMU
        // notifier would around MADV_DONTNEED; the application then writes its data again.
        let (clientBytes, serverBytes) = Self.touched(operation)
        let invalidationsBefore = server.device.counters.invalidations
        try client.makeCold(clientBytes.0, clientBytes.1)
        try server.makeCold(serverBytes.0, serverBytes.1)
        #expect(server.device.counters.invalidations > invalidationsBefore)
        #expect(server.umem?.pageAccess(at: server.address(serverBytes.0)) == [], "the invalidated entry is gone")
        #expect(client.umem?.pageAccess(at: client.address(clientBytes.0)) == [], "the invalidated entry is gone")
        #expect(try server.buffer.residentPages(at: serverBytes.0 / page * page, count: page) == [false], "MADV_DONTNEED dropped the page")

        try Self.coldRound(operation, round: 3, client: client, server: server, label: "after invalidation")
        try Self.warmRound(operation, round: 4, client: client, server: server, label: "warm after invalidation")
        #expect(client.qp.state == .readyToSend && server.qp.state == .readyToSend)
    }
}
