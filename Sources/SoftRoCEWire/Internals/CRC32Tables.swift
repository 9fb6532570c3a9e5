/// Lookup tables of the reflected CRC-32 (polynomial 0xEDB88320).
enum CRC32Tables {
    /// Slicing-by-16 tables, 16 × 256 entries: entry `k * 256 + b` is the CRC register after byte `b`
    /// followed by `k` zero bytes, starting from a zero register. Table 0 is the classic byte table.
    static let slicing16: [UInt32] = {
        var tables = [UInt32](repeating: 0, count: 16 * 256)
        for byte in 0..<256 {
            var register = UInt32(byte)
            for _ in 0..<8 {
                register = register & 1 != 0 ? (register >> 1) ^ CRC32.polynomial : register >> 1
            }
            tables[byte] = register
        }
        for table in 1..<16 {
            for byte in 0..<256 {
                let previous = tables[(table - 1) * 256 + byte]
                tables[table * 256 + byte] = (previous >> 8) ^ tables[Int(previous & 0xFF)]
            }
        }
        return tables
    }()

    /// The inverse of the top byte of table 0: `topByteIndex[t0[b] >> 24] == b`. The top bytes of the 256
    /// entries are distinct, so this undoes one table step.
    static let topByteIndex: [UInt8] = {
        var index = [UInt8](repeating: 0, count: 256)
        for byte in 0..<256 {
            index[Int(slicing16[byte] >> 24)] = UInt8(byte)
        }
        return index
    }()

    /// Matrices over GF(2) that run the CRC register backwards over zero bytes: matrix `j` (32 columns, at
    /// `j * 32`) undoes `2^j` zero bytes. Column `i` is the image of bit `i`.
    static let backwardZeroBytePowers: [UInt32] = {
        var matrices = [UInt32](repeating: 0, count: 64 * 32)
        // Matrix 0: eight inverse bit steps. A forward step is s' = s >> 1 ^ (s & 1 ? P : 0); P has its top
        // bit set and s >> 1 does not, so the top bit of s' tells the low bit of s.
        for column in 0..<32 {
            var register = UInt32(1) << column
            for _ in 0..<8 {
                register =
                    register & 0x8000_0000 != 0 ? ((register ^ CRC32.polynomial) << 1) | 1 : register << 1
            }
            matrices[column] = register
        }
        for power in 1..<64 {
            for column in 0..<32 {
                matrices[power * 32 + column] = multiply(
                    matrices,
                    matrix: power - 1,
                    by: matrices[(power - 1) * 32 + column]
                )
            }
        }
        return matrices
    }()

    /// The product of matrix `matrix` in `matrices` with `vector`.
    @inline(__always)
    static func multiply(_ matrices: [UInt32], matrix: Int, by vector: UInt32) -> UInt32 {
        var result: UInt32 = 0
        var bits = vector
        var column = matrix * 32
        while bits != 0 {
            if bits & 1 != 0 {
                result ^= matrices[column]
            }
            bits >>= 1
            column += 1
        }
        return result
    }

    /// The register that, run forward over `byteCount` zero bytes, gives `register`. Negative counts are
    /// taken as zero.
    static func unshift(_ register: UInt32, zeroByteCount byteCount: Int) -> UInt32 {
        let matrices = backwardZeroBytePowers
        var result = register
        var remaining = UInt64(Swift.max(0, byteCount))
        var power = 0
        while remaining != 0 {
            if remaining & 1 != 0 {
                result = multiply(matrices, matrix: power, by: result)
            }
            remaining >>= 1
            power += 1
        }
        return result
    }
}
