/// A 16-bit partition key (the BTH P_Key field).
///
/// The top bit is the membership type (1 = full member); the low 15 bits are the partition. RoCEv2 devices,
/// rxe included, use the default partition 0xFFFF.
public struct PartitionKey: RawRepresentable, Hashable, Sendable, ExpressibleByIntegerLiteral,
    CustomStringConvertible
{
    /// The default partition, full membership: 0xFFFF.
    @inlinable public static var `default`: PartitionKey { PartitionKey(rawValue: 0xFFFF) }

    /// The key as it appears on the wire.
    public var rawValue: UInt16

    /// Wraps a key; any value is accepted.
    @inlinable
    public init(rawValue: UInt16) {
        self.rawValue = rawValue
    }

    /// Wraps a literal key.
    public init(integerLiteral value: UInt16) {
        self.init(rawValue: value)
    }

    /// Whether the membership bit (bit 15) says full member.
    public var isFullMember: Bool { rawValue & 0x8000 != 0 }

    /// The partition number, the low 15 bits.
    public var partition: UInt16 { rawValue & 0x7FFF }

    /// Four hexadecimal digits, e.g. "0xffff".
    public var description: String { hexString(rawValue, digits: 4) }
}
