import SoftRoCE
import SoftRoCEMemory
import Testing

/// UD: a SEND lands after the 40-byte GRH area of the receive buffer, with the sender's QPN and
/// the GRH flag; a wrong Q_Key or a missing receive drops the datagram (counted, no completion);
/// a receive smaller than GRH + payload completes with LOC_LEN_ERR; a payload over the path MTU
/// fails at the sender.
@Suite("UD datagrams", .timeLimit(.minutes(3)))
struct DatagramTests {
    static let grh = 40
    static let qkey: UInt32 = 0x1111_1111

    /// A UD sender and receiver at RTS.
    static func datagramPair(_ layout: Layout) throws -> (client: Endpoint, server: Endpoint) {
        let first = Device(name: "softroce-ud-a")
        let second = layout.twoDevices ? Device(name: "softroce-ud-b") : first
        let client = try Endpoint(device: first, type: .ud, bufferSize: 1 << 16, onDemand: layout.clientODP)
        let server = try Endpoint(device: second, type: .ud, bufferSize: 1 << 16, onDemand: layout.serverODP)
        try client.activateDatagram(qkey: qkey)
        try server.activateDatagram(qkey: qkey)
        return (client, server)
    }

    static func destination(_ server: Endpoint, qkey: UInt32 = DatagramTests.qkey) -> DatagramDestination {
        DatagramDestination(
            addressHandle: AddressHandle(addressVector: AddressVector(destinationGID: server.device.gid)),
            remoteQPNumber: server.qp.number, remoteQKey: QKey(rawValue: qkey))
    }

    @Test("SEND lands after the 40-byte GRH area", arguments: Layout.all, [0, 1, 1000, 4096])
    func send(layout: Layout, size: Int) throws {
        let (client, server) = try Self.datagramPair(layout)
        defer { shutDown(client, server) }
        let data = pattern(size, seed: 12)
        client.buffer.write(data, at: 0)
        server.buffer.fill(0xEE, count: 8192)
        try server.qp.postReceive(ReceiveWorkRequest(id: 30, scatterGatherList: [server.sge(0, Self.grh + size + 16)]))
        try client.qp.postSend(.datagramSend(id: 3, scatterGatherList: [client.sge(0, size)], destination: Self.destination(server)))

        let sent = client.waitSend()
        let received = server.waitReceive()
        try #require(sent.count == 1 && received.count == 1)
        #expect(sent[0].status == .success)
        #expect(sent[0].opcode == .send)
        #expect(sent[0].wrID == 3)
        let receive = received[0]
        #expect(receive.status == .success)
        #expect(receive.wrID == 30)
        #expect(receive.opcode == .receive)
        #expect(receive.byteLength == UInt32(Self.grh + size))
        #expect(receive.flags.contains(.grh))
        #expect(receive.immediateData == nil)
        #expect(receive.sourceQPNumber == client.qp.number)
        #expect(receive.qpNumber == server.qp.number)
        #expect(mismatch(server.buffer.read(at: Self.grh, count: size), data) == nil)
        #expect(mismatch(server.buffer.read(at: Self.grh + size, count: 16), [UInt8](repeating: 0xEE, count: 16)) == nil)
    }

    @Test("SEND with immediate, scattered over several receive SGEs", arguments: Layout.symmetric)
    func sendWithImmediateScattered(layout: Layout) throws {
        let (client, server) = try Self.datagramPair(layout)
        defer { shutDown(client, server) }
        let data = pattern(1500, seed: 13)
        client.buffer.write(data, at: 0)
        // GRH into its own 40-byte element, then the payload over two more.
        try server.qp.postReceive(ReceiveWorkRequest(id: 1, scatterGatherList: [server.sge(0, 40), server.sge(4096, 1000), server.sge(8192, 1000)]))
        try client.qp.postSend(.datagramSend(id: 1, scatterGatherList: [client.sge(0, 700), client.sge(700, 800)], destination: Self.destination(server), immediateData: 0x5151))
        let received = server.waitReceive()
        try #require(received.count == 1)
        #expect(received[0].status == .success)
        #expect(received[0].immediateData == 0x5151)
        #expect(received[0].flags.contains(.withImmediate) && received[0].flags.contains(.grh))
        #expect(received[0].byteLength == 1540)
        #expect(mismatch(server.buffer.read(at: 4096, count: 1000) + server.buffer.read(at: 8192, count: 500), data) == nil)
        #expect(client.waitSend().first?.status == .success)
    }

