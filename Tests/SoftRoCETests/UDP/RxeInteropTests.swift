import SoftRoCE
import SoftRoCEMemory
import SoftRoCEVectors
import SoftRoCEWire
import Testing

/// A link that keeps what the device transmits, each run with a copy of its payload.
private final class RecordingLink: PacketLink, Sendable {
    struct Transmitted: @unchecked Sendable {
        var run: PacketRun
        var payload: [UInt8]
    }

    private let address: GID
    private let transmitted = LockedValue<[Transmitted]>([])

    init(address: GID) { self.address = address }

    var maxRunPayload: Int { 0 }
    func assignGID() -> GID { address }
    func attach(_ device: Device, at gid: GID) {}
    func detach(_ device: Device) {}

    func transmit(_ run: PacketRun, payload: MappedBytes?, from source: GID, to destination: GID) {
        let bytes = payload?.bytes() ?? []
        transmitted.withLockedValue { $0.append(Transmitted(run: run, payload: bytes)) }
    }

    /// The `index`-th run transmitted, waiting for it up to 5 s.
    func run(_ index: Int) -> Transmitted? {
        var result: Transmitted?
        _ = eventually(timeout: .seconds(5)) {
            result = transmitted.withLockedValue { index < $0.count ? $0[index] : nil }
            return result != nil
        }
        return result
    }
}

/// A device standing where rxe's server stood: a recording link at the server's address, one CQ
/// for both queues, a QP of `type` (the device's first: QPN 0x11, as in the captured exchanges)
/// and 8 KiB of registered memory, receives at its start and sends from 4096.
private struct ReplayServer {
    let link: RecordingLink
    let device: Device
    let completionQueue: CompletionQueue
    let queuePair: QueuePair
    let memory: AnonymousMemory
    let region: MemoryRegion

    init(type: QueuePairType, name: String) throws {
        link = RecordingLink(address: GID(ipv4: RxeInteropTests.server.rawValue))
        device = Device(name: name, link: link, activeMTU: .mtu1024)
        let pd = device.allocateProtectionDomain()
        completionQueue = try device.createCompletionQueue(capacity: 16)
        queuePair = try device.createQueuePair(
            type: type, protectionDomain: pd, sendCompletionQueue: completionQueue, receiveCompletionQueue: completionQueue,
            capabilities: QueuePairCapabilities(maxSendWR: 1, maxReceiveWR: 8, maxSendSGE: 1, maxReceiveSGE: 1))
        memory = try AnonymousMemory(length: 8192)
        region = try pd.registerMemoryRegion(address: memory.address, length: 8192, access: [.localWrite])
    }

    /// An SGE of `length` bytes at `offset` of the memory.
    func sge(_ offset: Int, _ length: Int) -> ScatterGatherElement {
        ScatterGatherElement(address: memory.address + UInt64(offset), length: UInt32(length), lkey: region.lkey)
    }

    /// Delivers a packet the client sent (its ICRC checked against the captured headers) as a run
    /// of one packet; returns the run and its payload.
    func deliver(_ captured: CapturedRoCEPacket) throws -> (run: PacketRun, payload: [UInt8]) {
        let packet = try RoCEPacket(decoding: captured.roce.span, verifying: captured.network)
        var payload = Array(captured.roce[packet.payloadRange])
        let run = PacketRun(wirePacket: packet.headers, payloadLength: payload.count)
        let hasPayload = !payload.isEmpty
        MappedBytes.withBytes(of: &payload) {
            device.receive(run, payload: hasPayload ? $0 : nil, from: GID(ipv4: RxeInteropTests.client.rawValue))
        }
        return (run, payload)
    }

