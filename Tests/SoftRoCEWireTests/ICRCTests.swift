import SoftRoCEWire
import Testing

@Suite("ICRC")
struct ICRCTests {
    /// An rxe ACK from rc-pingpong.pcap (192.168.77.11 → .12, IPv4 id 0xd062, UDP 49441 → 4791), ICRC field
    /// `44 d8 a1 34`.
    static let ackIP = IPv4Header(
        source: IPv4Address(192, 168, 77, 11),
        destination: IPv4Address(192, 168, 77, 12),
        totalLength: 48,
        identification: 0xD062,
        headerChecksum: 0x4EF2
    )
    static let ackUDP = UDPHeader(sourcePort: 49441, length: 28)
    static let ack: [UInt8] = [
        0x11, 0x00, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x11, 0x00, 0x5C, 0xCE, 0x65, 0x1F, 0x00, 0x00, 0x01,
        0x44, 0xD8, 0xA1, 0x34,
    ]

    @Test("known answer: a captured ACK, ICRC sent least significant byte first")
    func knownAnswer() throws {
        let covered = Array(Self.ack.prefix(16))
        let icrc = ICRC.compute(ipHeader: Self.ackIP, udpHeader: Self.ackUDP, roce: covered.span)
        #expect(icrc == 0x34A1_D844)
        #expect(ICRC.read(from: Self.ack.span) == 0x34A1_D844)
        var field: [UInt8] = []
        ICRC.write(icrc, into: &field)
        #expect(field == [0x44, 0xD8, 0xA1, 0x34])
        let packet = try RoCEPacket(decoding: Self.ack.span, verifying: .ipv4(Self.ackIP, Self.ackUDP))
        #expect(packet.headers.aeth == AETH(syndrome: .ackUnlimited, msn: 1))
        #expect(ICRC.read(from: [1, 2, 3].span) == nil)
    }

    @Test("IPv4: TOS, TTL, both checksums and BTH byte 4 are masked; everything else is covered")
    func ipv4Masking() {
        let covered = Array(Self.ack.prefix(16))
        let base = ICRC.compute(ipHeader: Self.ackIP, udpHeader: Self.ackUDP, roce: covered.span)
        func icrc(_ change: (inout IPv4Header, inout UDPHeader, inout [UInt8]) -> Void) -> UInt32 {
            var (ip, udp, roce) = (Self.ackIP, Self.ackUDP, covered)
            change(&ip, &udp, &roce)
            return ICRC.compute(ipHeader: ip, udpHeader: udp, roce: roce.span)
        }
        #expect(icrc { ip, _, _ in ip.typeOfService = 0xB8 } == base)
        #expect(icrc { ip, _, _ in ip.timeToLive = 1 } == base)
        #expect(icrc { ip, _, _ in ip.headerChecksum = 0x1234 } == base)
        #expect(icrc { _, udp, _ in udp.checksum = 0xABCD } == base)
        #expect(icrc { _, _, roce in roce[4] = 0xC0 } == base)  // FECN + BECN
        #expect(icrc { ip, _, _ in ip.identification &+= 1 } != base)
        #expect(icrc { ip, _, _ in ip.dontFragment = false } != base)
        #expect(icrc { ip, _, _ in ip.totalLength += 4 } != base)
        #expect(icrc { ip, _, _ in ip.source = IPv4Address(10, 0, 0, 1) } != base)
        #expect(icrc { ip, _, _ in ip.destination = IPv4Address(10, 0, 0, 1) } != base)
        #expect(icrc { _, udp, _ in udp.sourcePort += 1 } != base)
        #expect(icrc { _, udp, _ in udp.length += 4 } != base)
        for index in covered.indices where index != 4 {
            #expect(icrc { _, _, roce in roce[index] ^= 0x01 } != base, "byte \(index)")
        }
    }

