/// A 24-bit packet sequence number (the BTH PSN field), with wrapping arithmetic.
///
/// PSNs live on a circle of 2^24 values. ``distance(to:)`` and ``precedes(_:)`` compare them the way Linux rxe's
/// `psn_compare()` does: the difference is taken modulo 2^24 and read as a signed 24-bit number, so a PSN is
/// "before" the 2^23 - 1 PSNs that follow it. That relation is not transitive, so the type is deliberately not
/// `Comparable`.
public struct PacketSequenceNumber: RawRepresentable, Hashable, Sendable, ExpressibleByIntegerLiteral,
    CustomStringConvertible
{
    /// The mask of the 24 significant bits.
    @inlinable public static var mask: UInt32 { 0x00FF_FFFF }

    /// The number of distinct PSNs, 2^24.
    @inlinable public static var modulus: Int { 1 << 24 }

    /// The value, always below 2^24.
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

    /// The PSN `n` steps later (earlier for negative `n`), modulo 2^24.
    @inlinable
    public func advanced(by n: Int) -> PacketSequenceNumber {
        PacketSequenceNumber(rawValue: rawValue &+ UInt32(truncatingIfNeeded: n))
    }

    /// The PSN that follows this one, modulo 2^24 (0xFFFFFF is followed by 0).
    @inlinable
    public var next: PacketSequenceNumber { advanced(by: 1) }

    /// The signed number of steps from this PSN to `other`, in `-2^23 ..< 2^23`.
    ///
    /// `a.distance(to: b)` has the sign of rxe's `psn_compare(b, a)`: `(int32)((b - a) << 8) >> 8`.
    @inlinable
    public func distance(to other: PacketSequenceNumber) -> Int {
        Int(Int32(bitPattern: (other.rawValue &- rawValue) << 8) >> 8)
    }

    /// Whether this PSN comes before `other` on the 24-bit circle: rxe's `psn_compare(self, other) < 0`.
    ///
    /// Exactly half the circle apart (2^23), each PSN precedes the other, as in rxe.
    @inlinable
    public func precedes(_ other: PacketSequenceNumber) -> Bool {
        other.distance(to: self) < 0
    }

    /// Whether this PSN comes after `other` on the 24-bit circle: rxe's `psn_compare(self, other) > 0`.
    @inlinable
    public func follows(_ other: PacketSequenceNumber) -> Bool {
        other.distance(to: self) > 0
    }

    /// `psn` advanced by `n`, modulo 2^24.
    @inlinable
    public static func + (psn: PacketSequenceNumber, n: Int) -> PacketSequenceNumber {
        psn.advanced(by: n)
    }

    /// `psn` moved back by `n`, modulo 2^24.
    @inlinable
    public static func - (psn: PacketSequenceNumber, n: Int) -> PacketSequenceNumber {
        psn.advanced(by: 0 &- n)
    }

    /// Six hexadecimal digits, e.g. "0x5cce62".
    public var description: String { hexString(rawValue, digits: 6) }
}
