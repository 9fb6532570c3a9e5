@testable import SoftRoCEWire
import Testing

@Suite("Opcode traits table")
struct OpcodeTraitsTableTests {
    @Test("the literal per-byte table is the rxe derivation, for all 256 opcode bytes")
    func tableMatchesDerivation() {
        for byte in 0...255 {
            let opcode = Opcode(rawValue: UInt8(byte))
            #expect(OpcodeTraits.table[byte] == OpcodeTraits.derive(opcode).rawValue, "opcode 0x\(String(byte, radix: 16))")
        }
    }
}
