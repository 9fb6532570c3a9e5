import SoftRoCE
import SoftRoCEMemory
import Testing

/// RC SEND / RECV: the message lands in the posted receive byte for byte, the receive completion
/// carries opcode, length, immediate and QP numbers, gather and scatter lists are honoured on
/// both sides, inline sends copy at post time and the Solicited Event bit reaches the CQ.
@Suite("SEND / RECV", .timeLimit(.minutes(3)))
struct SendReceiveTests {
    static let sizes = [0, 1, 1000, 1024, 4097, 65536, 300_000]

    /// A receive completion of an RC SEND may leave `src_qp` unset (rxe) or name the sender (mlx5),
    /// but it must never name anything else.
    static func sourceIsPeerOrUnset(_ completion: WorkCompletion, peer: Endpoint) -> Bool {
        completion.sourceQPNumber == nil || completion.sourceQPNumber == peer.qp.number
    }

    @Test("SEND lands in the posted receive byte for byte", arguments: Layout.all, sizes)
    func send(layout: Layout, size: Int) throws {
        let (client, server) = try connectedPair(layout)
        defer { shutDown(client, server) }
        let data = pattern(size, seed: 5)
        client.buffer.write(data, at: 64)
        server.buffer.fill(0xEE, count: size + 64)
        try server.qp.postReceive(ReceiveWorkRequest(id: 900, scatterGatherList: [server.sge(32, size + 16)]))
        try client.qp.postSend(.send(id: 11, scatterGatherList: [client.sge(64, size)]))

        let sent = client.waitSend()
        let received = server.waitReceive()
        try #require(sent.count == 1)
        try #require(received.count == 1)
        #expect(sent[0].status == .success)
        #expect(sent[0].wrID == 11)
        #expect(sent[0].opcode == .send)
        #expect(sent[0].qpNumber == client.qp.number)

        let receive = received[0]
        #expect(receive.status == .success)
        #expect(receive.wrID == 900)
        #expect(receive.opcode == .receive)
        #expect(receive.byteLength == UInt32(size))
        #expect(receive.immediateData == nil)
        #expect(!receive.flags.contains(.withImmediate))
        #expect(!receive.flags.contains(.grh))
        #expect(receive.qpNumber == server.qp.number)
        #expect(Self.sourceIsPeerOrUnset(receive, peer: client))
        #expect(mismatch(server.buffer.read(at: 32, count: size), data) == nil)
        #expect(mismatch(server.buffer.read(at: 0, count: 32), [UInt8](repeating: 0xEE, count: 32)) == nil, "bytes before the receive buffer untouched")
        #expect(mismatch(server.buffer.read(at: 32 + size, count: 16), [UInt8](repeating: 0xEE, count: 16)) == nil, "receive room past the message untouched")
        #expect(client.sendCQ.count == 0 && server.receiveCQ.count == 0)
    }

    @Test("Multi-SGE gather at the sender and scatter at the receiver", arguments: Layout.all)
    func multipleScatterGatherElements(layout: Layout) throws {
        let (client, server) = try connectedPair(layout)
        defer { shutDown(client, server) }
        // Sender pieces: 100 + 3000 + 1 + 2500 = 5601 bytes (6 packets at MTU 1024).
        let gather = [(0, 100), (5000, 3000), (20000, 1), (40000, 2500)]
        let pieces = gather.enumerated().map { pattern($0.element.1, seed: UInt8(20 + $0.offset)) }
        for (index, piece) in gather.enumerated() { client.buffer.write(pieces[index], at: piece.0) }
        let message = pieces.flatMap { $0 }
        // Receiver pieces: 1500 + 7 + 4000 + 200 = 5707 bytes of room.
        let scatter = [(100, 1500), (9000, 7), (30000, 4000), (60000, 200)]
        server.buffer.fill(0xEE, count: 70000)
        try server.qp.postReceive(ReceiveWorkRequest(id: 5, scatterGatherList: scatter.map { server.sge($0.0, $0.1) }))
        try client.qp.postSend(.send(id: 6, scatterGatherList: gather.map { client.sge($0.0, $0.1) }))

        let sent = client.waitSend()
        let received = server.waitReceive()
        try #require(sent.count == 1 && received.count == 1)
        #expect(sent[0].status == .success && sent[0].wrID == 6)
        #expect(received[0].status == .success && received[0].wrID == 5)
        #expect(received[0].byteLength == UInt32(message.count))
        var offset = 0
        for (index, element) in scatter.enumerated() {
            let count = min(element.1, message.count - offset)
            #expect(mismatch(server.buffer.read(at: element.0, count: count), Array(message[offset..<offset + count])) == nil, "scatter element \(index)")
            offset += count
        }
        #expect(offset == message.count)
        #expect(mismatch(server.buffer.read(at: 60000 + 94, count: 106), [UInt8](repeating: 0xEE, count: 106)) == nil, "last element past the message untouched")
        #expect(mismatch(server.buffer.read(at: 100 + 1500, count: 16), [UInt8](repeating: 0xEE, count: 16)) == nil)
    }

