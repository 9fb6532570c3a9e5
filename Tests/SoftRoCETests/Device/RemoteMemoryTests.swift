import SoftRoCE
import SoftRoCEMemory
import Testing

/// RDMA WRITE with immediate and RDMA READ (plain RDMA WRITE is covered by `OperationTests`):
/// data moves byte for byte, completions carry the right opcode and length, WRITE with immediate
/// consumes exactly one receive and delivers its immediate value.
@Suite("RDMA WRITE with immediate / RDMA READ", .timeLimit(.minutes(3)))
struct RemoteMemoryTests {
    static let sizes = [0, 1, 1000, 4097, 65536, 300_000]

    @Test("RDMA WRITE with immediate writes the data and consumes a receive", arguments: Layout.all, sizes)
    func writeWithImmediate(layout: Layout, size: Int) throws {
        let (client, server) = try connectedPair(layout)
        defer { shutDown(client, server) }
        let data = pattern(size, seed: 11)
        client.buffer.write(data, at: 300)
        server.buffer.fill(0xEE, count: 4096)
        // The receive needs no buffer: WRITE with immediate only uses its completion.
        try server.qp.postReceive(ReceiveWorkRequest(id: 41, scatterGatherList: []))
        try server.qp.postReceive(ReceiveWorkRequest(id: 42, scatterGatherList: [server.sge(0, 64)]))
        try client.qp.postSend(.rdmaWrite(
            id: 8, scatterGatherList: [client.sge(300, size)], remoteAddress: server.address(9000), rkey: server.region.rkey,
            immediateData: 0x0102_0304))

        let sent = client.waitSend()
        let received = server.waitReceive()
        try #require(sent.count == 1 && received.count == 1)
        #expect(sent[0].status == .success)
        #expect(sent[0].wrID == 8)
        #expect(sent[0].opcode == .rdmaWrite)
        #expect(received[0].status == .success)
        #expect(received[0].wrID == 41)
        #expect(received[0].opcode == .receiveRDMAWithImmediate)
        #expect(received[0].immediateData == 0x0102_0304)
        #expect(received[0].flags.contains(.withImmediate))
        #expect(received[0].byteLength == UInt32(size))
        #expect(received[0].qpNumber == server.qp.number)
        #expect(mismatch(server.buffer.read(at: 9000, count: size), data) == nil)
        #expect(mismatch(server.buffer.read(at: 0, count: 64), [UInt8](repeating: 0xEE, count: 64)) == nil, "the receive's buffer is not written")
        #expect(server.receiveCQ.count == 0, "exactly one receive consumed")
    }

    @Test("Plain RDMA WRITE consumes no receive", arguments: Layout.symmetric)
    func plainWriteConsumesNoReceive(layout: Layout) throws {
        let (client, server) = try connectedPair(layout)
        defer { shutDown(client, server) }
        try server.qp.postReceive(ReceiveWorkRequest(id: 1, scatterGatherList: [server.sge(0, 64)]))
        client.buffer.write(pattern(3000, seed: 2), at: 0)
        try client.qp.postSend(.rdmaWrite(id: 1, scatterGatherList: [client.sge(0, 3000)], remoteAddress: server.address(4096), rkey: server.region.rkey))
        // The SEND behind the WRITE must find the receive the WRITE left alone.
        try client.qp.postSend(.send(id: 2, scatterGatherList: [client.sge(0, 10)]))
        let sent = client.waitSend(2)
        let received = server.waitReceive()
        try #require(sent.count == 2 && received.count == 1)
        #expect(sent.allSatisfy { $0.status == .success })
        #expect(received[0].wrID == 1 && received[0].opcode == .receive && received[0].byteLength == 10)
        #expect(mismatch(server.buffer.read(at: 4096, count: 3000), pattern(3000, seed: 2)) == nil)
    }

