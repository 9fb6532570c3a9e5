/// The 40-byte IPv6 header (RFC 8200) that carries RoCEv2 over IPv6.
///
/// The ICRC covers all 40 bytes with traffic class, flow label and hop limit masked to ones.
public struct IPv6Header: Hashable, Sendable {
    /// The header length, 40 bytes.
    public static let byteCount = 40

    /// The traffic class: DSCP in the top six bits, ECN in the low two. Masked in the ICRC.
    public var trafficClass: UInt8
    private var storedFlowLabel: UInt32
    /// The length of everything after this header (the UDP datagram), in bytes.
    public var payloadLength: UInt16
    /// The next header; 17 (UDP) for RoCEv2.
    public var nextHeader: UInt8
    /// The hop limit. Masked in the ICRC.
    public var hopLimit: UInt8
    /// The sender's address (the source GID).
    public var source: IPv6Address
    /// The receiver's address (the destination GID).
    public var destination: IPv6Address

    /// The 20-bit flow label; only the low 20 bits are kept. Masked in the ICRC.
    public var flowLabel: UInt32 {
        get { storedFlowLabel }
        set { storedFlowLabel = newValue & 0xF_FFFF }
    }

    /// Creates a header.
    ///
    /// - Parameters:
    ///   - payloadLength: the UDP datagram's length; ``NetworkHeaders/settingLengths(roceByteCount:)`` fills it in.
    public init(
        source: IPv6Address,
        destination: IPv6Address,
        payloadLength: UInt16 = 0,
        nextHeader: UInt8 = IPv4Header.udpProtocol,
        hopLimit: UInt8 = 64,
        trafficClass: UInt8 = 0,
        flowLabel: UInt32 = 0
    ) {
        self.trafficClass = trafficClass
        self.storedFlowLabel = flowLabel & 0xF_FFFF
        self.payloadLength = payloadLength
        self.nextHeader = nextHeader
        self.hopLimit = hopLimit
        self.source = source
        self.destination = destination
    }

    /// Reads the header at `offset`.
    ///
    /// - Returns: the header, or `nil` if the version is not 6 or fewer than 40 bytes follow `offset`.
    public static func decode(from bytes: Span<UInt8>, at offset: Int = 0) -> IPv6Header? {
        guard bytes.containsBytes(at: offset, length: byteCount) else { return nil }
        let first = bytes.bigEndianUInt32(at: offset)
        guard first >> 28 == 6 else { return nil }
        func address(at position: Int) -> IPv6Address {
            IPv6Address(
                rawValue: UInt128(bytes.bigEndianUInt64(at: position)) << 64
                    | UInt128(bytes.bigEndianUInt64(at: position + 8))
            )
        }
        return IPv6Header(
            source: address(at: offset + 8),
            destination: address(at: offset + 24),
            payloadLength: bytes.bigEndianUInt16(at: offset + 4),
            nextHeader: bytes[offset + 6],
            hopLimit: bytes[offset + 7],
            trafficClass: UInt8(truncatingIfNeeded: first >> 20),
            flowLabel: first & 0xF_FFFF
        )
    }

    /// Appends the 40 encoded bytes to `buffer`.
    ///
    /// - Returns: the number of bytes written, 40.
    @discardableResult
    public func encode(into buffer: inout [UInt8]) -> Int {
        buffer.appendBigEndian(UInt32(6) << 28 | UInt32(trafficClass) << 20 | storedFlowLabel)
        buffer.appendBigEndian(payloadLength)
        buffer.append(nextHeader)
        buffer.append(hopLimit)
        buffer.appendBigEndian(source.rawValue)
        buffer.appendBigEndian(destination.rawValue)
        return Self.byteCount
    }
}
