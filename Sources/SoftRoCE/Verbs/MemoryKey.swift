/// A 32-bit memory key (lkey or rkey): a 24-bit table index in the high bits and an 8-bit variant
/// ("key") byte in the low bits, the layout of rxe and of `ibv_inc_rkey`.
///
/// When a memory region is deregistered and its table slot reused, the new registration gets a different
/// variant, so a stale key still naming the old registration no longer matches and is rejected
/// (`IBV_WC_LOC_PROT_ERR` locally, `IBV_WC_REM_ACCESS_ERR` remotely). ``LocalKey`` and ``RemoteKey``
/// conform, so the two cannot be mixed up.
public protocol MemoryKey: RawRepresentable, Hashable, Sendable, CustomStringConvertible
where RawValue == UInt32 {
    /// Creates a key from its 32-bit value as it appears in a work request or on the wire.
    init(rawValue: UInt32)
}

extension MemoryKey {
    /// The largest table index a key can carry: 2²⁴ − 1.
    public static var maximumIndex: UInt32 { 0x00FF_FFFF }

    /// Creates a key from a table index and a variant byte.
    /// - Parameters:
    ///   - index: the registration's table slot; only the low 24 bits are kept.
    ///   - variant: the slot's current variant byte.
    public init(index: UInt32, variant: UInt8) {
        self.init(rawValue: (index & Self.maximumIndex) << 8 | UInt32(variant))
    }

    /// The 24-bit table index (the key's high 24 bits).
    public var index: UInt32 { rawValue >> 8 }

    /// The 8-bit variant byte (the key's low 8 bits).
    public var variant: UInt8 { UInt8(truncatingIfNeeded: rawValue) }

    /// The same index with the next variant (wrapping 255 → 0): the key a re-registration of the slot gets.
    /// Corresponds to `ibv_inc_rkey`.
    public func nextVariant() -> Self {
        Self(index: index, variant: variant &+ 1)
    }

    /// The key as 8 hex digits, e.g. `0x00012a07`.
    public var description: String {
        let hex = String(rawValue, radix: 16)
        return "0x" + String(repeating: "0", count: 8 - hex.count) + hex
    }
}
