/// An IPv4 address, stored as its 32-bit value (192.168.77.11 is 0xC0A8_4D0B).
public struct IPv4Address: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// The address as a 32-bit number, first octet in the top byte.
    public var rawValue: UInt32

    /// Wraps a 32-bit address value.
    public init(rawValue: UInt32) {
        self.rawValue = rawValue
    }

    /// Creates `a.b.c.d`.
    public init(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) {
        rawValue = UInt32(a) << 24 | UInt32(b) << 16 | UInt32(c) << 8 | UInt32(d)
    }

    /// Parses dotted-quad notation, e.g. "192.168.77.11".
    ///
    /// - Returns: `nil` unless the string is exactly four decimal octets (0-255, at most three digits each)
    ///   separated by dots.
    public init?(_ string: some StringProtocol) {
        let parts = string.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var value: UInt32 = 0
        for part in parts {
            guard (1...3).contains(part.utf8.count), part.utf8.allSatisfy({ (0x30...0x39).contains($0) }),
                let octet = UInt8(part)
            else { return nil }
            value = value << 8 | UInt32(octet)
        }
        rawValue = value
    }

    /// The four octets, first octet first.
    public var octets: (UInt8, UInt8, UInt8, UInt8) {
        (
            UInt8(truncatingIfNeeded: rawValue >> 24), UInt8(truncatingIfNeeded: rawValue >> 16),
            UInt8(truncatingIfNeeded: rawValue >> 8), UInt8(truncatingIfNeeded: rawValue)
        )
    }

    /// Dotted-quad notation, e.g. "192.168.77.11".
    public var description: String {
        let (a, b, c, d) = octets
        return "\(a).\(b).\(c).\(d)"
    }
}
