import SoftRoCEWire
import Testing

/// Headers for `opcode` with every extension header it calls for filled in.
func sampleHeaders(_ opcode: Opcode, psn: PacketSequenceNumber = 0xFF_FFFE) -> TransportHeaders {
    let wanted = opcode.extensionHeaders
    return TransportHeaders(
        bth: BTH(opcode: opcode, destinationQueuePair: 0x12_3456, psn: psn, acknowledgeRequest: true),
        deth: wanted.contains(.deth) ? DETH(queueKey: 0x1111_1111, sourceQueuePair: 0x11) : nil,
        reth: wanted.contains(.reth) ? RETH(virtualAddress: 0x7F00_0000_1000, remoteKey: 0x285, dmaLength: 9) : nil,
        atomicETH: wanted.contains(.atomicETH)
            ? AtomicETH(virtualAddress: 0x5000, remoteKey: 0x299, swapOrAddData: 1, compareData: 2) : nil,
        aeth: wanted.contains(.aeth) ? AETH(syndrome: .nak(.remoteAccessError), msn: 7) : nil,
        atomicAckETH: wanted.contains(.atomicAckETH) ? AtomicAckETH(originalRemoteData: 0x42) : nil,
        immDt: wanted.contains(.immDt) ? ImmDt(value: 0xCAFE_F00D) : nil,
        ieth: wanted.contains(.ieth) ? IETH(remoteKey: 0x77) : nil
    )
}

/// IPv4 and IPv6 encapsulations between the capture hosts.
let sampleNetworks: [NetworkHeaders] = [
    .ipv4(
        IPv4Header(source: IPv4Address(192, 168, 77, 12), destination: IPv4Address(192, 168, 77, 11)),
        UDPHeader(sourcePort: 0xC121)
    ),
    .ipv6(
        IPv6Header(
            source: IPv6Address(ipv4Mapped: IPv4Address(192, 168, 77, 12)),
            destination: IPv6Address(ipv4Mapped: IPv4Address(192, 168, 77, 11))
        ),
        UDPHeader(sourcePort: 0xDF94)
    ),
]