    @Test("SEND with immediate delivers the immediate value", arguments: Layout.all, [0, 8, 3000])
    func sendWithImmediate(layout: Layout, size: Int) throws {
        let (client, server) = try connectedPair(layout)
        defer { shutDown(client, server) }
        let data = pattern(size, seed: 9)
        client.buffer.write(data, at: 0)
        try server.qp.postReceive(ReceiveWorkRequest(id: 1, scatterGatherList: [server.sge(0, 4096)]))
        try client.qp.postSend(.send(id: 2, scatterGatherList: [client.sge(0, size)], immediateData: 0xDEAD_BEEF))

        let sent = client.waitSend()
        let received = server.waitReceive()
        try #require(sent.count == 1 && received.count == 1)
        #expect(sent[0].status == .success)
        #expect(sent[0].opcode == .send)
        #expect(received[0].status == .success)
        #expect(received[0].opcode == .receive)
        #expect(received[0].immediateData == 0xDEAD_BEEF)
        #expect(received[0].flags.contains(.withImmediate))
        #expect(received[0].byteLength == UInt32(size))
        #expect(mismatch(server.buffer.read(at: 0, count: size), data) == nil)
    }

    @Test("Several SENDs consume receives in order", arguments: Layout.symmetric)
    func receivesConsumedInOrder(layout: Layout) throws {
        let (client, server) = try connectedPair(layout)
        defer { shutDown(client, server) }
        let sizes = [10, 2000, 0, 5000, 1]
        for index in sizes.indices {
            try server.qp.postReceive(ReceiveWorkRequest(id: UInt64(100 + index), scatterGatherList: [server.sge(index * 8192, 8192)]))
        }
        for (index, size) in sizes.enumerated() {
            client.buffer.write(pattern(size, seed: UInt8(index)), at: index * 8192)
            try client.qp.postSend(.send(id: UInt64(index), scatterGatherList: [client.sge(index * 8192, size)]))
        }
        let sent = client.waitSend(sizes.count)
        let received = server.waitReceive(sizes.count)
        try #require(sent.count == sizes.count && received.count == sizes.count)
        #expect(sent.map(\.wrID) == sizes.indices.map { UInt64($0) })
        #expect(sent.allSatisfy { $0.status == .success })
        #expect(received.map(\.wrID) == sizes.indices.map { UInt64(100 + $0) })
        #expect(received.map(\.byteLength) == sizes.map { UInt32($0) })
        for (index, size) in sizes.enumerated() {
            #expect(mismatch(server.buffer.read(at: index * 8192, count: size), pattern(size, seed: UInt8(index))) == nil)
        }
    }

