/// An IPv6 address, stored as its 128-bit value; also the form of a RoCEv2 GID.
///
/// With RoCEv2 over IPv4, a GID is the IPv4-mapped address `::ffff:a.b.c.d` (``init(ipv4Mapped:)``).
public struct IPv6Address: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// The address as a 128-bit number, first byte in the top byte.
    public var rawValue: UInt128

    /// Wraps a 128-bit address value.
    public init(rawValue: UInt128) {
        self.rawValue = rawValue
    }

    /// The IPv4-mapped address `::ffff:a.b.c.d` of `address` (RFC 4291 2.5.5.2).
    public init(ipv4Mapped address: IPv4Address) {
        rawValue = UInt128(0xFFFF) << 32 | UInt128(address.rawValue)
    }

    /// The embedded IPv4 address if this is an IPv4-mapped address, else `nil`.
    public var ipv4Mapped: IPv4Address? {
        guard rawValue >> 32 == 0xFFFF else { return nil }
        return IPv4Address(rawValue: UInt32(truncatingIfNeeded: rawValue))
    }

    /// The sixteen bytes in wire order.
    public var bytes: [UInt8] {
        (0..<16).map { UInt8(truncatingIfNeeded: rawValue >> (120 - 8 * $0)) }
    }

    /// The address in RFC 5952 text form: lower-case hexadecimal, the longest run of two or more zero groups
    /// shortened to "::", IPv4-mapped addresses as "::ffff:192.168.77.11".
    public var description: String {
        if let ipv4 = ipv4Mapped {
            return "::ffff:\(ipv4)"
        }
        let groups = (0..<8).map { UInt16(truncatingIfNeeded: rawValue >> (112 - 16 * $0)) }
        var bestStart = -1
        var bestLength = 1
        var index = 0
        while index < 8 {
            guard groups[index] == 0 else {
                index += 1
                continue
            }
            var end = index
            while end < 8, groups[end] == 0 { end += 1 }
            if end - index > bestLength {
                bestStart = index
                bestLength = end - index
            }
            index = end
        }
        func text(_ range: Range<Int>) -> String {
            groups[range].map { String($0, radix: 16) }.joined(separator: ":")
        }
        guard bestStart >= 0 else { return text(0..<8) }
        return text(0..<bestStart) + "::" + text((bestStart + bestLength)..<8)
    }
}