@Suite("RoCEPacket")
struct RoCEPacketTests {
    @Test("encode then decode round-trips every opcode with pad 0-3", arguments: OpcodeRow.rxeTable)
    func roundTrip(_ row: OpcodeRow) throws {
        let headers = sampleHeaders(row.opcode)
        for network in sampleNetworks {
            for payloadLength in row.payload ? [0, 1, 2, 3, 4, 5, 6, 7, 1024] : [0] {
                let payload = (0..<payloadLength).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 1) }
                var buffer: [UInt8] = [0xAA, 0xBB]
                let written = try RoCEPacket.encode(
                    headers: headers,
                    payload: payload.span,
                    network: network,
                    into: &buffer
                )
                let pad = (4 - payloadLength % 4) % 4
                #expect(written == row.length + payloadLength + pad + 4)
                #expect(written == RoCEPacket.encodedByteCount(headers: headers, payloadByteCount: payloadLength))
                #expect(buffer.count == 2 + written)
                #expect(buffer.prefix(2) == [0xAA, 0xBB])
                let bytes = Array(buffer.dropFirst(2))
                #expect(bytes.count % 4 == 0)
                #expect(bytes[(bytes.count - 4 - pad)..<(bytes.count - 4)].allSatisfy { $0 == 0 })

                let packet = try RoCEPacket(decoding: bytes.span, verifying: network)
                var expected = headers
                expected.bth.padCount = UInt8(pad)
                #expect(packet.headers == expected)
                #expect(packet.padCount == pad)
                #expect(Array(bytes[packet.payloadRange]) == payload)
                #expect(packet.payloadRange.lowerBound == row.length)
                #expect(packet.byteCount == bytes.count)
            }
        }
    }

    @Test("the ICRC depends on the network headers it was computed for")
    func wrongNetwork() throws {
        var bytes: [UInt8] = []
        try RoCEPacket.encode(
            headers: sampleHeaders(.rcSendOnly),
            payload: [1, 2, 3].span,
            network: sampleNetworks[0],
            into: &bytes
        )
        #expect(throws: Never.self) { try RoCEPacket(decoding: bytes.span, verifying: sampleNetworks[0]) }
        let error = #expect(throws: RoCEPacketError.self) {
            try RoCEPacket(decoding: bytes.span, verifying: sampleNetworks[1])
        }
        guard case .icrcMismatch(let computed, let received)? = error else {
            Issue.record("expected an ICRC mismatch, got \(String(describing: error))")
            return
        }
        #expect(computed != received)
        // Lengths are filled in from the packet, so a receiver may pass headers with zero lengths.
        guard case .ipv4(var ip, var udp) = sampleNetworks[0] else { return }
        ip.totalLength = 999
        udp.length = 999
        #expect(throws: Never.self) { try RoCEPacket(decoding: bytes.span, verifying: .ipv4(ip, udp)) }
        ip.identification = 1
        #expect(throws: RoCEPacketError.self) { try RoCEPacket(decoding: bytes.span, verifying: .ipv4(ip, udp)) }
    }

    @Test("encoding rejects header sets that do not fit the opcode, and leaves the buffer alone")
    func encodingErrors() {
        let network = sampleNetworks[0]
        var buffer: [UInt8] = [9]
        func encode(_ headers: TransportHeaders, payload: [UInt8] = []) throws(RoCEPacketEncodingError) {
            try RoCEPacket.encode(headers: headers, payload: payload.span, network: network, into: &buffer)
        }
        var missing = sampleHeaders(.rcRDMAWriteOnlyWithImmediate)
        missing.reth = nil
        #expect(throws: RoCEPacketEncodingError.missingHeaders(opcode: .rcRDMAWriteOnlyWithImmediate, missing: .reth)) {
            try encode(missing)
        }
        var extra = sampleHeaders(.rcAcknowledge)
        extra.immDt = ImmDt(value: 1)
        extra.deth = DETH(queueKey: 1, sourceQueuePair: 1)
        #expect(throws: RoCEPacketEncodingError.unexpectedHeaders(opcode: .rcAcknowledge, unexpected: [.deth, .immDt]))
        {
            try encode(extra)
        }
        #expect(throws: RoCEPacketEncodingError.unexpectedPayload(opcode: .rcRDMAReadRequest, byteCount: 1)) {
            try encode(sampleHeaders(.rcRDMAReadRequest), payload: [0])
        }
        let unknown = TransportHeaders(bth: BTH(opcode: Opcode(rawValue: 0x1C), destinationQueuePair: 1, psn: 1))
        #expect(throws: RoCEPacketEncodingError.unsupportedOpcode(Opcode(rawValue: 0x1C))) { try encode(unknown) }
        let huge = [UInt8](repeating: 0, count: 65_500)
        #expect(throws: RoCEPacketEncodingError.packetTooLarge(byteCount: 65_516, maximum: 65_507)) {
            try encode(sampleHeaders(.rcSendOnly), payload: huge)
        }
        #expect(buffer == [9])
        // IPv6 allows the larger packet.
        var ipv6Buffer: [UInt8] = []
        #expect(throws: Never.self) {
            try RoCEPacket.encode(
                headers: sampleHeaders(.rcSendOnly),
                payload: huge.span,
                network: sampleNetworks[1],
                into: &ipv6Buffer
            )
        }
        #expect(ipv6Buffer.count == 65_516)
    }

    @Test("structural errors are distinct")
    func decodingErrors() throws {
        var good: [UInt8] = []
        try RoCEPacket.encode(
            headers: sampleHeaders(.rcSendOnly),
            payload: [1, 2, 3, 4, 5, 6].span,
            network: sampleNetworks[0],
            into: &good
        )
        #expect(good.count == 12 + 8 + 4)

        func error(_ bytes: [UInt8]) -> RoCEPacketError? {
            do {
                _ = try RoCEPacket(decoding: bytes.span)
                return nil
            } catch {
                return error
            }
        }
        #expect(error(good) == nil)
        #expect(error(Array(good.prefix(15))) == .tooShort(byteCount: 15))
        #expect(error([]) == .tooShort(byteCount: 0))

        var version = good
        version[1] |= 0x01
        #expect(error(version) == .unsupportedTransportVersion(1))

        var opcode = good
        opcode[0] = 0x15
        #expect(error(opcode) == .unsupportedOpcode(Opcode(rawValue: 0x15)))

        var write = good
        write[0] = Opcode.rcRDMAWriteFirst.rawValue  // needs 16 bytes of RETH before the ICRC
        #expect(error(write) == .truncatedHeaders(opcode: .rcRDMAWriteFirst, byteCount: 24, required: 32))

        var ack = good
        ack[0] = Opcode.rcAcknowledge.rawValue  // AETH + 4 bytes that cannot be payload
        ack[1] = 0
        #expect(error(ack) == .unexpectedPayload(opcode: .rcAcknowledge, byteCount: 4))

        var zeroPayload: [UInt8] = []
        try RoCEPacket.encode(
            headers: sampleHeaders(.rcSendOnly),
            payload: [UInt8]().span,
            network: sampleNetworks[0],
            into: &zeroPayload
        )
        zeroPayload[1] |= 0x30  // pad count 3 with nothing before the ICRC
        #expect(error(zeroPayload) == .padExceedsPayload(padCount: 3, available: 0))

        #expect(error(good + [0]) == .unalignedLength(byteCount: 25))
        #expect(error(good + [0, 0, 0, 0]) == nil)  // structure alone cannot tell; the ICRC does
        #expect(throws: RoCEPacketError.self) {
            try RoCEPacket(decoding: (good + [0, 0, 0, 0]).span, verifying: sampleNetworks[0])
        }
    }

    @Test("errors describe themselves")
    func descriptions() {
        #expect(RoCEPacketError.tooShort(byteCount: 3).description.contains("3 bytes"))
        #expect(
            RoCEPacketError.icrcMismatch(computed: 0x1234, received: 0xABCD_EF01).description
                == "ICRC mismatch: computed 0x00001234, received 0xabcdef01"
        )
        #expect(
            RoCEPacketEncodingError.missingHeaders(opcode: .rcRDMAWriteFirst, missing: .reth).description
                == "RC RDMA WRITE First requires [RETH]"
        )
    }

    @Test("pad counts for payload lengths")
    func padCounts() {
        #expect((0..<8).map { RoCEPacket.padCount(payloadByteCount: $0) } == [0, 3, 2, 1, 0, 3, 2, 1])
    }
}
