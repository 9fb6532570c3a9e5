/// A 24-bit queue pair number (the BTH DestQP and DETH SrcQP fields).
///
/// Values are masked to 24 bits on construction, the way `HTTP2StreamID(networkID:)` masks its reserved bit.
public struct QueuePairNumber: RawRepresentable, Hashable, Sendable, ExpressibleByIntegerLiteral,
    CustomStringConvertible
{
    /// The mask of the 24 significant bits.
    @inlinable public static var mask: UInt32 { 0x00FF_FFFF }

    /// QP1, the General Services Interface QP that carries connection management MADs.
    @inlinable public static var generalServices: QueuePairNumber { QueuePairNumber(rawValue: 1) }

    /// The number, always below 2^24.
    public let rawValue: UInt32

    /// Wraps `rawValue`, keeping only its low 24 bits.
    @inlinable
    public init(rawValue: UInt32) {
        self.rawValue = rawValue & Self.mask
    }

    /// Wraps a literal, keeping only its low 24 bits.
    @inlinable
    public init(integerLiteral value: UInt32) {
        self.init(rawValue: value)
    }

    /// Six hexadecimal digits, e.g. "0x000011" (the form `ibv_rc_pingpong` prints).
    public var description: String { hexString(rawValue, digits: 6) }
}
