/// The 8-byte UDP header (RFC 768). RoCEv2 uses destination port 4791 and, from Linux, a zero checksum.
///
/// The ICRC covers it with the checksum masked to ones.
public struct UDPHeader: Hashable, Sendable {
    /// The header length, 8 bytes.
    public static let byteCount = 8

    /// The IANA port of RoCEv2, 4791.
    public static let roceV2Port: UInt16 = 4791

    /// The sender's port; RoCEv2 uses it for ECMP entropy (see ``roceSourcePort(queuePair:)``).
    public var sourcePort: UInt16
    /// The receiver's port, 4791 for RoCEv2.
    public var destinationPort: UInt16
    /// The length of the datagram in bytes, header included.
    public var length: UInt16
    /// The checksum as stored; 0 means none (Linux rxe sends 0). Masked in the ICRC.
    public var checksum: UInt16

    /// Creates a header.
    ///
    /// - Parameters:
    ///   - length: bytes in the datagram; ``NetworkHeaders/settingLengths(roceByteCount:)`` fills it in.
    public init(
        sourcePort: UInt16,
        destinationPort: UInt16 = UDPHeader.roceV2Port,
        length: UInt16 = 0,
        checksum: UInt16 = 0
    ) {
        self.sourcePort = sourcePort
        self.destinationPort = destinationPort
        self.length = length
        self.checksum = checksum
    }

    /// Reads the header at `offset`.
    ///
    /// - Returns: the header, or `nil` if fewer than 8 bytes follow `offset`.
    public static func decode(from bytes: Span<UInt8>, at offset: Int = 0) -> UDPHeader? {
        guard bytes.containsBytes(at: offset, length: byteCount) else { return nil }
        return UDPHeader(
            sourcePort: bytes.bigEndianUInt16(at: offset),
            destinationPort: bytes.bigEndianUInt16(at: offset + 2),
            length: bytes.bigEndianUInt16(at: offset + 4),
            checksum: bytes.bigEndianUInt16(at: offset + 6)
        )
    }

    /// Appends the 8 encoded bytes to `buffer`.
    ///
    /// - Returns: the number of bytes written, 8.
    @discardableResult
    public func encode(into buffer: inout [UInt8]) -> Int {
        buffer.appendBigEndian(sourcePort)
        buffer.appendBigEndian(destinationPort)
        buffer.appendBigEndian(length)
        buffer.appendBigEndian(checksum)
        return Self.byteCount
    }
}
