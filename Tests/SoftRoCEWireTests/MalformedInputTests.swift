import SoftRoCEVectors
import SoftRoCEWire
import Testing

/// Malformed input yields typed errors, never a trap.
@Suite("Malformed input")
struct MalformedInputTests {
    /// The first packet of each opcode in each capture.
    static func samples() throws -> [CapturedRoCEPacket] {
        var seen: Set<Opcode> = []
        var samples: [CapturedRoCEPacket] = []
        for file in VectorFile.all {
            for captured in try file.packets() where seen.insert(Opcode(rawValue: captured.roce[0])).inserted {
                samples.append(captured)
            }
        }
        return samples
    }

    @Test("every truncation of a real packet is rejected with the matching error")
    func truncations() throws {
        let samples = try Self.samples()
        #expect(samples.count == 14)  // one per opcode in the captures
        for captured in samples {
            let opcode = Opcode(rawValue: captured.roce[0])
            let headerLength = opcode.headerLength
            for length in 0..<captured.roce.count {
                let prefix = Array(captured.roce.prefix(length))
                let expected: RoCEPacketError? =
                    if length < 16 {
                        .tooShort(byteCount: length)
                    } else if length < headerLength + 4 {
                        .truncatedHeaders(opcode: opcode, byteCount: length, required: headerLength + 4)
                    } else if length % 4 != 0 {
                        .unalignedLength(byteCount: length)
                    } else {
                        nil  // structurally fine: only the ICRC can tell
                    }
                let structural = Result { () throws(RoCEPacketError) in try RoCEPacket(decoding: prefix.span) }
                let verified = Result { () throws(RoCEPacketError) in
                    try RoCEPacket(decoding: prefix.span, verifying: captured.network)
                }
                if let expected {
                    #expect(structural.failure == expected, "\(opcode) length \(length)")
                    #expect(verified.failure == expected, "\(opcode) length \(length)")
                } else {
                    #expect(structural.failure == nil, "\(opcode) length \(length)")
                    guard case .icrcMismatch? = verified.failure else {
                        Issue.record("\(opcode) length \(length): expected an ICRC mismatch, got \(verified)")
                        continue
                    }
                }
            }
        }
    }