    @Test("IPv6: traffic class, flow label, hop limit masked; equals the CRC of the explicit pseudo packet")
    func ipv6() {
        let covered = Array(Self.ack.prefix(16))
        let ip = IPv6Header(
            source: IPv6Address(ipv4Mapped: IPv4Address(192, 168, 77, 11)),
            destination: IPv6Address(rawValue: UInt128(0xFE80) << 112 | 0x1234),
            payloadLength: 28
        )
        let base = ICRC.compute(ipHeader: ip, udpHeader: Self.ackUDP, roce: covered.span)

        var pseudo = [UInt8](repeating: 0xFF, count: 8)
        ip.encode(into: &pseudo)
        pseudo.replaceSubrange(8..<12, with: [0x6F, 0xFF, 0xFF, 0xFF])
        pseudo[15] = 0xFF
        Self.ackUDP.encode(into: &pseudo)
        pseudo[pseudo.count - 2] = 0xFF
        pseudo[pseudo.count - 1] = 0xFF
        var roce = covered
        roce[4] = 0xFF
        pseudo += roce
        #expect(base == CRC32.checksum(pseudo.span))

        var changed = ip
        changed.trafficClass = 0x2E
        changed.flowLabel = 0x1_2345
        changed.hopLimit = 1
        #expect(ICRC.compute(ipHeader: changed, udpHeader: Self.ackUDP, roce: covered.span) == base)
        changed.payloadLength += 4
        #expect(ICRC.compute(ipHeader: changed, udpHeader: Self.ackUDP, roce: covered.span) != base)
        #expect(ICRC.compute(network: .ipv6(ip, Self.ackUDP), roce: covered.span) == base)
    }

    @Test("packets shorter than a BTH are covered as they are")
    func shortInput() {
        for length in 0...5 {
            let roce = [UInt8](repeating: 0xAB, count: length)
            var pseudo = [UInt8](repeating: 0xFF, count: 8)
            var ip = Self.ackIP
            ip.typeOfService = 0xFF
            ip.timeToLive = 0xFF
            ip.headerChecksum = 0xFFFF
            ip.encode(into: &pseudo)
            var udp = Self.ackUDP
            udp.checksum = 0xFFFF
            udp.encode(into: &pseudo)
            var masked = roce
            if length > 4 { masked[4] = 0xFF }
            let expected = CRC32.checksum((pseudo + masked).span)
            #expect(ICRC.compute(ipHeader: Self.ackIP, udpHeader: Self.ackUDP, roce: roce.span) == expected)
        }
    }

    @Test("identification recovery inverts the ICRC for every id, and proves corrupt packets corrupt")
    func identificationRecovery() {
        let covered = Array(Self.ack.prefix(16))
        var generator = SplitMix64(seed: 0x1D)
        for identification in [0, 1, 0x00FF, 0xFF00, 0xFFFF, 0xD062]
            + (0..<200).map({ _ in
                UInt16.random(in: .min ... .max, using: &generator)
            })
        {
            var ip = Self.ackIP
            ip.identification = identification
            let icrc = ICRC.compute(ipHeader: ip, udpHeader: Self.ackUDP, roce: covered.span)
            ip.identification = 0x5555
            #expect(
                ICRC.recoverIdentification(ipHeader: ip, udpHeader: Self.ackUDP, roce: covered.span, icrc: icrc)
                    == identification
            )
        }
        // Over random ICRCs, about 1 in 65536 values is reachable; whenever one is reported it must be right.
        var reported = 0
        for _ in 0..<3000 {
            let icrc = UInt32.random(in: .min ... .max, using: &generator)
            guard
                let found = ICRC.recoverIdentification(
                    ipHeader: Self.ackIP,
                    udpHeader: Self.ackUDP,
                    roce: covered.span,
                    icrc: icrc
                )
            else { continue }
            reported += 1
            var ip = Self.ackIP
            ip.identification = found
            #expect(ICRC.compute(ipHeader: ip, udpHeader: Self.ackUDP, roce: covered.span) == icrc)
        }
        #expect(reported < 5)
    }

    @Test("identification recovery works at every packet length")
    func identificationRecoveryLengths() {
        var generator = SplitMix64(seed: 0x1E)
        for length in [0, 1, 4, 12, 15, 16, 100, 1023, 1024, 4095, 4096, 9000, 65_000] {
            let roce = generator.bytes(length)
            var ip = Self.ackIP
            ip.identification = UInt16.random(in: .min ... .max, using: &generator)
            let icrc = ICRC.compute(ipHeader: ip, udpHeader: Self.ackUDP, roce: roce.span)
            let expected = ip.identification
            ip.identification = 0
            #expect(
                ICRC.recoverIdentification(ipHeader: ip, udpHeader: Self.ackUDP, roce: roce.span, icrc: icrc)
                    == expected,
                "length \(length)"
            )
        }
    }
}
