import SoftRoCE
import SoftRoCEMemory
import Testing

/// Selective signaling: unsignaled send WRs produce no completion, a later signaled WR's
/// completion implies every earlier WR finished, `sq_sig_all` signals everything, and errors
/// always complete.
@Suite("Selective signaling", .timeLimit(.minutes(3)))
struct SignalingTests {
    @Test("Unsignaled WRs complete silently; the signaled one behind them implies they are done", arguments: Layout.all)
    func unsignaledThenSignaled(layout: Layout) throws {
        let (client, server) = try connectedPair(layout)
        defer { shutDown(client, server) }
        let count = 12
        for index in 0..<count {
            client.buffer.write(pattern(3000, seed: UInt8(index)), at: index * 4096)
        }
        try server.qp.postReceive(ReceiveWorkRequest(id: 70, scatterGatherList: [server.sge(900_000, 4096)]))
        for index in 0..<count {
            let request: SendWorkRequest = index == 5
                ? .send(id: UInt64(index), scatterGatherList: [client.sge(index * 4096, 3000)], flags: [])
                : .rdmaWrite(id: UInt64(index), scatterGatherList: [client.sge(index * 4096, 3000)], remoteAddress: server.address(index * 4096), rkey: server.region.rkey, flags: [])
            try client.qp.postSend(request)
        }
        try client.qp.postSend(.rdmaRead(id: 99, scatterGatherList: [client.sge(800_000, 64)], remoteAddress: server.address(0), rkey: server.region.rkey))

        let completions = client.waitSend()
        try #require(completions.count == 1)
        #expect(completions[0].wrID == 99)
        #expect(completions[0].status == .success)
        #expect(client.sendCQ.count == 0, "no completion for unsignaled WRs")
        for index in 0..<count where index != 5 {
            #expect(mismatch(server.buffer.read(at: index * 4096, count: 3000), pattern(3000, seed: UInt8(index))) == nil, "WRITE \(index) done")
        }
        let received = server.waitReceive()
        try #require(received.count == 1)
        #expect(received[0].wrID == 70 && received[0].status == .success && received[0].byteLength == 3000, "an unsignaled SEND still completes its receive")
        #expect(mismatch(server.buffer.read(at: 900_000, count: 3000), pattern(3000, seed: 5)) == nil)
        #expect(mismatch(client.buffer.read(at: 800_000, count: 64), pattern(3000, seed: 0).prefix(64).map { $0 }) == nil)
    }

    @Test("sq_sig_all signals WRs posted without the signaled flag")
    func signalAll() throws {
        let device = Device(name: "softroce-sig")
        defer { device.close() }
        let client = try Endpoint(device: device, signalsAll: true)
        let server = try Endpoint(device: device)
        try client.connect(to: server)
        try server.connect(to: client)
        for index in 0..<3 {
            try client.qp.postSend(.rdmaWrite(id: UInt64(index), scatterGatherList: [client.sge(0, 100)], remoteAddress: server.address(0), rkey: server.region.rkey, flags: []))
        }
        let completions = client.waitSend(3)
        #expect(completions.map(\.wrID) == [0, 1, 2])
        #expect(completions.allSatisfy { $0.status == .success && $0.opcode == .rdmaWrite })
    }

    @Test("An unsignaled WR that fails still completes, with its error", arguments: [false, true])
    func unsignaledErrorCompletes(twoDevices: Bool) throws {
        let (client, server) = try connectedPair(twoDevices: twoDevices)
        defer { shutDown(client, server) }
        try client.qp.postSend(.rdmaWrite(id: 1, scatterGatherList: [client.sge(0, 8)], remoteAddress: server.address(0), rkey: server.region.rkey, flags: []))
        try client.qp.postSend(.rdmaWrite(id: 2, scatterGatherList: [client.sge(0, 8)], remoteAddress: server.address(0), rkey: RemoteKey(rawValue: 0x00AB_CD07), flags: []))
        try client.qp.postSend(.rdmaWrite(id: 3, scatterGatherList: [client.sge(0, 8)], remoteAddress: server.address(0), rkey: server.region.rkey, flags: []))
        let completions = client.waitSend(2)
        try #require(completions.count == 2, "got \(statuses(completions))")
        #expect(completions[0].wrID == 2 && completions[0].status == .remoteAccessError)
        #expect(completions[1].wrID == 3 && completions[1].status == .workRequestFlushError, "flushed WRs complete even when unsignaled")
        #expect(client.qp.state == .error)
    }

    @Test("Completions leave the send CQ in posting order across opcodes", arguments: Layout.symmetric)
    func completionOrder(layout: Layout) throws {
        let (client, server) = try connectedPair(layout)
        defer { shutDown(client, server) }
        for index in 0..<4 { try server.qp.postReceive(ReceiveWorkRequest(id: UInt64(index), scatterGatherList: [server.sge(index * 8192, 8192)])) }
        var expected: [(UInt64, WorkCompletion.Opcode)] = []
        for round in 0..<4 {
            let base = UInt64(round * 10)
            try client.qp.postSend(.send(id: base, scatterGatherList: [client.sge(0, 5000)]))
            try client.qp.postSend(.rdmaRead(id: base + 1, scatterGatherList: [client.sge(100_000 + round * 8192, 5000)], remoteAddress: server.address(200_000), rkey: server.region.rkey))
            try client.qp.postSend(.atomicFetchAndAdd(id: base + 2, result: client.sge(300_000 + round * 8, 8), remoteAddress: server.address(400_000), rkey: server.region.rkey, add: 1))
            try client.qp.postSend(.rdmaWrite(id: base + 3, scatterGatherList: [client.sge(0, 2000)], remoteAddress: server.address(500_000), rkey: server.region.rkey))
            expected += [(base, .send), (base + 1, .rdmaRead), (base + 2, .fetchAndAdd), (base + 3, .rdmaWrite)]
        }
        let completions = client.waitSend(expected.count)
        try #require(completions.count == expected.count)
        #expect(completions.map(\.wrID) == expected.map(\.0))
        #expect(completions.map(\.opcode) == expected.map(\.1))
        #expect(completions.allSatisfy { $0.status == .success })
        #expect(server.buffer.loadUInt64(at: 400_000) == 4)
    }
}