    @Test("flipping any bit of a real packet is detected, except in the masked BTH byte 4")
    func bitFlips() throws {
        for captured in try Self.samples() {
            let opcode = Opcode(rawValue: captured.roce[0])
            let headerLength = opcode.headerLength
            for index in captured.roce.indices {
                for bit in [0, 3, 7] {
                    var corrupt = captured.roce
                    corrupt[index] ^= 1 << bit
                    let result = Result { () throws(RoCEPacketError) in
                        try RoCEPacket(decoding: corrupt.span, verifying: captured.network)
                    }
                    if index == 4 {
                        // FECN/BECN/reserved: masked in the ICRC, so switches may set them.
                        #expect(result.failure == nil, "\(opcode) byte 4 bit \(bit)")
                        continue
                    }
                    #expect(result.failure != nil, "\(opcode) byte \(index) bit \(bit)")
                    if index >= headerLength {
                        // Payload, pad or ICRC: the structure is intact, only the ICRC catches it.
                        guard case .icrcMismatch? = result.failure else {
                            Issue.record("\(opcode) byte \(index) bit \(bit): \(result)")
                            continue
                        }
                        // And no IPv4 identification would make it valid.
                        let received = ICRC.read(from: corrupt.span) ?? 0
                        let covered = Array(corrupt.dropLast(4))
                        #expect(
                            ICRC.recoverIdentification(
                                ipHeader: captured.ip,
                                udpHeader: captured.udp,
                                roce: covered.span,
                                icrc: received
                            ) == nil,
                            "\(opcode) byte \(index) bit \(bit)"
                        )
                    }
                }
            }
        }
    }

    @Test("random byte arrays never trap; whatever decodes re-encodes to the same headers and payload")
    func randomBytes() throws {
        var generator = SplitMix64(seed: 0x0F_0220)
        let network = sampleNetworks[0]
        var decoded = 0
        for iteration in 0..<5000 {
            let length = Int.random(in: 0...80, using: &generator)
            var bytes = generator.bytes(length)
            // Steer half the inputs past the first checks: a supported opcode and TVer 0.
            if iteration % 2 == 0, length >= 2 {
                bytes[0] = Opcode.allSupported.randomElement(using: &generator)!.rawValue
                bytes[1] &= 0xF0
            }
            let result = Result { () throws(RoCEPacketError) in try RoCEPacket(decoding: bytes.span) }
            _ = Result { () throws(RoCEPacketError) in try RoCEPacket(decoding: bytes.span, verifying: network) }
            guard case .success(let packet) = result else { continue }
            decoded += 1
            let payload = Array(bytes[packet.payloadRange])
            var encoded: [UInt8] = []
            try RoCEPacket.encode(headers: packet.headers, payload: payload.span, network: network, into: &encoded)
            #expect(encoded.count == bytes.count)
            #expect(encoded.prefix(packet.payloadRange.upperBound) == bytes.prefix(packet.payloadRange.upperBound))
            #expect(throws: Never.self) { try RoCEPacket(decoding: encoded.span, verifying: network) }
        }
        #expect(decoded > 100)
    }

    @Test("header decoders return nil at any offset, never trap")
    func headerDecodersAtRandomOffsets() {
        var generator = SplitMix64(seed: 0xD0)
        for _ in 0..<2000 {
            let bytes = generator.bytes(Int.random(in: 0...48, using: &generator))
            let offset = Int.random(in: -4...52, using: &generator)
            let fits = { (size: Int) in offset >= 0 && offset + size <= bytes.count }
            #expect((BTH.decode(from: bytes.span, at: offset) != nil) == fits(12))
            #expect((RETH.decode(from: bytes.span, at: offset) != nil) == fits(16))
            #expect((AETH.decode(from: bytes.span, at: offset) != nil) == fits(4))
            #expect((AtomicETH.decode(from: bytes.span, at: offset) != nil) == fits(28))
            #expect((AtomicAckETH.decode(from: bytes.span, at: offset) != nil) == fits(8))
            #expect((DETH.decode(from: bytes.span, at: offset) != nil) == fits(8))
            #expect((ImmDt.decode(from: bytes.span, at: offset) != nil) == fits(4))
            #expect((IETH.decode(from: bytes.span, at: offset) != nil) == fits(4))
            #expect((UDPHeader.decode(from: bytes.span, at: offset) != nil) == fits(8))
            _ = IPv4Header.decode(from: bytes.span, at: offset)
            _ = IPv6Header.decode(from: bytes.span, at: offset)
            _ = TransportHeaders.decode(from: bytes.span)
        }
    }

    @Test("mutated real packets never trap and fail with typed errors")
    func mutatedPackets() throws {
        var generator = SplitMix64(seed: 0x4D55)
        let samples = try Self.samples()
        var failures: [String: Int] = [:]
        for _ in 0..<3000 {
            let captured = samples.randomElement(using: &generator)!
            var bytes = captured.roce
            for _ in 0..<Int.random(in: 1...4, using: &generator) {
                switch Int.random(in: 0..<4, using: &generator) {
                case 0:
                    bytes[Int.random(in: 0..<bytes.count, using: &generator)] = UInt8.random(
                        in: 0...255,
                        using: &generator
                    )
                case 1: bytes.removeLast(Int.random(in: 0...min(8, bytes.count - 1), using: &generator))
                case 2: bytes += generator.bytes(Int.random(in: 1...8, using: &generator))
                default: bytes[0] = UInt8.random(in: 0...0x1F, using: &generator)
                }
            }
            let result = Result { () throws(RoCEPacketError) in
                try RoCEPacket(decoding: bytes.span, verifying: captured.network)
            }
            if let failure = result.failure {
                failures[String(describing: failure).prefix(while: { $0 != " " }).description, default: 0] += 1
            } else {
                #expect(bytes == captured.roce || bytes[4] != captured.roce[4])
            }
        }
        #expect(failures.values.reduce(0, +) > 2900)
    }
}

extension Result {
    /// The error, or `nil` on success.
    var failure: Failure? {
        if case .failure(let error) = self { error } else { nil }
    }
}
