import SoftRoCEWire
import Testing

@Suite("IPv4 and UDP headers")
struct IPv4HeaderTests {
    /// The IPv4 header of an rxe ACK in rc-pingpong.pcap.
    static let capturedIPv4: [UInt8] = [
        0x45, 0x00, 0x00, 0x30, 0xD0, 0x62, 0x40, 0x00, 0x40, 0x11, 0x4E, 0xF2, 0xC0, 0xA8, 0x4D, 0x0B, 0xC0, 0xA8,
        0x4D, 0x0C,
    ]

    @Test("decodes, checksums and re-encodes a captured header")
    func captured() throws {
        let decoded = IPv4Header.decode(from: Self.capturedIPv4.span)
        let ip = try #require(decoded)
        #expect(ip.internetHeaderLength == 5 && ip.headerLength == 20)
        #expect(ip.totalLength == 48)
        #expect(ip.identification == 0xD062)
        #expect(ip.dontFragment)
        #expect(ip.timeToLive == 64)
        #expect(ip.protocolNumber == IPv4Header.udpProtocol)
        #expect(ip.headerChecksum == 0x4EF2)
        #expect(ip.computedChecksum == 0x4EF2)
        #expect(ip.hasValidChecksum)
        #expect(ip.source == IPv4Address(192, 168, 77, 11))
        #expect(ip.destination.description == "192.168.77.12")
        var bytes: [UInt8] = []
        #expect(ip.encode(into: &bytes) == 20)
        #expect(bytes == Self.capturedIPv4)
    }

    @Test("the defaults are rxe's, and updateChecksum makes a valid header")
    func defaults() {
        var ip = IPv4Header(
            source: IPv4Address(192, 168, 77, 11),
            destination: IPv4Address(192, 168, 77, 12),
            totalLength: 48,
            identification: 0xD062
        )
        #expect(!ip.hasValidChecksum)
        ip.updateChecksum()
        var bytes: [UInt8] = []
        ip.encode(into: &bytes)
        #expect(bytes == Self.capturedIPv4)
        ip.dontFragment = false
        #expect(ip.flagsAndFragmentOffset == 0)
        ip.dontFragment = true
        #expect(ip.flagsAndFragmentOffset == 0x4000)
    }

    @Test("rejects other versions, short IHLs and short input")
    func rejects() {
        var bytes = Self.capturedIPv4
        bytes[0] = 0x65
        #expect(IPv4Header.decode(from: bytes.span) == nil)
        bytes[0] = 0x44
        #expect(IPv4Header.decode(from: bytes.span) == nil)
        bytes[0] = 0x46  // announces 24 bytes, only 20 present
        #expect(IPv4Header.decode(from: bytes.span) == nil)
        let withOptions = bytes + [0, 0, 0, 0]
        #expect(IPv4Header.decode(from: withOptions.span)?.headerLength == 24)
        let short = Array(Self.capturedIPv4.dropLast())
        #expect(IPv4Header.decode(from: short.span) == nil)
    }

    @Test("IPv4 addresses parse and print as dotted quads")
    func addresses() {
        #expect(IPv4Address("192.168.77.11") == IPv4Address(rawValue: 0xC0A8_4D0B))
        #expect(IPv4Address("0.0.0.0")?.rawValue == 0)
        #expect(IPv4Address("255.255.255.255")?.rawValue == .max)
        for bad in ["", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1..2.3", "a.b.c.d", "1.2.3.-4", "0001.2.3.4", " 1.2.3.4"] {
            #expect(IPv4Address(bad) == nil, "\(bad)")
        }
        #expect(IPv4Address(10, 0, 0, 1).description == "10.0.0.1")
    }

    @Test("UDP headers round-trip; RoCEv2 uses port 4791")
    func udp() throws {
        let bytes: [UInt8] = [0xC1, 0x21, 0x12, 0xB7, 0x00, 0x1C, 0x00, 0x00]
        let decoded = UDPHeader.decode(from: bytes.span)
        let udp = try #require(decoded)
        #expect(udp == UDPHeader(sourcePort: 0xC121, length: 28))
        #expect(udp.destinationPort == UDPHeader.roceV2Port)
        var encoded: [UInt8] = []
        #expect(udp.encode(into: &encoded) == 8)
        #expect(encoded == bytes)
        #expect(UDPHeader.decode(from: bytes.span, at: 1) == nil)
    }

