import SoftRoCE
import SoftRoCEMemory
import Testing

private let hugePage = Int(PageSize.huge2MiB.bytes)

/// test_odp.py's huge-page ODP test (`test_odp_rc_huge_rdma_write` and friends): an ODP region
/// tracked in 2 MiB pages over 2 MiB-aligned memory (transparent huge pages advised). WRITE and
/// READ through it land byte for byte; faults map whole 2 MiB pages.
@Suite("ODP faults: 2 MiB page regions", .timeLimit(.minutes(3)))
struct HugePageRegionTests {
    static let access: AccessFlags = [.localWrite, .remoteWrite, .remoteRead, .remoteAtomic, .onDemand]

    /// A 4 MiB, 2 MiB-aligned buffer on the server device registered with 2 MiB pages.
    static func hugeRegion(on server: Endpoint) throws -> (AnonymousMemory, MemoryRegion) {
        let memory = try AnonymousMemory(length: 2 * hugePage, alignment: hugePage)
        try? memory.adviseHugePages()  // best effort: THP may be disabled; the region works either way
        let region = try server.pd.registerMemoryRegion(
            address: memory.address, length: UInt64(2 * hugePage), access: access, account: MemlockAccount(limitBytes: nil),
            pageSize: .huge2MiB)
        return (memory, region)
    }

    @Test("WRITE and READ across the 2 MiB boundary of a huge-page region", arguments: [false, true])
    func writeRead(twoDevices: Bool) throws {
        let (client, server) = try connectedPair(twoDevices: twoDevices, onDemand: (true, false))
        defer { shutDown(client, server) }
        let (memory, region) = try Self.hugeRegion(on: server)
        defer { region.deregister() }
        let umem = try #require(region.onDemandUmem)
        #expect(memory.address % UInt64(hugePage) == 0)
        #expect(umem.pageSize == .huge2MiB)
        #expect(umem.mappedPageCount == 0)

        // 96 KiB straddling the boundary between the two huge pages.
        let offset = hugePage - 40 * 1024 - 3
        let length = 96 * 1024
        let data = pattern(length, seed: 51)
        client.buffer.write(data, at: 0)
        let before = server.device.counters
        let write = try client.run(.rdmaWrite(id: 1, scatterGatherList: [client.sge(0, length)], remoteAddress: memory.address + UInt64(offset), rkey: region.rkey))
        #expect(write?.status == .success)
        #expect(mismatch(memory.read(at: offset, count: length), data) == nil)
        #expect(umem.mappedPageCount == 2, "both 2 MiB pages are mapped, as two entries")
        #expect(umem.pageAccess(at: memory.address).contains(.write), "the whole first huge page is mapped")
        #expect(umem.pageAccess(at: memory.address + UInt64(2 * hugePage - 1)).contains(.write))
        let delta = CounterDelta(from: before, to: server.device.counters)
        #expect(delta.pageFaults >= 1 && delta.faultedPages == 2 || !twoDevices, "server: \(delta)")
        #expect(regionFaults(region).pages == 2, "faults count 2 MiB pages: \(regionFaults(region))")
        #expect(delta.rnrNaksSent > 0)

        // READ it back into other client pages: no new fault on the warm huge pages.
        client.buffer.fill(0, at: 256 * 1024, count: length)
        let warm = regionFaults(region)
        let read = try client.run(.rdmaRead(id: 2, scatterGatherList: [client.sge(256 * 1024, length)], remoteAddress: memory.address + UInt64(offset), rkey: region.rkey))
        #expect(read?.status == .success)
        #expect(mismatch(client.buffer.read(at: 256 * 1024, count: length), data) == nil)
        #expect(regionFaults(region) == warm, "warm huge pages do not fault")

        // Invalidate one huge page: it faults again as a whole.
        #expect(umem.invalidate(memory.address..<memory.address + 4096) == 1, "invalidating any byte clears the 2 MiB entry")
        #expect(umem.pageAccess(at: memory.address + UInt64(hugePage - 1)) == [])
        let again = pattern(length, seed: 52)
        client.buffer.write(again, at: 0)
        #expect(try client.run(.rdmaWrite(id: 3, scatterGatherList: [client.sge(0, length)], remoteAddress: memory.address + UInt64(offset), rkey: region.rkey))?.status == .success)
        #expect(mismatch(memory.read(at: offset, count: length), again) == nil)
        #expect(regionFaults(region).pages == 3)

        // ATOMIC on the second huge page.
        memory.storeUInt64(7, at: hugePage + 4096)
        #expect(try client.run(.atomicFetchAndAdd(id: 4, result: client.sge(512 * 1024, 8), remoteAddress: memory.address + UInt64(hugePage + 4096), rkey: region.rkey, add: 1))?.status == .success)
        #expect(client.buffer.loadUInt64(at: 512 * 1024) == 7)
        #expect(memory.loadUInt64(at: hugePage + 4096) == 8)
    }

    @Test("A huge-page region must be 2 MiB aligned")
    func alignment() throws {
        let device = Device(name: "softroce-huge-align")
        defer { device.close() }
        let pd = device.allocateProtectionDomain()
        let memory = try AnonymousMemory(length: 2 * hugePage, alignment: hugePage)
        #expect(throws: (any Error).self, "unaligned start") {
            try pd.registerMemoryRegion(address: memory.address + 4096, length: UInt64(hugePage), access: Self.access, pageSize: .huge2MiB)
        }
        #expect(throws: (any Error).self, "unaligned length") {
            try pd.registerMemoryRegion(address: memory.address, length: UInt64(hugePage + 4096), access: Self.access, pageSize: .huge2MiB)
        }
        let region = try pd.registerMemoryRegion(address: memory.address, length: UInt64(hugePage), access: Self.access, pageSize: .huge2MiB)
        #expect(region.onDemandUmem?.pageSize == .huge2MiB)
        region.deregister()
    }
}
