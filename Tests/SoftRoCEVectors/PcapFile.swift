import Foundation
public import SoftRoCEWire

/// A minimal classic-pcap reader (libpcap format 2.4), enough to pull RoCEv2 packets out of the vectors.
///
/// Test support only: the library never reads files.
public struct PcapFile: Sendable {
    /// One captured frame.
    public struct Record: Sendable {
        /// Seconds since the epoch.
        public var seconds: UInt32
        /// Microseconds (or nanoseconds for nanosecond files) past `seconds`.
        public var fraction: UInt32
        /// The length of the frame on the wire, which may exceed `data.count` if the snap length cut it.
        public var originalLength: Int
        /// The captured bytes.
        public var data: [UInt8]
    }

    public enum ParseError: Error, Equatable {
        case truncatedGlobalHeader
        case unknownMagic(UInt32)
        case truncatedRecord(index: Int)
    }

    /// `LINKTYPE_ETHERNET`.
    public static let ethernetLinkType: UInt32 = 1

    public var majorVersion: UInt16
    public var minorVersion: UInt16
    public var snapLength: UInt32
    public var linkType: UInt32
    public var records: [Record]

    /// Parses a whole file; either byte order and micro- or nanosecond magic.
    public init(bytes: [UInt8]) throws(ParseError) {
        guard bytes.count >= 24 else { throw .truncatedGlobalHeader }
        let magic = Self.uint32(bytes, 0, littleEndian: true)
        let littleEndian: Bool
        switch magic {
        case 0xA1B2_C3D4, 0xA1B2_3C4D: littleEndian = true
        case 0xD4C3_B2A1, 0x4D3C_B2A1: littleEndian = false
        default: throw .unknownMagic(magic)
        }
        majorVersion = Self.uint16(bytes, 4, littleEndian: littleEndian)
        minorVersion = Self.uint16(bytes, 6, littleEndian: littleEndian)
        snapLength = Self.uint32(bytes, 16, littleEndian: littleEndian)
        linkType = Self.uint32(bytes, 20, littleEndian: littleEndian)
        records = []
        var offset = 24
        while offset < bytes.count {
            guard bytes.count - offset >= 16 else { throw .truncatedRecord(index: records.count) }
            let seconds = Self.uint32(bytes, offset, littleEndian: littleEndian)
            let fraction = Self.uint32(bytes, offset + 4, littleEndian: littleEndian)
            let capturedLength = Int(Self.uint32(bytes, offset + 8, littleEndian: littleEndian))
            let originalLength = Int(Self.uint32(bytes, offset + 12, littleEndian: littleEndian))
            offset += 16
            guard bytes.count - offset >= capturedLength else { throw .truncatedRecord(index: records.count) }
            records.append(
                Record(
                    seconds: seconds,
                    fraction: fraction,
                    originalLength: originalLength,
                    data: Array(bytes[offset..<(offset + capturedLength)])
                )
            )
            offset += capturedLength
        }
    }

    /// Loads `Vectors/<name>` next to this source file.
    public static func vector(named name: String) throws -> PcapFile {
        let here: String = #filePath
        let url = URL(fileURLWithPath: here).deletingLastPathComponent()
            .appendingPathComponent("Vectors").appendingPathComponent(name)
        return try PcapFile(bytes: [UInt8](Data(contentsOf: url)))
    }

    private static func uint16(_ bytes: [UInt8], _ offset: Int, littleEndian: Bool) -> UInt16 {
        let (a, b) = (UInt16(bytes[offset]), UInt16(bytes[offset + 1]))
        return littleEndian ? a | b << 8 : a << 8 | b
    }

    private static func uint32(_ bytes: [UInt8], _ offset: Int, littleEndian: Bool) -> UInt32 {
        let b = bytes[offset..<(offset + 4)].map(UInt32.init)
        return littleEndian ? b[0] | b[1] << 8 | b[2] << 16 | b[3] << 24 : b[0] << 24 | b[1] << 16 | b[2] << 8 | b[3]
    }
}

/// A RoCEv2 packet found in a capture: Ethernet II → IPv4 → UDP to port 4791.
public struct CapturedRoCEPacket: Sendable {
    /// The index of the record in the file.
    public var recordIndex: Int
    /// The IPv4 header as captured.
    public var ip: IPv4Header
    /// The IPv4 header bytes as captured (fixed part).
    public var ipBytes: [UInt8]
    /// The UDP header as captured.
    public var udp: UDPHeader
    /// The UDP header bytes as captured.
    public var udpBytes: [UInt8]
    /// The UDP payload: BTH through ICRC.
    public var roce: [UInt8]

    /// The IP and UDP headers for ICRC computation.
    public var network: NetworkHeaders { .ipv4(ip, udp) }

    /// The packet without its ICRC field.
    public var roceWithoutICRC: ArraySlice<UInt8> { roce.dropLast(ICRC.byteCount) }
}

extension PcapFile {
    /// The RoCEv2 packets of an Ethernet capture, in capture order; other frames are skipped.
    public var rocePackets: [CapturedRoCEPacket] {
        guard linkType == Self.ethernetLinkType else { return [] }
        var packets: [CapturedRoCEPacket] = []
        for (index, record) in records.enumerated() {
            let frame = record.data
            guard frame.count >= 14 else { continue }
            var offset = 12
            var etherType = UInt16(frame[offset]) << 8 | UInt16(frame[offset + 1])
            if etherType == 0x8100, frame.count >= 18 {  // 802.1Q tag
                offset += 4
                etherType = UInt16(frame[offset]) << 8 | UInt16(frame[offset + 1])
            }
            offset += 2
            guard etherType == 0x0800,
                let ip = IPv4Header.decode(from: frame.span, at: offset),
                ip.protocolNumber == IPv4Header.udpProtocol,
                ip.flagsAndFragmentOffset & 0x3FFF == 0  // not a fragment
            else { continue }
            let udpOffset = offset + ip.headerLength
            guard let udp = UDPHeader.decode(from: frame.span, at: udpOffset),
                udp.destinationPort == UDPHeader.roceV2Port,
                udp.length >= UDPHeader.byteCount,
                frame.count - udpOffset >= Int(udp.length)
            else { continue }
            let payloadOffset = udpOffset + UDPHeader.byteCount
            packets.append(
                CapturedRoCEPacket(
                    recordIndex: index,
                    ip: ip,
                    ipBytes: Array(frame[offset..<(offset + IPv4Header.byteCount)]),
                    udp: udp,
                    udpBytes: Array(frame[udpOffset..<payloadOffset]),
                    roce: Array(frame[payloadOffset..<(udpOffset + Int(udp.length))])
                )
            )
        }
        return packets
    }
}