    /// Checks that the device's `index`-th packet, encoded under the headers `captured` travelled
    /// in, equals the packet rxe's server sent, byte for byte.
    func expectSent(_ index: Int, equals captured: CapturedRoCEPacket) throws {
        let sent = try #require(link.run(index), "the device did not send packet \(index) (capture record \(captured.recordIndex))")
        #expect(sent.run.packetCount == 1)
        var encoded: [UInt8] = []
        try RoCEPacket.encode(headers: sent.run.wirePacket(0).headers, payload: sent.payload.span, network: captured.network, into: &encoded)
        #expect(encoded == captured.roce, "packet \(index) (capture record \(captured.recordIndex), \(sent.run.headers.opcode))")
    }

    /// The next completion, waiting up to 5 s.
    func poll() -> WorkCompletion? {
        var completion: WorkCompletion?
        _ = eventually(timeout: .seconds(5)) {
            completion = completionQueue.poll()
            return completion != nil
        }
        return completion
    }
}

/// SoftRoCE in place of one Linux rdma_rxe host: the client's packets of a real `ibv_rc_pingpong
/// -g 1` session (`Tests/SoftRoCEVectors/Vectors/rc-pingpong.pcap`) are delivered to a SoftRoCE
/// device set up as the server was (QPN, PSNs and GIDs from the captured TCP exchange), and every
/// packet the device sends in answer — acknowledgements and its own SENDs — must equal the packet
/// rxe's server sent, byte for byte from the BTH to the ICRC (computed over the captured IPv4 and
/// UDP headers).
@Suite("Interoperability with Linux rdma_rxe", .timeLimit(.minutes(3)))
struct RxeInteropTests {
    static let server = IPv4Address(192, 168, 77, 11)
    static let client = IPv4Address(192, 168, 77, 12)

    @Test("replaying rxe's rc_pingpong client: the device answers with exactly the packets rxe's server sent")
    func rcPingPongServer() throws {
        let packets = try PcapFile.vector(named: "rc-pingpong.pcap").rocePackets
        try #require(packets.count > 40)
        let server = try ReplayServer(type: .rc, name: "softroce-rxe")
        defer { server.device.close() }
        let qp = server.queuePair
        // The exchange: "0000:000011:5cce62:…ffffc0a84d0c" from the client, "0000:000011:e07d4c:…" back.
        try #require(qp.number.rawValue == 0x11)
        let receiveSGE = server.sge(0, 4096)
        let sendSGE = server.sge(4096, 4096)
        try qp.modify(QueuePairAttributes(state: .initialized, accessFlags: [], portNumber: 1, pkeyIndex: 0))
        try qp.modify(QueuePairAttributes(
            state: .readyToReceive, pathMTU: .mtu1024, rqPSN: PacketSequenceNumber(rawValue: 0x5C_CE62),
            destQPNumber: QueuePairNumber(rawValue: 0x11), addressVector: AddressVector(destinationGID: GID(ipv4: Self.client.rawValue), hopLimit: 1),
            minRNRTimer: RNRTimer(code: 12), maxDestReadAtomic: 1))
        try qp.modify(QueuePairAttributes(
            state: .readyToSend, sqPSN: PacketSequenceNumber(rawValue: 0xE0_7D4C), timeout: AckTimeout(code: 14), retryCount: 7,
            rnrRetry: 7, maxReadAtomic: 1))
        try qp.postReceive(ReceiveWorkRequest(id: 1, scatterGatherList: [receiveSGE]))

        var answered = 0  // packets of the device compared so far
        var messages = 0  // SENDs received from the client
        var clientMessage: [UInt8] = []
        var index = 0
        while index < packets.count {
            let captured = packets[index]
            if captured.ip.source == Self.client {
                let (run, payload) = try server.deliver(captured)
                clientMessage += payload
                let opcode = run.headers.opcode
                if run.endsMessage && opcode.isSend {
                    // rc_pingpong's server: the receive completes with the client's bytes.
                    let completion = try #require(server.poll(), "no receive completion for message \(messages)")
                    #expect(completion.status == .success && completion.opcode == .receive && completion.byteLength == 4096)
                    #expect(server.memory.read(at: 0, count: 4096) == clientMessage)
                    clientMessage = []
                    messages += 1
                    try qp.postReceive(ReceiveWorkRequest(id: 1, scatterGatherList: [receiveSGE]))
                } else if opcode == .rcAcknowledge {
                    // The client acknowledged the device's SEND: it completes.
                    let completion = try #require(server.poll(), "no send completion")
                    #expect(completion.status == .success && completion.opcode == .send)
                }
                index += 1
                continue
            }
            // A packet rxe's server sent. A SEND starts after the ACK for the client's message:
            // post it with the bytes rxe sent, when the whole message is in the capture.
            if captured.roce[0] == Opcode.rcSendFirst.rawValue {
                let message = packets[index...].prefix { $0.ip.source == Self.server }.prefix(4)
                guard message.count == 4 else { break }
                var bytes: [UInt8] = []
                for piece in message {
                    let packet = try RoCEPacket(decoding: piece.roce.span)
                    bytes += piece.roce[packet.payloadRange]
                }
                server.memory.write(bytes, at: 4096)
                try qp.postSend(.send(id: 2, scatterGatherList: [sendSGE]))
            }
            try server.expectSent(answered, equals: captured)
            answered += 1
            index += 1
        }
        #expect(messages >= 5)
        #expect(answered >= 20)
    }

