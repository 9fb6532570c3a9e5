import SoftRoCE
import SoftRoCEMemory
import Testing

private let page = Host.pageSize

/// The requester hands the link batches of up to 16 runs. A batch that meets an RNR NAK part-way
/// (the responder ran out of receives) stops there: the runs after it are taken back and go out
/// once the back-off ends, in sequence, so no PSN sequence error NAK and no retransmission follow.
/// A WQE that fails validation fails only after the requests before it completed by their
/// acknowledgement.
@Suite("Requester batches", .timeLimit(.minutes(3)))
struct RequesterBatchTests {
    static let count = 16
    static let length = 3000
    static let receivesAtFirst = 4

    @Test("An RNR NAK part-way through a batch stops it; the rest follows in sequence, data intact", arguments: [false, true])
    func rnrMidBatch(twoDevices: Bool) throws {
        let (client, server) = try connectedPair(twoDevices: twoDevices, onDemand: (true, false))
        defer { shutDown(client, server) }
        let payloads = (0..<Self.count).map { pattern(Self.length, seed: UInt8(truncatingIfNeeded: 3 * $0 + 1)) }
        let offsets = (0..<Self.count).map { $0 * page }
        #expect(try client.pd.adviseMemory(.write, scatterGatherList: [client.sge(0, Self.count * page)]) > 0)
        // The first SEND's source is cold: the send queue stalls on its fault while the other 15
        // are posted, so the requester finds all 16 queued and builds them into one batch.
        try client.makeCold(0, page)
        for index in 0..<Self.count { client.buffer.write(payloads[index], at: offsets[index]) }
        for index in 0..<Self.receivesAtFirst {
            try server.qp.postReceive(ReceiveWorkRequest(id: UInt64(index), scatterGatherList: [server.sge(offsets[index], Self.length)]))
        }
        let before = client.device.counters

        for index in 0..<Self.count {
            try client.qp.postSend(.send(id: UInt64(index), scatterGatherList: [client.sge(offsets[index], Self.length)]))
        }
        #expect(eventually { client.device.counters.rnrNaksReceived > before.rnrNaksReceived }, "the fifth SEND found no receive")
        for index in Self.receivesAtFirst..<Self.count {
            try server.qp.postReceive(ReceiveWorkRequest(id: UInt64(index), scatterGatherList: [server.sge(offsets[index], Self.length)]))
        }

        let completions = client.waitSend(Self.count)
        try #require(completions.count == Self.count, "completions: \(statuses(completions))")
        #expect(completions.map(\.wrID) == (0..<UInt64(Self.count)).map { $0 }, "completed in order")
        #expect(completions.allSatisfy { $0.status == .success }, "\(Set(statuses(completions)))")
        let received = server.waitReceive(Self.count)
        #expect(received.map(\.wrID) == (0..<UInt64(Self.count)).map { $0 })
        #expect(received.allSatisfy { $0.status == .success && $0.byteLength == UInt32(Self.length) })
        for index in 0..<Self.count {
            #expect(server.buffer.read(at: offsets[index], count: Self.length) == payloads[index], "SEND \(index)")
        }
        let after = client.device.counters
        #expect(after.pageFaults > before.pageFaults, "the first SEND faulted")
        #expect(after.retransmits == before.retransmits, "no sequence error: nothing went out past the RNR NAK")
    }

    @Test("A WQE with a dead lkey in a stream of WRITEs: the WQEs before it succeed, it fails with LOC_PROT_ERR, the rest flush", arguments: [5, 16], [false, true])
    func invalidKeyAfterBatchedRequests(badIndex: Int, twoDevices: Bool) throws {
        let (client, server) = try connectedPair(twoDevices: twoDevices, onDemand: (true, false))
        defer { shutDown(client, server) }
        let count = 24
        let payloads = (0..<count).map { pattern(Self.length, seed: UInt8(truncatingIfNeeded: 5 * $0 + 2)) }
        #expect(try client.pd.adviseMemory(.write, scatterGatherList: [client.sge(0, count * page)]) > 0)
        // The first WRITE's source is cold: the others queue up behind its fault.
        try client.makeCold(0, page)
        for index in 0..<count { client.buffer.write(payloads[index], at: index * page) }
        let deadKey = LocalKey(rawValue: client.region.lkey.rawValue ^ 0x80)
        for index in 0..<count {
            var sge = client.sge(index * page, Self.length)
            if index == badIndex { sge = ScatterGatherElement(address: sge.address, length: sge.length, lkey: deadKey) }
            try client.qp.postSend(.rdmaWrite(
                id: UInt64(index), scatterGatherList: [sge], remoteAddress: server.address(index * page), rkey: server.region.rkey))
        }
        let completions = client.waitSend(count)
        try #require(completions.count == count, "completions: \(statuses(completions))")
        #expect(completions.map(\.wrID) == (0..<UInt64(count)).map { $0 }, "completed in order")
        #expect(completions[..<badIndex].allSatisfy { $0.status == .success }, "\(statuses(completions))")
        #expect(completions[badIndex].status == .localProtectionError)
        #expect(completions[(badIndex + 1)...].allSatisfy { $0.status == .workRequestFlushError })
        for index in 0..<badIndex {
            #expect(server.buffer.read(at: index * page, count: Self.length) == payloads[index], "WRITE \(index)")
        }
        #expect(client.qp.state == .error)
    }
}