    @Test("Several senders: each receive names its sender's QP", arguments: [false, true])
    func sourceQueuePairs(twoDevices: Bool) throws {
        let layout = Layout(twoDevices: twoDevices, clientODP: false, serverODP: false)
        let (client, server) = try Self.datagramPair(layout)
        let other = try Endpoint(device: client.device, type: .ud, bufferSize: 4096)
        try other.activateDatagram(qkey: Self.qkey)
        defer { shutDown(client, server) }
        try server.qp.postReceive((0..<4).map { ReceiveWorkRequest(id: UInt64($0), scatterGatherList: [server.sge($0 * 1024, 1024)]) })
        for round in 0..<2 {
            try client.qp.postSend(.datagramSend(id: 1, scatterGatherList: [client.sge(0, 1)], destination: Self.destination(server)))
            #expect(server.waitReceive().first?.sourceQPNumber == client.qp.number, "round \(round)")
            try other.qp.postSend(.datagramSend(id: 2, scatterGatherList: [other.sge(0, 1)], destination: Self.destination(server)))
            #expect(server.waitReceive().first?.sourceQPNumber == other.qp.number, "round \(round)")
        }
    }

    @Test("A wrong Q_Key is dropped and counted; a controlled Q_Key sends the QP's own", arguments: Layout.symmetric)
    func qkeyMismatch(layout: Layout) throws {
        let (client, server) = try Self.datagramPair(layout)
        defer { shutDown(client, server) }
        client.buffer.write(pattern(64, seed: 1), at: 0)
        client.buffer.write(pattern(64, seed: 2), at: 64)
        try server.qp.postReceive(ReceiveWorkRequest(id: 10, scatterGatherList: [server.sge(0, 1024)]))
        try server.qp.postReceive(ReceiveWorkRequest(id: 11, scatterGatherList: [server.sge(1024, 1024)]))
        let droppedBefore = server.device.counters.droppedPackets
        try client.qp.postSend(.datagramSend(id: 1, scatterGatherList: [client.sge(0, 64)], destination: Self.destination(server, qkey: 0x2222_2222)))
        try client.qp.postSend(.datagramSend(id: 2, scatterGatherList: [client.sge(64, 64)], destination: Self.destination(server)))

        let sent = client.waitSend(2)
        #expect(sent.map(\.wrID) == [1, 2])
        #expect(sent.allSatisfy { $0.status == .success }, "UD senders do not learn about drops")
        let received = server.waitReceive()
        try #require(received.count == 1)
        #expect(received[0].wrID == 10, "the dropped datagram consumed no receive")
        #expect(mismatch(server.buffer.read(at: Self.grh, count: 64), pattern(64, seed: 2)) == nil)
        #expect(server.receiveCQ.count == 0)
        #expect(server.device.counters.droppedPackets - droppedBefore == 1)

        // A controlled Q_Key (high bit set) is replaced by the sending QP's own Q_Key, which matches.
        try client.qp.postSend(.datagramSend(id: 3, scatterGatherList: [client.sge(0, 64)], destination: Self.destination(server, qkey: 0x8000_0000)))
        let controlled = server.waitReceive()
        try #require(controlled.count == 1)
        #expect(controlled[0].wrID == 11 && controlled[0].status == .success)
        #expect(mismatch(server.buffer.read(at: 1024 + Self.grh, count: 64), pattern(64, seed: 1)) == nil)
    }

