import SoftRoCE
import Testing

@Suite("MemoryKey")
struct MemoryKeyTests {
    @Test("a key is a 24-bit index above an 8-bit variant")
    func layout() {
        let key = RemoteKey(index: 0x12_3456, variant: 0x78)
        #expect(key.rawValue == 0x1234_5678)
        #expect(key.index == 0x12_3456)
        #expect(key.variant == 0x78)
        #expect(LocalKey(rawValue: 0xABCD_EF01).index == 0xAB_CDEF)
        #expect(LocalKey(rawValue: 0xABCD_EF01).variant == 0x01)
    }

    @Test("an index above 24 bits is masked")
    func indexMasked() {
        #expect(LocalKey(index: 0x0100_0001, variant: 2).rawValue == 0x0000_0102)
    }

    @Test("re-registration gets a new variant, so the stale key no longer matches")
    func nextVariant() {
        let old = RemoteKey(index: 42, variant: 7)
        let new = old.nextVariant()
        #expect(new.index == old.index)
        #expect(new.variant == 8)
        #expect(new != old)
    }

    @Test("the variant wraps like ibv_inc_rkey without touching the index")
    func variantWraps() {
        let key = LocalKey(index: 0xFF_FFFF, variant: 0xFF).nextVariant()
        #expect(key.rawValue == 0xFFFF_FF00)
    }

    @Test("description is 8 hex digits")
    func description() {
        #expect(RemoteKey(rawValue: 0x12a07).description == "0x00012a07")
    }
}