    @Test("source ports follow the kernel's formulas")
    func sourcePorts() {
        // hash_32(0x11, 14) = 0x1f94 (the UD captures).
        #expect(UDPHeader.roceSourcePort(queuePair: 0x11) == 0xDF94)
        // rdma_calc_flow_label(0x11, 0x11) = 0x121 (the RC captures).
        #expect(UDPHeader.roceSourcePort(flowLabel: 0, localQueuePair: 0x11, remoteQueuePair: 0x11) == 0xC121)
        // A given flow label folds its top 6 bits into the low 14.
        #expect(UDPHeader.roceSourcePort(flowLabel: 0xFC001, localQueuePair: 1, remoteQueuePair: 2) == 0xC000 | 0x3E)
        for qpn in [0, 1, 0x11, 0xFF_FFFF] as [UInt32] {
            #expect(UDPHeader.roceSourcePort(queuePair: QueuePairNumber(rawValue: qpn)) >= 0xC000)
        }
    }
}

@Suite("IPv6 headers and addresses")
struct IPv6HeaderTests {
    @Test("IPv4-mapped GIDs")
    func mapped() {
        let gid = IPv6Address(ipv4Mapped: IPv4Address(192, 168, 77, 11))
        #expect(gid.description == "::ffff:192.168.77.11")
        #expect(gid.ipv4Mapped == IPv4Address(192, 168, 77, 11))
        #expect(gid.bytes == [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 192, 168, 77, 11])
        #expect(IPv6Address(rawValue: 1).ipv4Mapped == nil)
    }

    @Test("RFC 5952 text form")
    func text() {
        #expect(IPv6Address(rawValue: 0).description == "::")
        #expect(IPv6Address(rawValue: 1).description == "::1")
        #expect(IPv6Address(rawValue: UInt128(0xFE80) << 112 | 0x1234).description == "fe80::1234")
        #expect(
            IPv6Address(rawValue: UInt128(0x2001_0DB8_0000_0000) << 64 | UInt128(0x0001_0000_0000_0001)).description
                == "2001:db8::1:0:0:1"
        )
        #expect(
            IPv6Address(rawValue: UInt128(0x2001_0DB8_0001_0001) << 64 | UInt128(0x0001_0001_0001_0001)).description
                == "2001:db8:1:1:1:1:1:1"
        )
        #expect(
            IPv6Address(rawValue: UInt128(0x2001_0000_0001_0000) << 64 | UInt128(0x0000_0001_0000_0001))
                .description == "2001:0:1::1:0:1"
        )
    }

    @Test("headers round-trip with every field in place")
    func codec() throws {
        let header = IPv6Header(
            source: IPv6Address(ipv4Mapped: IPv4Address(10, 0, 0, 1)),
            destination: IPv6Address(rawValue: 1),
            payloadLength: 0x0102,
            hopLimit: 7,
            trafficClass: 0xAB,
            flowLabel: 0xF_EDCB
        )
        var bytes: [UInt8] = []
        #expect(header.encode(into: &bytes) == 40)
        #expect(Array(bytes.prefix(8)) == [0x6A, 0xBF, 0xED, 0xCB, 0x01, 0x02, 17, 7])
        #expect(Array(bytes[8..<24]) == IPv6Address(ipv4Mapped: IPv4Address(10, 0, 0, 1)).bytes)
        #expect(IPv6Header.decode(from: bytes.span) == header)
        bytes[0] = 0x4A
        #expect(IPv6Header.decode(from: bytes.span) == nil)
        let short = Array(bytes.prefix(39))
        #expect(IPv6Header.decode(from: short.span) == nil)
        var masked = header
        masked.flowLabel = 0xFFFF_FFFF
        #expect(masked.flowLabel == 0xF_FFFF)
    }
}
