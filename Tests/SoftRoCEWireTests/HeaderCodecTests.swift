import SoftRoCEWire
import Testing

@Suite("BTH")
struct BTHTests {
    @Test("decodes a captured BTH")
    func captured() throws {
        // RC SEND Last from rc-pingpong.pcap: AckReq set, PSN 0x5cce65.
        let bytes: [UInt8] = [0x02, 0x00, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x11, 0x80, 0x5C, 0xCE, 0x65]
        let decoded = BTH.decode(from: bytes.span)
        let bth = try #require(decoded)
        #expect(bth.opcode == .rcSendLast)
        #expect(bth.acknowledgeRequest)
        #expect(!bth.solicitedEvent && !bth.migrationRequest)
        #expect(bth.padCount == 0 && bth.transportVersion == 0)
        #expect(bth.partitionKey == .default)
        #expect(bth.destinationQueuePair == 0x11)
        #expect(bth.psn == 0x5C_CE65)
        var encoded: [UInt8] = []
        #expect(bth.encode(into: &encoded) == BTH.byteCount)
        #expect(encoded == bytes)
    }

    @Test("every field lands in its bits")
    func bitLayout() throws {
        let bth = BTH(
            opcode: .rcRDMAWriteOnly,
            destinationQueuePair: 0xABCDEF,
            psn: 0x123456,
            acknowledgeRequest: true,
            solicitedEvent: true,
            migrationRequest: false,
            padCount: 3,
            transportVersion: 0x5,
            partitionKey: 0x8001,
            forwardCongestion: true,
            backwardCongestion: false,
            reserved6: 0x15,
            reserved7: 0x2A
        )
        var bytes: [UInt8] = []
        bth.encode(into: &bytes)
        let expected: [UInt8] = [0x0A, 0xB5, 0x80, 0x01, 0x95, 0xAB, 0xCD, 0xEF, 0xAA, 0x12, 0x34, 0x56]
        #expect(bytes == expected)
        #expect(BTH.decode(from: bytes.span) == bth)
    }

    @Test("bit fields keep only their width")
    func masking() {
        var bth = BTH(opcode: .rcSendOnly, destinationQueuePair: 1, psn: 1, padCount: 0xFF, transportVersion: 0xFF)
        #expect(bth.padCount == 3)
        #expect(bth.transportVersion == 0xF)
        bth.padCount = 6
        bth.reserved6 = 0xFF
        bth.reserved7 = 0xFF
        #expect(bth.padCount == 2 && bth.reserved6 == 0x3F && bth.reserved7 == 0x7F)
    }

    @Test("any 12 bytes round-trip")
    func randomRoundTrip() throws {
        var generator = SplitMix64(seed: 0xB7B7)
        for _ in 0..<2000 {
            let bytes = generator.bytes(12)
            let decoded = BTH.decode(from: bytes.span)
            let bth = try #require(decoded)
            var encoded: [UInt8] = []
            bth.encode(into: &encoded)
            #expect(encoded == bytes)
        }
    }
}

@Suite("Extension headers")
struct ExtensionHeaderTests {
    @Test("RETH")
    func reth() {
        let reth = RETH(virtualAddress: 0x0000_7F11_C07D_6000, remoteKey: 0x285, dmaLength: 65536)
        let bytes: [UInt8] = [
            0x00, 0x00, 0x7F, 0x11, 0xC0, 0x7D, 0x60, 0x00, 0x00, 0x00, 0x02, 0x85, 0x00, 0x01, 0x00, 0x00,
        ]
        expectRoundTrip(reth, bytes, decode: RETH.decode, encode: { $0.encode(into: &$1) })
    }

    @Test("AtomicETH")
    func atomicETH() {
        let header = AtomicETH(
            virtualAddress: 0x0000_55D6_D266_5000,
            remoteKey: 0x299,
            swapOrAddData: 1,
            compareData: 0x0102_0304_0506_0708
        )
        let bytes: [UInt8] = [
            0x00, 0x00, 0x55, 0xD6, 0xD2, 0x66, 0x50, 0x00, 0x00, 0x00, 0x02, 0x99, 0, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4,
            5, 6, 7, 8,
        ]
        expectRoundTrip(header, bytes, decode: AtomicETH.decode, encode: { $0.encode(into: &$1) })
    }

    @Test("AtomicAckETH")
    func atomicAckETH() {
        let header = AtomicAckETH(originalRemoteData: 0xF5E3_44C5_DB9F_1CE9)
        let bytes: [UInt8] = [0xF5, 0xE3, 0x44, 0xC5, 0xDB, 0x9F, 0x1C, 0xE9]
        expectRoundTrip(header, bytes, decode: AtomicAckETH.decode, encode: { $0.encode(into: &$1) })
    }

    @Test("DETH")
    func deth() {
        let header = DETH(queueKey: 0x1111_1111, sourceQueuePair: 0x11)
        let bytes: [UInt8] = [0x11, 0x11, 0x11, 0x11, 0x00, 0x00, 0x00, 0x11]
        expectRoundTrip(header, bytes, decode: DETH.decode, encode: { $0.encode(into: &$1) })
        let reserved: [UInt8] = [0, 0, 0, 1, 0xA5, 0xFF, 0xFF, 0xFF]
        expectRoundTrip(
            DETH(queueKey: 1, sourceQueuePair: 0xFF_FFFF, reserved: 0xA5),
            reserved,
            decode: DETH.decode,
            encode: { $0.encode(into: &$1) }
        )
    }

    @Test("ImmDt and IETH")
    func fourByteHeaders() {
        expectRoundTrip(
            ImmDt(value: 0xDEAD_BEEF),
            [0xDE, 0xAD, 0xBE, 0xEF],
            decode: ImmDt.decode,
            encode: { $0.encode(into: &$1) }
        )
        expectRoundTrip(
            IETH(remoteKey: 0x0102_0304),
            [1, 2, 3, 4],
            decode: IETH.decode,
            encode: { $0.encode(into: &$1) }
        )
    }

    /// Checks encoding to `bytes`, decoding at offsets 0 and 3, and `nil` for every short or out-of-range read.
    private func expectRoundTrip<Header: Equatable>(
        _ header: Header,
        _ bytes: [UInt8],
        decode: (Span<UInt8>, Int) -> Header?,
        encode: (Header, inout [UInt8]) -> Int,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        var encoded: [UInt8] = [0xEE]
        #expect(encode(header, &encoded) == bytes.count, sourceLocation: sourceLocation)
        #expect(encoded == [0xEE] + bytes, sourceLocation: sourceLocation)
        #expect(decode(bytes.span, 0) == header, sourceLocation: sourceLocation)
        let shifted = [1, 2, 3] + bytes + [4]
        #expect(decode(shifted.span, 3) == header, sourceLocation: sourceLocation)
        for length in 0..<bytes.count {
            let short = Array(bytes.prefix(length))
            #expect(decode(short.span, 0) == nil, sourceLocation: sourceLocation)
        }
        #expect(decode(shifted.span, 5) == nil, sourceLocation: sourceLocation)
        #expect(decode(bytes.span, -1) == nil, sourceLocation: sourceLocation)
        #expect(decode(bytes.span, Int.max) == nil, sourceLocation: sourceLocation)
        #expect(decode(bytes.span, Int.min) == nil, sourceLocation: sourceLocation)
    }
}
