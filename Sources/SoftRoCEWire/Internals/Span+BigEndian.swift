extension Span where Element == UInt8 {
    /// Whether `length` bytes starting at `offset` lie inside the span; false for negative arguments.
    @inline(__always)
    func containsBytes(at offset: Int, length: Int) -> Bool {
        offset >= 0 && length >= 0 && offset <= count && count - offset >= length
    }

    /// The big-endian `UInt16` at `offset`. The caller has checked the range with ``containsBytes(at:length:)``.
    @inline(__always)
    func bigEndianUInt16(at offset: Int) -> UInt16 {
        UInt16(self[offset]) << 8 | UInt16(self[offset + 1])
    }

    /// The big-endian 24-bit value at `offset`, in the low bits of a `UInt32`.
    @inline(__always)
    func bigEndianUInt24(at offset: Int) -> UInt32 {
        UInt32(self[offset]) << 16 | UInt32(self[offset + 1]) << 8 | UInt32(self[offset + 2])
    }

    /// The big-endian `UInt32` at `offset`.
    @inline(__always)
    func bigEndianUInt32(at offset: Int) -> UInt32 {
        UInt32(self[offset]) << 24 | UInt32(self[offset + 1]) << 16 | UInt32(self[offset + 2]) << 8
            | UInt32(self[offset + 3])
    }

    /// The big-endian `UInt64` at `offset`.
    @inline(__always)
    func bigEndianUInt64(at offset: Int) -> UInt64 {
        UInt64(bigEndianUInt32(at: offset)) << 32 | UInt64(bigEndianUInt32(at: offset + 4))
    }

    /// The little-endian `UInt32` at `offset` (the byte order of the ICRC field).
    @inline(__always)
    func littleEndianUInt32(at offset: Int) -> UInt32 {
        UInt32(self[offset]) | UInt32(self[offset + 1]) << 8 | UInt32(self[offset + 2]) << 16
            | UInt32(self[offset + 3]) << 24
    }
}