    @Test("Inline SEND copies at post time and ignores the lkey", arguments: Layout.all)
    func inlineSend(layout: Layout) throws {
        let (client, server) = try connectedPair(layout)
        defer { shutDown(client, server) }
        let first = pattern(100, seed: 40)
        let second = pattern(28, seed: 41)
        client.buffer.write(first, at: 0)
        client.buffer.write(second, at: 8192)
        try server.qp.postReceive(ReceiveWorkRequest(id: 1, scatterGatherList: [server.sge(0, 256)]))
        // Inline data is copied by post_send: the lkey is not checked and the buffer may be reused at once.
        let bogus = LocalKey(rawValue: 0x00FF_FF7F)
        try client.qp.postSend(.send(
            id: 3, scatterGatherList: [client.sge(0, 100, lkey: bogus), client.sge(8192, 28, lkey: bogus)], immediateData: 77,
            flags: [.signaled, .inline]))
        client.buffer.fill(0, count: 16384)

        let sent = client.waitSend()
        let received = server.waitReceive()
        try #require(sent.count == 1 && received.count == 1)
        #expect(sent[0].status == .success)
        #expect(sent[0].wrID == 3)
        #expect(received[0].status == .success)
        #expect(received[0].byteLength == 128)
        #expect(received[0].immediateData == 77)
        #expect(mismatch(server.buffer.read(at: 0, count: 128), first + second) == nil)
    }

    @Test("Inline data beyond max_inline_data is rejected at post time")
    func inlineTooLong() throws {
        let (client, server) = try connectedPair(twoDevices: false)
        defer { shutDown(client, server) }
        let error = #expect(throws: VerbsError.self) {
            try client.qp.postSend(.send(id: 1, scatterGatherList: [client.sge(0, 129)], flags: [.signaled, .inline]))
        }
        #expect(error?.code == .inlineDataTooLong)
        #expect(client.qp.state == .readyToSend)
    }

    @Test("The Solicited Event bit fires a solicited-only CQ notification; an unsolicited SEND does not", arguments: Layout.symmetric)
    func solicitedEvent(layout: Layout) throws {
        let (client, server) = try connectedPair(layout)
        defer { shutDown(client, server) }
        try server.qp.postReceive([
            ReceiveWorkRequest(id: 1, scatterGatherList: [server.sge(0, 64)]),
            ReceiveWorkRequest(id: 2, scatterGatherList: [server.sge(64, 64)]),
        ])
        server.receiveCQ.requestNotification(solicitedOnly: true)

        try client.qp.postSend(.send(id: 1, scatterGatherList: [client.sge(0, 8)]))
        let unsolicited = server.waitReceive()
        try #require(unsolicited.count == 1)
        #expect(unsolicited[0].status == .success)
        #expect(server.receiveCQ.pendingEventCount == 0, "an unsolicited SEND must not fire a solicited-only notification")

        try client.qp.postSend(.send(id: 2, scatterGatherList: [client.sge(0, 8)], flags: [.signaled, .solicited]))
        let solicited = server.waitReceive()
        try #require(solicited.count == 1)
        #expect(solicited[0].status == .success && solicited[0].wrID == 2)
        #expect(server.receiveCQ.pendingEventCount == 1, "a solicited SEND fires the solicited-only notification")
        #expect(client.waitSend(2).count == 2)
    }

    @Test("A QP attached to no SRQ refuses more receives than max_recv_wr")
    func receiveQueueFull() throws {
        let device = Device(name: "softroce-rq")
        defer { device.close() }
        let endpoint = try Endpoint(device: device, bufferSize: 4096, depth: 2)
        try endpoint.qp.modify(QueuePairAttributes(state: .initialized, accessFlags: [], portNumber: 1, pkeyIndex: 0))
        try endpoint.qp.postReceive(ReceiveWorkRequest(id: 1, scatterGatherList: [endpoint.sge(0, 8)]))
        try endpoint.qp.postReceive(ReceiveWorkRequest(id: 2, scatterGatherList: [endpoint.sge(0, 8)]))
        let error = #expect(throws: VerbsError.self) {
            try endpoint.qp.postReceive(ReceiveWorkRequest(id: 3, scatterGatherList: [endpoint.sge(0, 8)]))
        }
        #expect(error?.code == .receiveQueueFull)
    }
}
