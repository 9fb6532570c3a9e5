import SoftRoCE
import SoftRoCEMemory
import Testing

/// Messages longer than one link run (the in-process fabric carries at most 1 MiB per run): the
/// requester splits them into FIRST / MIDDLE / LAST runs, READ responses come back in several
/// runs, and every byte still lands where it belongs.
@Suite("Messages spanning several runs", .timeLimit(.minutes(3)))
struct MultiRunMessageTests {
    static let size = (5 << 19) + 777  // 2.5 MiB + 777: three runs, the last one partial
    static let buffer = 8 << 20

    @Test("SEND of several runs", arguments: Layout.symmetric)
    func send(layout: Layout) throws {
        let (client, server) = try connectedPair(layout, bufferSize: Self.buffer)
        defer { shutDown(client, server) }
        let data = pattern(Self.size, seed: 61)
        client.buffer.write(data, at: 0)
        try server.qp.postReceive(ReceiveWorkRequest(id: 1, scatterGatherList: [server.sge(0, 1 << 20), server.sge(4 << 20, 4 << 20)]))
        try client.qp.postSend(.send(id: 1, scatterGatherList: [client.sge(0, Self.size)], immediateData: 3))
        #expect(client.waitSend().first?.status == .success)
        let received = server.waitReceive()
        try #require(received.count == 1)
        #expect(received[0].status == .success)
        #expect(received[0].byteLength == UInt32(Self.size))
        #expect(received[0].immediateData == 3)
        #expect(mismatch(server.buffer.read(at: 0, count: 1 << 20) + server.buffer.read(at: 4 << 20, count: Self.size - (1 << 20)), data) == nil)
    }

    @Test("RDMA WRITE (with and without immediate) of several runs", arguments: Layout.symmetric, [false, true])
    func write(layout: Layout, withImmediate: Bool) throws {
        let (client, server) = try connectedPair(layout, bufferSize: Self.buffer)
        defer { shutDown(client, server) }
        let data = pattern(Self.size, seed: 62)
        client.buffer.write(data, at: 100)
        try server.qp.postReceive(ReceiveWorkRequest(id: 1, scatterGatherList: []))
        try client.qp.postSend(.rdmaWrite(
            id: 1, scatterGatherList: [client.sge(100, 1000), client.sge(1100, Self.size - 1000)], remoteAddress: server.address(3),
            rkey: server.region.rkey, immediateData: withImmediate ? 0xABCD : nil))
        #expect(client.waitSend().first?.status == .success)
        #expect(mismatch(server.buffer.read(at: 3, count: Self.size), data) == nil)
        if withImmediate {
            let received = server.waitReceive()
            try #require(received.count == 1)
            #expect(received[0].opcode == .receiveRDMAWithImmediate && received[0].immediateData == 0xABCD)
            #expect(received[0].byteLength == UInt32(Self.size))
        } else {
            #expect(server.receiveCQ.count == 0)
        }
    }

    @Test("RDMA READ of several runs", arguments: Layout.symmetric)
    func read(layout: Layout) throws {
        let (client, server) = try connectedPair(layout, bufferSize: Self.buffer)
        defer { shutDown(client, server) }
        let data = pattern(Self.size, seed: 63)
        server.buffer.write(data, at: 5)
        try client.qp.postSend(.rdmaRead(
            id: 1, scatterGatherList: [client.sge(0, 3 << 19), client.sge(4 << 20, Self.size - (3 << 19))], remoteAddress: server.address(5),
            rkey: server.region.rkey))
        let completions = client.waitSend()
        try #require(completions.count == 1)
        #expect(completions[0].status == .success)
        #expect(completions[0].byteLength == UInt32(Self.size))
        #expect(mismatch(client.buffer.read(at: 0, count: 3 << 19) + client.buffer.read(at: 4 << 20, count: Self.size - (3 << 19)), data) == nil)
    }

    @Test("Many READs outstanding beyond max_rd_atomic all complete with their data", arguments: Layout.symmetric)
    func manyReads(layout: Layout) throws {
        let (client, server) = try connectedPair(layout, bufferSize: 4 << 20)
        defer { shutDown(client, server) }
        let count = 100
        for index in 0..<count {
            server.buffer.write(pattern(3000, seed: UInt8(index)), at: index * 4096)
            try client.qp.postSend(.rdmaRead(id: UInt64(index), scatterGatherList: [client.sge(index * 4096, 3000)], remoteAddress: server.address(index * 4096), rkey: server.region.rkey))
        }
        let completions = client.waitSend(count)
        #expect(completions.map(\.wrID) == (0..<UInt64(count)).map { $0 })
        #expect(completions.allSatisfy { $0.status == .success })
        for index in 0..<count {
            #expect(mismatch(client.buffer.read(at: index * 4096, count: 3000), pattern(3000, seed: UInt8(index))) == nil)
        }
    }
}
