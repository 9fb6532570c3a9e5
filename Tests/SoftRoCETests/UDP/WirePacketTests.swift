import SoftRoCE
import SoftRoCEWire
import Testing

/// How a run of several packets is cut into wire packets (`PacketRun.wirePacket`): opcodes by
/// place in the message, PSNs, payload slices, and only the headers each opcode carries.
@Suite("Runs as wire packets")
struct WirePacketTests {
    @Test("a 3-packet WRITE with immediate: FIRST with RETH, MIDDLE bare, LAST with ImmDt and AckReq")
    func writeWithImmediate() {
        var headers = TransportHeaders(bth: BTH(opcode: .rcRDMAWriteFirst, destinationQueuePair: QueuePairNumber(rawValue: 7), psn: 0xFF_FFFE))
        headers.bth.acknowledgeRequest = true
        headers.reth = RETH(virtualAddress: 0x1000, remoteKey: 0x42, dmaLength: 2500)
        headers.immDt = ImmDt(value: 0xABCD)
        let run = PacketRun(headers: headers, packetCount: 3, endsMessage: true, mtu: 1024, payloadLength: 2500)
        let packets = (0..<3).map { run.wirePacket($0) }
        #expect(packets.map(\.headers.opcode) == [.rcRDMAWriteFirst, .rcRDMAWriteMiddle, .rcRDMAWriteLastWithImmediate])
        #expect(packets.map(\.headers.bth.psn.rawValue) == [0xFF_FFFE, 0xFF_FFFF, 0])  // 24-bit wrap
        #expect(packets.map(\.payloadRange) == [0..<1024, 1024..<2048, 2048..<2500])
        #expect(packets.map { $0.headers.reth != nil } == [true, false, false])
        #expect(packets.map { $0.headers.immDt != nil } == [false, false, true])
        #expect(packets.map(\.headers.bth.acknowledgeRequest) == [false, false, true])
        for packet in packets { #expect(packet.headers.presentExtensionHeaders == packet.headers.opcode.extensionHeaders) }
    }

    @Test("READ responses: AETH on FIRST and LAST only; a run continuing a message starts MIDDLE")
    func readResponses() {
        var headers = TransportHeaders(bth: BTH(opcode: .rcRDMAReadResponseFirst, destinationQueuePair: QueuePairNumber(rawValue: 9), psn: 10))
        headers.aeth = AETH(syndrome: .ackUnlimited, msn: MessageSequenceNumber(rawValue: 3))
        let whole = PacketRun(headers: headers, packetCount: 3, endsMessage: true, mtu: 256, payloadLength: 700)
        #expect((0..<3).map { whole.wirePacket($0).headers.opcode } == [.rcRDMAReadResponseFirst, .rcRDMAReadResponseMiddle, .rcRDMAReadResponseLast])
        #expect((0..<3).map { whole.wirePacket($0).headers.aeth != nil } == [true, false, true])

        headers.bth.opcode = .rcRDMAReadResponseMiddle
        let tail = PacketRun(headers: headers, packetCount: 2, endsMessage: false, mtu: 256, payloadLength: 512)
        #expect((0..<2).map { tail.wirePacket($0).headers.opcode } == [.rcRDMAReadResponseMiddle, .rcRDMAReadResponseMiddle])
        #expect((0..<2).map { tail.wirePacket($0).headers.aeth } == [nil, nil])
    }

    @Test("a single-packet run keeps its opcode; a received packet forms a run that ends its message unless FIRST or MIDDLE",
          arguments: [Opcode.rcSendOnly, .rcSendFirst, .rcSendMiddle, .rcSendLast, .rcAcknowledge, .rcRDMAReadResponseMiddle])
    func singlePackets(opcode: Opcode) {
        let headers = TransportHeaders(bth: BTH(opcode: opcode, destinationQueuePair: QueuePairNumber(rawValue: 1), psn: 4))
        let run = PacketRun(wirePacket: headers, payloadLength: 64)
        #expect(run.packetCount == 1)
        #expect(run.endsMessage == !(opcode.isFirst || opcode.isMiddle))
        #expect(run.wirePacket(0).headers.opcode == opcode)
        #expect(run.wirePacket(0).payloadRange == 0..<64)
    }
}