    @Test("replaying rxe's ud_pingpong client: the device's UD SENDs equal the ones rxe's server sent, and its receives carry the GRH area")
    func udPingPongServer() throws {
        let packets = try PcapFile.vector(named: "ud-pingpong.pcap").rocePackets
        try #require(packets.count > 20)
        let server = try ReplayServer(type: .ud, name: "softroce-rxe-ud")
        defer { server.device.close() }
        let qp = server.queuePair
        // The exchange: "0000:000011:7d20fc:…ffffc0a84d0c" from the client, "0000:000011:9946c9:…" back.
        try #require(qp.number.rawValue == 0x11)
        let qkey = QKey(rawValue: 0x1111_1111)
        let receiveSGE = server.sge(0, 40 + 1024)
        let sendSGE = server.sge(4096, 1024)
        try qp.modify(QueuePairAttributes(state: .initialized, qkey: qkey, portNumber: 1, pkeyIndex: 0))
        try qp.modify(QueuePairAttributes(state: .readyToReceive))
        try qp.modify(QueuePairAttributes(state: .readyToSend, sqPSN: PacketSequenceNumber(rawValue: 0x99_46C9)))
        try qp.postReceive(ReceiveWorkRequest(id: 1, scatterGatherList: [receiveSGE]))
        let destination = DatagramDestination(
            addressHandle: AddressHandle(addressVector: AddressVector(destinationGID: GID(ipv4: Self.client.rawValue), hopLimit: 1)),
            remoteQPNumber: QueuePairNumber(rawValue: 0x11), remoteQKey: qkey)

        var answered = 0
        var received = 0
        for captured in packets {
            if captured.ip.source == Self.client {
                let (_, payload) = try server.deliver(captured)
                let completion = try #require(server.poll(), "no receive completion for datagram \(received)")
                #expect(completion.status == .success && completion.opcode == .receive)
                #expect(completion.byteLength == UInt32(40 + payload.count) && completion.flags.contains(.grh))
                #expect(completion.sourceQPNumber == QueuePairNumber(rawValue: 0x11))
                #expect(server.memory.read(at: 40, count: payload.count) == payload)
                received += 1
                try qp.postReceive(ReceiveWorkRequest(id: 1, scatterGatherList: [receiveSGE]))
                continue
            }
            let packet = try RoCEPacket(decoding: captured.roce.span, verifying: captured.network)
            server.memory.write(Array(captured.roce[packet.payloadRange]), at: 4096)
            try qp.postSend(.datagramSend(id: 2, scatterGatherList: [sendSGE], destination: destination))
            let completion = try #require(server.poll(), "no send completion")
            #expect(completion.status == .success && completion.opcode == .send)
            try server.expectSent(answered, equals: captured)
            answered += 1
        }
        #expect(received >= 10 && answered >= 10)
    }
}