    @Test("No receive posted: the datagram is dropped and counted", arguments: [false, true])
    func noReceive(twoDevices: Bool) throws {
        let (client, server) = try Self.datagramPair(Layout(twoDevices: twoDevices, clientODP: false, serverODP: false))
        defer { shutDown(client, server) }
        let droppedBefore = server.device.counters.droppedPackets
        try client.qp.postSend(.datagramSend(id: 1, scatterGatherList: [client.sge(0, 10)], destination: Self.destination(server)))
        #expect(client.waitSend().first?.status == .success)
        #expect(server.device.counters.droppedPackets - droppedBefore == 1)
        try server.qp.postReceive(ReceiveWorkRequest(id: 5, scatterGatherList: [server.sge(0, 1024)]))
        client.buffer.write([9, 8, 7], at: 0)
        try client.qp.postSend(.datagramSend(id: 2, scatterGatherList: [client.sge(0, 3)], destination: Self.destination(server)))
        let received = server.waitReceive()
        try #require(received.count == 1)
        #expect(received[0].wrID == 5 && received[0].byteLength == 43)
        #expect(mismatch(server.buffer.read(at: Self.grh, count: 3), [9, 8, 7]) == nil)
    }

    @Test("A receive smaller than GRH + payload completes with LOC_LEN_ERR", arguments: Layout.symmetric, [0, 100])
    func receiveTooSmall(layout: Layout, size: Int) throws {
        let (client, server) = try Self.datagramPair(layout)
        defer { shutDown(client, server) }
        try server.qp.postReceive(ReceiveWorkRequest(id: 1, scatterGatherList: [server.sge(0, Self.grh + size - 1)]))
        try client.qp.postSend(.datagramSend(id: 1, scatterGatherList: [client.sge(0, size)], destination: Self.destination(server)))
        let received = server.waitReceive()
        try #require(received.count == 1)
        #expect(received[0].wrID == 1)
        #expect(received[0].status == .localLengthError)
        #expect(client.waitSend().first?.status == .success)
    }

    @Test("A payload over the path MTU fails at the sender and nothing arrives", arguments: Layout.symmetric)
    func payloadOverMTU(layout: Layout) throws {
        let (client, server) = try Self.datagramPair(layout)
        defer { shutDown(client, server) }
        let mtu = client.device.port.activeMTU.bytes
        try server.qp.postReceive(ReceiveWorkRequest(id: 1, scatterGatherList: [server.sge(0, 2 * mtu)]))
        try client.qp.postSend(.datagramSend(id: 1, scatterGatherList: [client.sge(0, mtu + 1)], destination: Self.destination(server)))
        let sent = client.waitSend()
        try #require(sent.count == 1)
        #expect(sent[0].wrID == 1)
        #expect([WorkCompletion.Status.localLengthError, .localQPOperationError].contains(sent[0].status), "got \(sent[0].status)")
        #expect(server.receiveCQ.count == 0, "nothing was delivered")
    }

    @Test("UD QPs refuse RDMA opcodes and sends without a destination at post time")
    func postTimeChecks() throws {
        let (client, server) = try Self.datagramPair(Layout(twoDevices: false, clientODP: false, serverODP: false))
        defer { shutDown(client, server) }
        let write = #expect(throws: VerbsError.self) {
            try client.qp.postSend(.rdmaWrite(id: 1, scatterGatherList: [client.sge(0, 8)], remoteAddress: server.address(0), rkey: server.region.rkey))
        }
        #expect(write?.code == .opcodeNotSupported)
        let missing = #expect(throws: VerbsError.self) {
            try client.qp.postSend(.send(id: 1, scatterGatherList: [client.sge(0, 8)]))
        }
        #expect(missing?.code == .missingDatagramDestination)
        #expect(client.qp.state == .readyToSend)
    }
}
