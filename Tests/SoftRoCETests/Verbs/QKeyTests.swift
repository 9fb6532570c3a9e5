import SoftRoCE
import Testing

@Suite("QKey")
struct QKeyTests {
    @Test("a Q_Key with the high bit set is controlled")
    func controlled() {
        #expect(QKey(rawValue: 0x8000_0000).isControlled)
        #expect(QKey(rawValue: 0xFFFF_FFFF).isControlled)
        #expect(!QKey(rawValue: 0x1111_1111).isControlled)
        #expect(!QKey(rawValue: 0x7FFF_FFFF).isControlled)
    }

    @Test("description is 8 hex digits")
    func description() {
        #expect(QKey(rawValue: 0x1111_1111).description == "0x11111111")
        #expect(QKey(rawValue: 0x42).description == "0x00000042")
    }
}
