import SoftRoCEWire
import Testing

@Suite("CRC32")
struct CRC32Tests {
    /// Bit-at-a-time reference: the definition, with no tables.
    static func reference(_ bytes: [UInt8], state: UInt32 = 0xFFFF_FFFF) -> UInt32 {
        var register = state
        for byte in bytes {
            register ^= UInt32(byte)
            for _ in 0..<8 {
                register = register & 1 != 0 ? (register >> 1) ^ 0xEDB8_8320 : register >> 1
            }
        }
        return register
    }

    @Test("check values")
    func checkValues() {
        #expect(CRC32.checksum(Array("123456789".utf8).span) == 0xCBF4_3926)
        #expect(CRC32.checksum([UInt8]().span) == 0)
        #expect(CRC32.checksum([UInt8](repeating: 0, count: 32).span) == 0x190A_55AD)
        #expect(CRC32.checksum(Array("The quick brown fox jumps over the lazy dog".utf8).span) == 0x414F_A339)
    }

    @Test("8 bytes of 0xFF leave the register at rxe's ICRC seed 0xdebb20e3")
    func icrcSeed() {
        var crc = CRC32()
        crc.update([UInt8](repeating: 0xFF, count: 8).span)
        #expect(crc.state == 0xDEBB_20E3)
        #expect(CRC32(state: crc.state).value == ~UInt32(0xDEBB_20E3))
    }

    @Test("table-driven updates equal the bitwise definition at every length and split")
    func matchesReference() {
        var generator = SplitMix64(seed: 0xC4C3_2)
        for length in 0..<300 {
            let bytes = generator.bytes(length)
            let expected = ~Self.reference(bytes)
            #expect(CRC32.checksum(bytes.span) == expected, "length \(length)")
            let split = length == 0 ? 0 : Int.random(in: 0...length, using: &generator)
            var crc = CRC32()
            crc.update(Array(bytes[..<split]).span)
            for byte in bytes[split...].prefix(3) { crc.update(byte) }
            crc.update(Array(bytes[split...].dropFirst(3)).span)
            #expect(crc.value == expected, "length \(length) split \(split)")
        }
    }
}
