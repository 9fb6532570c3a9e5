/// A 24-bit message sequence number (the AETH MSN field): the responder's count of completed messages,
/// with wrapping arithmetic.
///
/// Compared like ``PacketSequenceNumber``: modulo 2^24, read as a signed 24-bit difference.
public struct MessageSequenceNumber: RawRepresentable, Hashable, Sendable, ExpressibleByIntegerLiteral,
    CustomStringConvertible
{
    /// The mask of the 24 significant bits.
    public static let mask: UInt32 = 0x00FF_FFFF

    /// The value, always below 2^24.
    public let rawValue: UInt32

    /// Wraps `rawValue`, keeping only its low 24 bits.
    public init(rawValue: UInt32) {
        self.rawValue = rawValue & Self.mask
    }

    /// Wraps a literal, keeping only its low 24 bits.
    public init(integerLiteral value: UInt32) {
        self.init(rawValue: value)
    }

    /// The MSN `n` messages later (earlier for negative `n`), modulo 2^24.
    public func advanced(by n: Int) -> MessageSequenceNumber {
        MessageSequenceNumber(rawValue: rawValue &+ UInt32(truncatingIfNeeded: n))
    }

    /// The MSN that follows this one, modulo 2^24.
    public var next: MessageSequenceNumber { advanced(by: 1) }

    /// The signed number of messages from this MSN to `other`, in `-2^23 ..< 2^23`.
    public func distance(to other: MessageSequenceNumber) -> Int {
        Int(Int32(bitPattern: (other.rawValue &- rawValue) << 8) >> 8)
    }

    /// The decimal value, e.g. "42".
    public var description: String { String(rawValue) }
}
