import SoftRoCE
import SoftRoCEMemory
import Testing

private let page = Host.pageSize

/// The requester hands the link batches of up to 16 runs. A batch that meets an RNR NAK part-way
/// (the responder ran out of receives) stops there: the runs after it are taken back and go out
/// once the back-off ends, in sequence, so no PSN sequence error NAK and no retransmission follow.
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
}
