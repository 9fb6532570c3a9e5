import SoftRoCEMemory
import Testing

@Suite("OnDemandUmem")
struct OnDemandUmemTests {
    let page = UInt64(Host.pageSize)

    @Test("map for write on fresh memory makes pages resident and entries READ+WRITE")
    func mapForWrite() throws {
        let memory = try AnonymousMemory(length: 64 * Host.pageSize)
        #expect(try memory.residentPages().allSatisfy { !$0 })
        let umem = try OnDemandUmem(address: memory.address, length: UInt64(memory.length), writable: true)
        #expect(umem.mappedPageCount == 0)
        #expect(try umem.map(memory.range, access: .write) == 64)
        #expect(try memory.residentPages().allSatisfy { $0 })
        for i in 0..<64 { #expect(umem.pageAccess(at: memory.address + UInt64(i) * page) == .readWrite) }
        #expect(umem.statistics.faults == 1)
        #expect(umem.statistics.faultedPages == 64)
        // Mapping again finds nothing to do.
        #expect(try umem.map(memory.range, access: .write) == 0)
    }

    @Test("a page mapped for read is upgraded to read+write")
    func upgrade() throws {
        let memory = try AnonymousMemory(length: 8 * Host.pageSize)
        let umem = try OnDemandUmem(address: memory.address, length: UInt64(memory.length), writable: true)
        #expect(try umem.map(memory.range, access: .read) == 8)
        #expect(umem.pageAccess(at: memory.address) == .read)
        let fault = try umem.access(memory.range, access: .write) { _ in () }
        guard case .pageFault(let missing) = fault else { Issue.record("expected a fault"); return }
        #expect(missing.address == memory.address)
        #expect(try umem.map(memory.address..<memory.address + 2 * page, access: .write) == 2)
        #expect(umem.pageAccess(at: memory.address + page) == .readWrite)
        #expect(umem.pageAccess(at: memory.address + 2 * page) == .read)
    }

    @Test("write to a PROT_READ mapping is a typed error with the address; read still works")
    func readOnlyMapping() throws {
        let memory = try AnonymousMemory(length: 4 * Host.pageSize)
        try memory.protect(.read, at: 2 * Host.pageSize, count: 2 * Host.pageSize)
        let umem = try OnDemandUmem(address: memory.address, length: UInt64(memory.length), writable: true)
        let error = #expect(throws: MemoryError.self) { try umem.map(memory.range, access: .write) }
        #expect(error?.code == .readOnlyMapping)
        #expect(error?.address == memory.address + 2 * page)
        #expect(umem.pageAccess(at: memory.address + page) == .readWrite)
        #expect(try umem.map(memory.range, access: .read) == 2)
    }

    @Test("PROT_NONE memory cannot be resolved")
    func inaccessible() throws {
        let memory = try AnonymousMemory(length: 2 * Host.pageSize, protection: .none)
        let umem = try OnDemandUmem(address: memory.address, length: UInt64(memory.length), writable: false)
        let error = #expect(throws: MemoryError.self) { try umem.map(memory.range, access: .read) }
        #expect(error?.code == .inaccessibleMapping)
        #expect(error?.address == memory.address)
    }

    @Test("a hole in the range is reported at that page; the pages before it are mapped", arguments: [0, 1, 5, 7])
    func hole(at holePage: Int) throws {
        // Tests run in parallel: another thread's mmap may land in the hole. Retry until the hole
        // stayed a hole for the whole attempt.
        for _ in 0..<5 {
            let memory = try AnonymousMemory(length: 8 * Host.pageSize)
            try memory.unmapPages(at: holePage * Host.pageSize, count: Host.pageSize)
            let umem = try OnDemandUmem(address: memory.address, length: UInt64(memory.length), writable: true)
            let outcome = Result { try umem.map(memory.range, access: .write) }
            guard (try? memory.residentPages(at: holePage * Host.pageSize, count: Host.pageSize)) == nil else { continue }
            let error = #expect(throws: MemoryError.self) { try outcome.get() }
            #expect(error?.code == .notMapped)
            #expect(error?.address == memory.address + UInt64(holePage) * page)
            for i in 0..<8 {
                let expected: PageAccess = i < holePage ? .readWrite : []
                #expect(umem.pageAccess(at: memory.address + UInt64(i) * page) == expected)
            }
            #expect(umem.mappedPageCount == holePage)
            return
        }
        Issue.record("the hole was refilled by concurrent mappings in every attempt")
    }

    @Test("accesses outside the region or beyond its registration are rejected")
    func validation() throws {
        let memory = try AnonymousMemory(length: 4 * Host.pageSize)
        let umem = try OnDemandUmem(address: memory.address + 16, length: 100, writable: false)
        let outside = #expect(throws: MemoryError.self) {
            try umem.map(memory.address + 100..<memory.address + 117, access: .read)
        }
        #expect(outside?.code == .outsideRegion)
        let write = #expect(throws: MemoryError.self) {
            try umem.map(memory.address + 16..<memory.address + 20, access: .write)
        }
        #expect(write?.code == .accessNotRegistered)
        #expect(throws: MemoryError.self) { try OnDemandUmem(address: 0x1000, length: 0, writable: true) }
        #expect(throws: MemoryError.self) { try OnDemandUmem(address: .max - 10, length: 100, writable: true) }
    }

    @Test("bytes round-trip through the access primitive, faulting synchronously")
    func roundTrip() throws {
        let memory = try AnonymousMemory(length: 16 * Host.pageSize)
        let umem = try OnDemandUmem(address: memory.address, length: UInt64(memory.length), writable: true)
        let payload = (0..<10_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let target = memory.address + 3000..<memory.address + 3000 + UInt64(payload.count)
        try umem.withBytes(target, access: .write) { $0.write(payload) }
        #expect(memory.read(at: 3000, count: payload.count) == payload)
        let back = try umem.withBytes(target, access: .read) { $0.bytes() }
        #expect(back == payload)
        #expect(umem.statistics.faults == 1)
    }

    @Test("invalidate clears entries, bumps the sequence, and the next access faults again")
    func invalidate() throws {
        let memory = try AnonymousMemory(length: 32 * Host.pageSize)
        let umem = try OnDemandUmem(address: memory.address, length: UInt64(memory.length), writable: true)
        try umem.map(memory.range, access: .write)
        let sequence = umem.notifierSequence
        memory.fill(0xAB, at: 8 * Host.pageSize, count: 4 * Host.pageSize)
        let cleared = umem.invalidate(memory.address + 8 * page..<memory.address + 12 * page)
        #expect(cleared == 4)
        #expect(umem.notifierSequence > sequence)
        #expect(umem.mappedPageCount == 28)
        let result = try umem.access(memory.address + 9 * page..<memory.address + 10 * page, access: .read) { _ in 1 }
        guard case .pageFault(let fault) = result else { Issue.record("expected a fault"); return }
        #expect(fault.address == memory.address + 9 * page)
        // The application drops the pages; after re-mapping the device reads zeros.
        try memory.dropPages(at: 8 * Host.pageSize, count: 4 * Host.pageSize)
        let bytes = try umem.withBytes(memory.address + 8 * page..<memory.address + 12 * page, access: .read) { $0.bytes() }
        #expect(bytes.allSatisfy { $0 == 0 })
        #expect(umem.statistics.invalidations == 1)
        #expect(umem.statistics.invalidatedPages == 4)
    }

    @Test("a 2 MiB huge-page region tracks one entry per huge page")
    func hugePages() throws {
        let huge = 2 << 20
        let memory = try AnonymousMemory(length: 2 * huge, alignment: huge)
        try memory.adviseHugePages()
        let umem = try OnDemandUmem(address: memory.address, length: UInt64(memory.length), writable: true, pageSize: .huge2MiB)
        #expect(try umem.map(memory.address + 5..<memory.address + 6, access: .write) == 1)
        #expect(umem.mappedPageCount == 1)
        #expect(umem.pageAccess(at: memory.address + UInt64(huge) - 1) == .readWrite)
        #expect(umem.pageAccess(at: memory.address + UInt64(huge)) == [])
        #expect(try memory.residentPages(count: huge).allSatisfy { $0 })
        #expect(throws: MemoryError.self) {
            try OnDemandUmem(address: memory.address + 4096, length: UInt64(huge), writable: true, pageSize: .huge2MiB)
        }
    }

    @Test("1 TiB registration on a MAP_NORESERVE reservation allocates no table memory until touched")
    func terabyte() throws {
        let tebibyte = 1 << 40
        let memory = try AnonymousMemory(length: tebibyte, reserveOnly: true)
        let umem = try OnDemandUmem(address: memory.address, length: UInt64(tebibyte), writable: true)
        #expect(umem.tableBytes == 0)
        #expect(umem.mappedPageCount == 0)
        let far = memory.address + UInt64(tebibyte) - 3 * page
        try umem.map(far..<far + 1, access: .write)
        #expect(umem.mappedPageCount == 1)
        #expect(umem.tableBytes > 0)
        #expect(umem.tableBytes <= 4 * 4096 + 512)
        // Invalidating the whole terabyte walks only what exists.
        #expect(umem.invalidate(umem.range) == 1)
        #expect(umem.releaseIdleTables() == 512)
    }

    @Test("dense mapping costs at most 16 table bytes per mapped page")
    func tableDensity() throws {
        let pages = 16_384
        let memory = try AnonymousMemory(length: pages * Host.pageSize)
        let umem = try OnDemandUmem(address: memory.address, length: UInt64(memory.length), writable: true)
        try umem.map(memory.range, access: .write)
        #expect(umem.mappedPageCount == pages)
        #expect(umem.tableBytes / pages <= 16)
    }

    @Test("the device's atomics operate on the real memory")
    func atomics() throws {
        let memory = try AnonymousMemory(length: Host.pageSize)
        let umem = try OnDemandUmem(address: memory.address, length: UInt64(memory.length), writable: true)
        let word = memory.address + 64..<memory.address + 72
        let original = try umem.withBytes(word, access: .write) { $0.fetchAdd64(at: 0, 5) }
        #expect(original == 0)
        let swapped = try umem.withBytes(word, access: .write) { $0.compareAndSwap64(at: 0, expected: 5, desired: 42) }
        #expect(swapped == 5)
        let failed = try umem.withBytes(word, access: .write) { $0.compareAndSwap64(at: 0, expected: 5, desired: 7) }
        #expect(failed == 42)
        #expect(memory.read(at: 64, count: 8) == [42, 0, 0, 0, 0, 0, 0, 0])
    }
}
