import SoftRoCEMemory
import Testing

@Suite("PinnedUmem")
struct PinnedUmemTests {
    let page = Host.pageSize

    @Test("registration locks and accounts pages; release un-accounts exactly once")
    func accounting() throws {
        let account = MemlockAccount(limitBytes: 1 << 20)
        let memory = try AnonymousMemory(length: 16 * page)
        let umem = try PinnedUmem(address: memory.address, length: UInt64(memory.length), writable: true, account: account)
        #expect(account.pinnedPages == 16)
        #expect(try memory.residentPages().allSatisfy { $0 })
        umem.release()
        #expect(account.pinnedPages == 0)
        umem.release()
        #expect(account.pinnedPages == 0)
        #expect(umem.isReleased)
    }

    @Test("an unaligned range is accounted in whole pages")
    func unaligned() throws {
        let account = MemlockAccount(limitBytes: nil)
        let memory = try AnonymousMemory(length: 4 * page)
        let umem = try PinnedUmem(address: memory.address + 100, length: UInt64(page), writable: false, account: account)
        #expect(account.pinnedPages == 2)
        #expect(umem.lockedRange == memory.address..<memory.address + UInt64(2 * page))
        withExtendedLifetime(umem) {}
    }

    @Test("an over-limit registration fails and leaves the count unchanged")
    func overLimit() throws {
        let account = MemlockAccount(limitBytes: UInt64(64 * 1024))
        let memory = try AnonymousMemory(length: 64 * page)
        let first = try PinnedUmem(address: memory.address, length: UInt64(8 * page), writable: true, account: account)
        #expect(account.pinnedPages == 8)
        let error = #expect(throws: MemoryError.self) {
            try PinnedUmem(address: memory.address + UInt64(8 * page), length: UInt64(9 * page), writable: true, account: account)
        }
        #expect(error?.code == .memlockLimitExceeded)
        #expect(account.pinnedPages == 8)
        let fits = try PinnedUmem(address: memory.address + UInt64(8 * page), length: UInt64(8 * page), writable: true, account: account)
        #expect(account.pinnedPages == 16)
        withExtendedLifetime((first, fits)) {}
    }

    @Test("register/release cycles return the count to zero")
    func cycles() throws {
        let account = MemlockAccount(limitBytes: 1 << 20)
        let memory = try AnonymousMemory(length: 64 * page)
        for round in 1...50 {
            let pages = (round % 16) + 1
            var held: [PinnedUmem] = []
            for k in 0..<3 {
                held.append(try PinnedUmem(
                    address: memory.address + UInt64(k * 16 * page), length: UInt64(pages * page),
                    writable: true, account: account))
            }
            #expect(account.pinnedPages == UInt64(3 * pages))
            if round.isMultiple(of: 2) { held.forEach { $0.release() } }
            held.removeAll()
            #expect(account.pinnedPages == 0)
        }
    }

    @Test("registering unmapped memory fails with notMapped and accounts nothing")
    func unmapped() throws {
        let account = MemlockAccount(limitBytes: nil)
        let memory = try AnonymousMemory(length: 4 * page)
        try memory.unmapPages(at: 2 * page, count: page)
        let error = #expect(throws: MemoryError.self) {
            try PinnedUmem(address: memory.address, length: UInt64(4 * page), writable: true, account: account)
        }
        #expect(error?.code == .notMapped)
        #expect(account.pinnedPages == 0)
    }

    @Test("concurrent registrations never exceed the budget", .timeLimit(.minutes(3)))
    func concurrentCharges() async throws {
        let account = MemlockAccount(limitBytes: UInt64(40 * page))
        let memory = try AnonymousMemory(length: 64 * page)
        let base = memory.address
        let held = await withTaskGroup(of: PinnedUmem?.self) { group in
            for t in 0..<8 {
                group.addTask {
                    try? PinnedUmem(address: base + UInt64(t * 8 * 4096), length: 8 * 4096, writable: true, account: account)
                }
            }
            var held: [PinnedUmem] = []
            for await umem in group { if let umem { held.append(umem) } }
            return held
        }
        #expect(held.count == 5)
        #expect(account.pinnedPages == 40)
        held.forEach { $0.release() }
        #expect(account.pinnedPages == 0)
    }

    @Test("accesses stay within the registration")
    func bounds() throws {
        let memory = try AnonymousMemory(length: 2 * page)
        let umem = try PinnedUmem(address: memory.address, length: UInt64(page), writable: false, account: MemlockAccount(limitBytes: nil))
        memory.write([1, 2, 3], at: 10)
        #expect(try umem.withBytes(memory.address + 10..<memory.address + 13, access: .read) { $0.bytes() } == [1, 2, 3])
        let outside = #expect(throws: MemoryError.self) {
            try umem.withBytes(memory.address + UInt64(page) - 1..<memory.address + UInt64(page) + 1, access: .read) { _ in }
        }
        #expect(outside?.code == .outsideRegion)
        let write = #expect(throws: MemoryError.self) {
            try umem.withBytes(memory.address..<memory.address + 1, access: .write) { _ in }
        }
        #expect(write?.code == .accessNotRegistered)
    }
}