    @Test("RDMA READ brings remote bytes into local memory", arguments: Layout.all, sizes)
    func read(layout: Layout, size: Int) throws {
        let (client, server) = try connectedPair(layout)
        defer { shutDown(client, server) }
        let data = pattern(size, seed: 13)
        server.buffer.write(data, at: 7000)
        client.buffer.fill(0xEE, count: size + 200)
        try client.qp.postSend(.rdmaRead(id: 21, scatterGatherList: [client.sge(100, size)], remoteAddress: server.address(7000), rkey: server.region.rkey))

        let completions = client.waitSend()
        try #require(completions.count == 1)
        #expect(completions[0].status == .success)
        #expect(completions[0].wrID == 21)
        #expect(completions[0].opcode == .rdmaRead)
        #expect(completions[0].byteLength == UInt32(size))
        #expect(mismatch(client.buffer.read(at: 100, count: size), data) == nil)
        #expect(mismatch(client.buffer.read(at: 0, count: 100), [UInt8](repeating: 0xEE, count: 100)) == nil)
        #expect(mismatch(client.buffer.read(at: 100 + size, count: 100), [UInt8](repeating: 0xEE, count: 100)) == nil)
        #expect(server.receiveCQ.count == 0, "READ consumes no receive")
    }

    @Test("RDMA READ scatters a multi-packet response over several local SGEs", arguments: Layout.all)
    func readIntoSeveralElements(layout: Layout) throws {
        let (client, server) = try connectedPair(layout)
        defer { shutDown(client, server) }
        let data = pattern(10_000, seed: 17)
        server.buffer.write(data, at: 123)
        let scatter = [(0, 1), (4000, 4999), (20000, 1024), (50000, 3976)]
        client.buffer.fill(0xEE, count: 60000)
        try client.qp.postSend(.rdmaRead(
            id: 2, scatterGatherList: scatter.map { client.sge($0.0, $0.1) }, remoteAddress: server.address(123), rkey: server.region.rkey))

        let completions = client.waitSend()
        try #require(completions.count == 1)
        #expect(completions[0].status == .success)
        #expect(completions[0].byteLength == 10_000)
        var offset = 0
        for (index, element) in scatter.enumerated() {
            #expect(mismatch(client.buffer.read(at: element.0, count: element.1), Array(data[offset..<offset + element.1])) == nil, "SGE \(index)")
            #expect(mismatch(client.buffer.read(at: element.0 + element.1, count: 1), [0xEE]) == nil, "SGE \(index) not overrun")
            offset += element.1
        }
    }

    @Test("A READ after WRITEs on the same QP sees their data", arguments: Layout.symmetric)
    func readAfterWrite(layout: Layout) throws {
        let (client, server) = try connectedPair(layout)
        defer { shutDown(client, server) }
        let data = pattern(20_000, seed: 29)
        client.buffer.write(data, at: 0)
        for chunk in 0..<4 {
            try client.qp.postSend(.rdmaWrite(
                id: UInt64(chunk), scatterGatherList: [client.sge(chunk * 5000, 5000)], remoteAddress: server.address(100_000 + chunk * 5000),
                rkey: server.region.rkey, flags: []))
        }
        try client.qp.postSend(.rdmaRead(id: 9, scatterGatherList: [client.sge(500_000, 20_000)], remoteAddress: server.address(100_000), rkey: server.region.rkey))
        let completions = client.waitSend()
        try #require(completions.count == 1)
        #expect(completions[0].wrID == 9 && completions[0].status == .success)
        #expect(mismatch(client.buffer.read(at: 500_000, count: 20_000), data) == nil)
    }

    @Test("Inline RDMA WRITE", arguments: Layout.symmetric)
    func inlineWrite(layout: Layout) throws {
        let (client, server) = try connectedPair(layout)
        defer { shutDown(client, server) }
        let data = pattern(120, seed: 31)
        client.buffer.write(data, at: 0)
        try client.qp.postSend(.rdmaWrite(
            id: 4, scatterGatherList: [client.sge(0, 120)], remoteAddress: server.address(777), rkey: server.region.rkey,
            flags: [.signaled, .inline]))
        client.buffer.fill(0, count: 120)
        let completions = client.waitSend()
        try #require(completions.count == 1)
        #expect(completions[0].status == .success && completions[0].opcode == .rdmaWrite)
        #expect(mismatch(server.buffer.read(at: 777, count: 120), data) == nil)
    }
}
