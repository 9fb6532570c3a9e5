/// The ACK Extended Transport Header (4 bytes; rxe's `rxe_aeth`): a syndrome byte and the 24-bit MSN.
///
/// Carried by Acknowledge, ATOMIC Acknowledge and RDMA READ Response First/Last/Only.
public struct AETH: Hashable, Sendable {
    /// The encoded length, 4 bytes.
    public static let byteCount = 4

    /// What the responder reports: ACK with credits, RNR NAK with a timer, or a NAK code.
    public var syndrome: Syndrome
    /// The responder's message sequence number: the count of messages it has completed.
    public var msn: MessageSequenceNumber

    /// Creates an AETH.
    public init(syndrome: Syndrome, msn: MessageSequenceNumber) {
        self.syndrome = syndrome
        self.msn = msn
    }

    /// Reads an AETH from the 4 bytes at `offset`.
    ///
    /// - Returns: the header, or `nil` if fewer than 4 bytes follow `offset`. Every syndrome byte decodes;
    ///   reserved ones show as ``Syndrome/Kind/reserved(_:)``.
    public static func decode(from bytes: Span<UInt8>, at offset: Int = 0) -> AETH? {
        guard bytes.containsBytes(at: offset, length: byteCount) else { return nil }
        return AETH(
            syndrome: Syndrome(rawValue: bytes[offset]),
            msn: MessageSequenceNumber(rawValue: bytes.bigEndianUInt24(at: offset + 1))
        )
    }

    /// Appends the 4 encoded bytes to `buffer`.
    ///
    /// - Returns: the number of bytes written, 4.
    @discardableResult
    public func encode(into buffer: inout [UInt8]) -> Int {
        buffer.append(syndrome.rawValue)
        buffer.appendBigEndianUInt24(msn.rawValue)
        return Self.byteCount
    }
}
