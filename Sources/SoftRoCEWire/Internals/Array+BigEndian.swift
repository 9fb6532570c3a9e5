extension Array where Element == UInt8 {
    /// Appends `value` most significant byte first.
    @inline(__always)
    mutating func appendBigEndian(_ value: UInt16) {
        append(UInt8(truncatingIfNeeded: value >> 8))
        append(UInt8(truncatingIfNeeded: value))
    }

    /// Appends the low 24 bits of `value`, most significant byte first.
    @inline(__always)
    mutating func appendBigEndianUInt24(_ value: UInt32) {
        append(UInt8(truncatingIfNeeded: value >> 16))
        append(UInt8(truncatingIfNeeded: value >> 8))
        append(UInt8(truncatingIfNeeded: value))
    }

    /// Appends `value` most significant byte first.
    @inline(__always)
    mutating func appendBigEndian(_ value: UInt32) {
        appendBigEndian(UInt16(truncatingIfNeeded: value >> 16))
        appendBigEndian(UInt16(truncatingIfNeeded: value))
    }

    /// Appends `value` most significant byte first.
    @inline(__always)
    mutating func appendBigEndian(_ value: UInt64) {
        appendBigEndian(UInt32(truncatingIfNeeded: value >> 32))
        appendBigEndian(UInt32(truncatingIfNeeded: value))
    }

    /// Appends `value` most significant byte first.
    @inline(__always)
    mutating func appendBigEndian(_ value: UInt128) {
        appendBigEndian(UInt64(truncatingIfNeeded: value >> 64))
        appendBigEndian(UInt64(truncatingIfNeeded: value))
    }

    /// Appends `value` least significant byte first (the byte order of the ICRC field).
    @inline(__always)
    mutating func appendLittleEndian(_ value: UInt32) {
        append(UInt8(truncatingIfNeeded: value))
        append(UInt8(truncatingIfNeeded: value >> 8))
        append(UInt8(truncatingIfNeeded: value >> 16))
        append(UInt8(truncatingIfNeeded: value >> 24))
    }

    /// Appends every byte of `bytes`.
    @inline(__always)
    mutating func appendBytes(_ bytes: Span<UInt8>) {
        append(addingCapacity: bytes.count) { output in
            for index in bytes.indices {
                output.append(bytes[index])
            }
        }
    }
}
