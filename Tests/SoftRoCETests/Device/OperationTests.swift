import SoftRoCE
import SoftRoCEMemory
import Testing

@Suite("Operations round-trip", .timeLimit(.minutes(3)))
struct OperationTests {
    static let layouts: [(twoDevices: Bool, clientODP: Bool, serverODP: Bool)] = [
        (false, false, false), (false, true, true), (true, false, false), (true, true, true), (false, true, false), (true, false, true),
    ]
    static let sizes = [0, 1, 1000, 1024, 4097, 65536, 300_000]

    @Test("RDMA WRITE delivers every byte", arguments: layouts, sizes)
    func write(layout: (twoDevices: Bool, clientODP: Bool, serverODP: Bool), size: Int) throws {
        let (client, server) = try connectedPair(twoDevices: layout.twoDevices, onDemand: (layout.clientODP, layout.serverODP))
        let data = pattern(size, seed: 3)
        client.buffer.write(data, at: 100)
        try client.qp.postSend(.rdmaWrite(id: 7, scatterGatherList: [client.sge(100, size)], remoteAddress: server.address(5000), rkey: server.region.rkey))
        let completions = client.waitSend()
        try #require(completions.count == 1)
        #expect(completions[0].status == .success)
        #expect(completions[0].wrID == 7)
        #expect(completions[0].opcode == .rdmaWrite)
        #expect(server.buffer.read(at: 5000, count: size) == data)
    }
}
