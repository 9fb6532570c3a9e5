/// The Immediate Data header of the "with Immediate" opcodes (4 bytes; rxe's `rxe_immdt`).
///
/// The value is opaque to the transport. ``value`` reads the four bytes big-endian, so the verbs `imm_data`
/// (a `__be32`) is `value.bigEndian` stored as is on a little-endian host.
public struct ImmDt: Hashable, Sendable {
    /// The encoded length, 4 bytes.
    public static let byteCount = 4

    /// The immediate data, the four wire bytes read big-endian.
    public var value: UInt32

    /// Creates an ImmDt.
    public init(value: UInt32) {
        self.value = value
    }

    /// Reads an ImmDt from the 4 bytes at `offset`.
    ///
    /// - Returns: the header, or `nil` if fewer than 4 bytes follow `offset`.
    public static func decode(from bytes: Span<UInt8>, at offset: Int = 0) -> ImmDt? {
        guard bytes.containsBytes(at: offset, length: byteCount) else { return nil }
        return ImmDt(value: bytes.bigEndianUInt32(at: offset))
    }

    /// Appends the 4 encoded bytes to `buffer`.
    ///
    /// - Returns: the number of bytes written, 4.
    @discardableResult
    public func encode(into buffer: inout [UInt8]) -> Int {
        buffer.appendBigEndian(value)
        return Self.byteCount
    }
}
