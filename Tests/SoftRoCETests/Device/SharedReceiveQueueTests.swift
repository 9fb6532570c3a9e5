import SoftRoCE
import SoftRoCEMemory
import Testing

/// Shared receive queues: QPs attached to one SRQ all take their receives from it, in posting
/// order, and an attached QP going to ERR does not flush the SRQ's receives.
@Suite("Shared receive queue", .timeLimit(.minutes(3)))
struct SharedReceiveQueueTests {
    struct Setup {
        let srq: SharedReceiveQueue
        let servers: [Endpoint]
        let clients: [Endpoint]
    }

    static func setUp(_ layout: Layout) throws -> Setup {
        let serverDevice = Device(name: "softroce-srq-s")
        let clientDevice = layout.twoDevices ? Device(name: "softroce-srq-c") : serverDevice
        let pd = serverDevice.allocateProtectionDomain()
        let srq = try serverDevice.createSharedReceiveQueue(protectionDomain: pd, maxWorkRequests: 16, maxScatterGatherElements: 2)
        let servers = try (0..<2).map { _ in
            try Endpoint(device: serverDevice, bufferSize: 1 << 16, onDemand: layout.serverODP, pd: pd, sharedReceiveQueue: srq)
        }
        let clients = try (0..<2).map { _ in try Endpoint(device: clientDevice, bufferSize: 1 << 16, onDemand: layout.clientODP) }
        for (client, server) in zip(clients, servers) {
            try client.connect(to: server)
            try server.connect(to: client)
        }
        return Setup(srq: srq, servers: servers, clients: clients)
    }

    @Test("Two QPs sharing an SRQ both receive, taking receives in posting order", arguments: Layout.all)
    func twoQueuePairsReceive(layout: Layout) throws {
        let setup = try Self.setUp(layout)
        defer { shutDown(setup.servers[0], setup.clients[0]) }
        let (srq, servers, clients) = (setup.srq, setup.servers, setup.clients)
        // Every receive points into servers[0]'s buffer (same PD), two SGEs each.
        let memory = servers[0]
        for index in 0..<4 {
            try srq.postReceive(ReceiveWorkRequest(
                id: UInt64(100 + index), scatterGatherList: [memory.sge(index * 8192, 1000), memory.sge(index * 8192 + 4096, 3000)]))
        }
        #expect(srq.count == 4)
        let order = [0, 1, 1, 0]
        for (step, sender) in order.enumerated() {
            let data = pattern(1500 + step, seed: UInt8(step))
            clients[sender].buffer.write(data, at: 0)
            try clients[sender].qp.postSend(.send(id: UInt64(step), scatterGatherList: [clients[sender].sge(0, data.count)], immediateData: UInt32(step)))
            let received = servers[sender].waitReceive()
            try #require(received.count == 1, "step \(step)")
            #expect(received[0].status == .success)
            #expect(received[0].wrID == UInt64(100 + step), "SRQ receives are consumed in posting order")
            #expect(received[0].qpNumber == servers[sender].qp.number, "the completion names the QP that received")
            #expect(received[0].byteLength == UInt32(data.count))
            #expect(received[0].immediateData == UInt32(step))
            #expect(mismatch(memory.buffer.read(at: step * 8192, count: 1000) + memory.buffer.read(at: step * 8192 + 4096, count: data.count - 1000), data) == nil)
            #expect(clients[sender].waitSend().first?.status == .success)
            #expect(srq.count == 3 - step)
        }
        #expect(servers.allSatisfy { $0.receiveCQ.count == 0 })
    }

    @Test("post_recv on a QP attached to an SRQ throws")
    func postReceiveOnAttachedQP() throws {
        let setup = try Self.setUp(Layout(twoDevices: false, clientODP: false, serverODP: false))
        defer { shutDown(setup.servers[0]) }
        let error = #expect(throws: VerbsError.self) {
            try setup.servers[0].qp.postReceive(ReceiveWorkRequest(id: 1, scatterGatherList: [setup.servers[0].sge(0, 8)]))
        }
        #expect(error?.code == .invalidState)
        let tooMany = #expect(throws: VerbsError.self) {
            try setup.srq.postReceive(ReceiveWorkRequest(id: 1, scatterGatherList: (0..<3).map { setup.servers[0].sge($0 * 8, 8) }))
        }
        #expect(tooMany?.code == .tooManyScatterGatherElements)
    }

    @Test("An attached QP entering ERR leaves the SRQ's receives to the other QP", arguments: [false, true])
    func errorDoesNotFlushSharedReceives(twoDevices: Bool) throws {
        let setup = try Self.setUp(Layout(twoDevices: twoDevices, clientODP: false, serverODP: false))
        defer { shutDown(setup.servers[0], setup.clients[0]) }
        for index in 0..<2 {
            try setup.srq.postReceive(ReceiveWorkRequest(id: UInt64(index), scatterGatherList: [setup.servers[0].sge(index * 4096, 4096)]))
        }
        try setup.servers[0].qp.modify(QueuePairAttributes(state: .error))
        #expect(setup.srq.count == 2)
        #expect(setup.servers[0].receiveCQ.count == 0, "SRQ receives are not flushed by one QP's error")

        setup.clients[1].buffer.write([1, 2, 3], at: 0)
        try setup.clients[1].qp.postSend(.send(id: 1, scatterGatherList: [setup.clients[1].sge(0, 3)]))
        let received = setup.servers[1].waitReceive()
        try #require(received.count == 1)
        #expect(received[0].wrID == 0 && received[0].status == .success)
        #expect(mismatch(setup.servers[0].buffer.read(at: 0, count: 3), [1, 2, 3]) == nil)
        #expect(setup.srq.count == 1)
    }
}
