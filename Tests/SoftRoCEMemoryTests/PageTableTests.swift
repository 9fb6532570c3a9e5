import Testing

@testable import SoftRoCEMemory

@Suite("PageTable")
struct PageTableTests {
    @Test("a fresh table allocates nothing and reports every page missing", arguments: [1, 511, 512, 513, 1 << 18, 1 << 28])
    func freshTable(pages: Int) {
        let table = PageTable(pageCount: pages)
        #expect(table.allocatedBytes == 0)
        #expect(table.firstPageLacking(0..<pages, bits: PageAccess.read.rawValue) == 0)
        #expect(table.runsLacking(0..<pages, bits: 1) == [0..<pages])
        #expect(table.presentPageCount() == 0)
    }

    @Test("set, look up and clear across leaf and node boundaries")
    func setAndClear() {
        let table = PageTable(pageCount: 1 << 20)
        table.setBits(500..<1100, PageAccess.read.rawValue)
        table.setBits(262_140..<262_150, PageAccess.readWrite.rawValue)
        #expect(table.presentPageCount() == 600 + 10)
        #expect(table.firstPageLacking(500..<1100, bits: 1) == nil)
        #expect(table.firstPageLacking(499..<1100, bits: 1) == 499)
        #expect(table.firstPageLacking(500..<1101, bits: 1) == 1100)
        #expect(table.firstPageLacking(500..<1100, bits: 3) == 500)
        #expect(table.firstPageLacking(262_140..<262_150, bits: 3) == nil)
        #expect(table.entry(ofPage: 262_144) == .readWrite)
        #expect(table.entry(ofPage: 1100) == [])
        #expect(table.runsLacking(400..<1200, bits: 1) == [400..<500, 1100..<1200])
        #expect(table.runsLacking(0..<(1 << 20), bits: 3) == [0..<262_140, 262_150..<(1 << 20)])
        #expect(table.clear(1000..<262_145) == 100 + 5)
        #expect(table.presentPageCount() == 505)
        #expect(table.entry(ofPage: 262_145) == .readWrite)
        #expect(table.entry(ofPage: 999) == .read)
    }

    @Test("empty leaves can be detached and freed; leaves with entries stay")
    func detachEmptyLeaves() {
        let table = PageTable(pageCount: 1 << 12)
        table.setBits(0..<4096, 1)
        let full = table.allocatedBytes
        table.clear(0..<2048)
        let detached = table.detachEmptyLeaves(0..<4096)
        #expect(detached.count == 4)
        table.freeDetached(detached)
        #expect(table.allocatedBytes == full - 4 * 512)
        #expect(table.presentPageCount() == 2048)
        #expect(table.firstPageLacking(2048..<4096, bits: 1) == nil)
    }

    @Test("dense tables cost about one byte per page")
    func density() {
        let pages = 1 << 18
        let table = PageTable(pageCount: pages)
        table.setBits(0..<pages, 3)
        #expect(Double(table.allocatedBytes) / Double(pages) <= 1.1)
    }
}
