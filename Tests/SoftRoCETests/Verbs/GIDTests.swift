import SoftRoCE
import Testing

@Suite("GID")
struct GIDTests {
    @Test("an IPv4-mapped GID prints like ibv_devinfo and round-trips its bytes")
    func ipv4Mapped() throws {
        let gid = GID(ipv4: 0xC0A8_0101)
        #expect(gid.description == "0000:0000:0000:0000:0000:ffff:c0a8:0101")
        #expect(gid.ipv4 == 0xC0A8_0101)
        #expect(gid.bytes == [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0xC0, 0xA8, 0x01, 0x01])
        #expect(try #require(GID(bytes: gid.bytes)) == gid)
    }

    @Test("bytes are big-endian across both halves")
    func bytesOrder() throws {
        let bytes: [UInt8] = [0xFE, 0x80, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
        let gid = try #require(GID(bytes: bytes))
        #expect(gid.high == 0xFE80_0000_0000_0001)
        #expect(gid.low == 0x0203_0405_0607_0809)
        #expect(gid.ipv4 == nil)
        #expect(gid.description == "fe80:0000:0000:0001:0203:0405:0607:0809")
    }

    @Test("a GID converts to and from the IPv6 address in the IP header")
    func ipv6Conversion() {
        let address = IPv6Address(ipv4Mapped: IPv4Address(rawValue: 0x0A00_0002))
        let gid = GID(address)
        #expect(gid.ipv4 == 0x0A00_0002)
        #expect(gid.ipv6Address == address)
        #expect(gid.bytes == address.bytes)
        let linkLocal = GID(high: 0xFE80_0000_0000_0000, low: 0x0211_22FF_FE33_4455)
        #expect(GID(linkLocal.ipv6Address) == linkLocal)
    }

    @Test("a GID needs exactly 16 bytes")
    func wrongLength() {
        #expect(GID(bytes: [UInt8](repeating: 0, count: 15)) == nil)
        #expect(GID(bytes: [UInt8](repeating: 0, count: 17)) == nil)
    }
}
