import SoftRoCEWire

/// A 128-bit global identifier: the IPv6 (or IPv4-mapped IPv6) address that names a RoCEv2 port in the
/// GRH/IP header. Stored big-endian as two 64-bit halves. Corresponds to `union ibv_gid`.
public struct GID: Hashable, Sendable, CustomStringConvertible {
    /// Bytes 0–7 of the GID, big-endian (byte 0 is the most significant).
    public var high: UInt64
    /// Bytes 8–15 of the GID, big-endian.
    public var low: UInt64

    /// Creates a GID from its two big-endian halves.
    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// Creates a GID from its 16 bytes in network order; `nil` unless `bytes` has exactly 16 elements.
    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == 16 else { return nil }
        var high: UInt64 = 0
        var low: UInt64 = 0
        for (offset, byte) in bytes.enumerated() {
            if offset < 8 {
                high = high << 8 | UInt64(byte)
            } else {
                low = low << 8 | UInt64(byte)
            }
        }
        self.init(high: high, low: low)
    }

    /// The IPv4-mapped GID `::ffff:a.b.c.d` of an IPv4 address, as RoCEv2 builds for an IPv4 interface.
    /// - Parameter ipv4: the address in host order, e.g. `0xC0A8_0101` for 192.168.1.1.
    public init(ipv4: UInt32) {
        self.init(high: 0, low: 0x0000_FFFF_0000_0000 | UInt64(ipv4))
    }

    /// The GID whose 128 bits are `address` (RoCEv2 GIDs are IPv6 or IPv4-mapped IPv6 addresses).
    public init(_ address: IPv6Address) {
        self.init(
            high: UInt64(truncatingIfNeeded: address.rawValue >> 64),
            low: UInt64(truncatingIfNeeded: address.rawValue)
        )
    }

    /// The GID as the IPv6 address the GRH / IP header carries.
    public var ipv6Address: IPv6Address {
        IPv6Address(rawValue: UInt128(high) << 64 | UInt128(low))
    }

    /// The all-zero GID (an empty GID table entry).
    public static let zero = GID(high: 0, low: 0)

    /// The 16 bytes in network order.
    public var bytes: [UInt8] {
        (0..<16).map { i in
            let half = i < 8 ? high : low
            return UInt8(truncatingIfNeeded: half >> (56 - 8 * UInt64(i % 8)))
        }
    }

    /// The IPv4 address (host order) if this is an IPv4-mapped GID (`::ffff:a.b.c.d`), else `nil`.
    public var ipv4: UInt32? {
        guard high == 0, low >> 32 == 0x0000_FFFF else { return nil }
        return UInt32(truncatingIfNeeded: low)
    }

    /// The GID as `ibv_devinfo -v` prints it: eight groups of four hex digits,
    /// e.g. `0000:0000:0000:0000:0000:ffff:c0a8:0101`.
    public var description: String {
        let groups = (0..<8).map { i -> String in
            let half = i < 4 ? high : low
            let group = UInt16(truncatingIfNeeded: half >> (48 - 16 * UInt64(i % 4)))
            let hex = String(group, radix: 16)
            return String(repeating: "0", count: 4 - hex.count) + hex
        }
        return groups.joined(separator: ":")
    }
}
