import SoftRoCE
import SoftRoCEMemory
import Testing

private let page = Host.pageSize

/// test_odp.py's implicit ODP tests (`test_odp_implicit_rc_traffic`): one region per side over
/// the whole address space (address 0, length SIZE_MAX), whose lkey/rkey reach any memory of the
/// process — here plain `AnonymousMemory` buffers that were never registered. Pages fault in on
/// first access, child page tables are created on first touch and released when idle, and an
/// address with no memory behind it fails the access instead of crashing the process.
@Suite("ODP faults: implicit ODP regions", .timeLimit(.minutes(3)))
struct ImplicitOnDemandTests {
    static let access: AccessFlags = [.localWrite, .remoteWrite, .remoteRead, .remoteAtomic]

    /// A connected pair plus an implicit region on each side and a fresh, unregistered buffer.
    struct Setup {
        let client: Endpoint
        let server: Endpoint
        let clientImplicit: MemoryRegion
        let serverImplicit: MemoryRegion
        let clientMemory: AnonymousMemory
        let serverMemory: AnonymousMemory

        init(twoDevices: Bool, bytes: Int = 64 * page) throws {
            (client, server) = try connectedPair(twoDevices: twoDevices, onDemand: (false, false), bufferSize: 4 * page)
            clientImplicit = try client.pd.registerImplicitOnDemandRegion(access: ImplicitOnDemandTests.access)
            serverImplicit = try server.pd.registerImplicitOnDemandRegion(access: ImplicitOnDemandTests.access)
            clientMemory = try AnonymousMemory(length: bytes)
            serverMemory = try AnonymousMemory(length: bytes)
        }

        func local(_ offset: Int, _ length: Int) -> ScatterGatherElement {
            ScatterGatherElement(address: clientMemory.address + UInt64(offset), length: UInt32(length), lkey: clientImplicit.lkey)
        }

        func remote(_ offset: Int) -> UInt64 { serverMemory.address + UInt64(offset) }

        func receive(_ id: UInt64, _ offset: Int, _ length: Int) -> ReceiveWorkRequest {
            ReceiveWorkRequest(id: id, scatterGatherList: [
                ScatterGatherElement(address: serverMemory.address + UInt64(offset), length: UInt32(length), lkey: serverImplicit.lkey),
            ])
        }

        func close() { shutDown(client, server) }
    }

    @Test("An implicit region covers the whole address space and is ODP")
    func registration() throws {
        let device = Device(name: "softroce-implicit-reg")
        defer { device.close() }
        let pd = device.allocateProtectionDomain()
        let region = try pd.registerImplicitOnDemandRegion(access: Self.access)
        #expect(region.isImplicit)
        #expect(region.isOnDemand)
        #expect(region.address == 0 && region.length == UInt64.max)
        #expect(region.access.contains(.onDemand))
        let umem = try #require(region.onDemandUmem)
        #expect(umem.mappedPageCount == 0)
        #expect(umem.tableBytes == 0, "no table memory before the first touch")
        #expect(throws: VerbsError.self) { try pd.registerImplicitOnDemandRegion(access: [.remoteWrite]) }
        region.deregister()
        #expect(region.isDeregistered)
    }

    @Test("WRITE, READ and SEND between unregistered buffers through implicit keys", arguments: [false, true])
    func traffic(twoDevices: Bool) throws {
        let setup = try Setup(twoDevices: twoDevices)
        defer { setup.close() }
        let (client, server) = (setup.client, setup.server)
        let length = 5 * page + 123
        let clientBefore = client.device.counters
        let serverBefore = server.device.counters

        // WRITE: client memory → server memory.
        let written = pattern(length, seed: 31)
        setup.clientMemory.write(written, at: 300)
        let write = try client.run(.rdmaWrite(id: 1, scatterGatherList: [setup.local(300, length)], remoteAddress: setup.remote(700), rkey: setup.serverImplicit.rkey))
        #expect(write?.status == .success)
        #expect(mismatch(setup.serverMemory.read(at: 700, count: length), written) == nil)

        // READ: server memory → client memory.
        let read = pattern(length, seed: 32)
        setup.serverMemory.write(read, at: 24 * page + 5)
        let readCompletion = try client.run(.rdmaRead(id: 2, scatterGatherList: [setup.local(32 * page + 9, length)], remoteAddress: setup.remote(24 * page + 5), rkey: setup.serverImplicit.rkey))
        #expect(readCompletion?.status == .success)
        #expect(mismatch(setup.clientMemory.read(at: 32 * page + 9, count: length), read) == nil)

        // SEND into a receive buffer named by the implicit lkey.
        let sent = pattern(2 * page, seed: 33)
        setup.clientMemory.write(sent, at: 48 * page)
        try server.qp.postReceive(setup.receive(3, 50 * page, 3 * page))
        let send = try client.run(.send(id: 3, scatterGatherList: [setup.local(48 * page, 2 * page)]))
        #expect(send?.status == .success)
        let received = server.waitReceive()
        #expect(received.first?.status == .success && received.first?.byteLength == UInt32(2 * page))
        #expect(mismatch(setup.serverMemory.read(at: 50 * page, count: 2 * page), sent) == nil)

        // ATOMIC on a word of server memory.
        setup.serverMemory.storeUInt64(77, at: 60 * page)
        let atomic = try client.run(.atomicFetchAndAdd(id: 4, result: setup.local(60 * page, 8), remoteAddress: setup.remote(60 * page), rkey: setup.serverImplicit.rkey, add: 3))
        #expect(atomic?.status == .success)
        #expect(setup.clientMemory.loadUInt64(at: 60 * page) == 77)
        #expect(setup.serverMemory.loadUInt64(at: 60 * page) == 80)

        // Faults were counted on both sides, in the implicit regions.
        let clientFaults = regionFaults(setup.clientImplicit)
        let serverFaults = regionFaults(setup.serverImplicit)
        #expect(clientFaults.faults >= 4, "client faults: \(clientFaults)")
        #expect(serverFaults.faults >= 4, "server faults: \(serverFaults)")
        // WRITE / READ: 6 pages each side; SEND: 2; ATOMIC: 1.
        #expect(clientFaults.pages >= 6 + 6 + 2 + 1, "client faults: \(clientFaults)")
        #expect(serverFaults.pages >= 6 + 6 + 2 + 1, "server faults: \(serverFaults)")
        #expect(client.device.counters.pageFaults - clientBefore.pageFaults >= 4)
        #expect(server.device.counters.pageFaults - serverBefore.pageFaults >= 4)
        #expect(server.device.counters.rnrNaksSent > serverBefore.rnrNaksSent, "responder faults were answered with RNR NAK")
        let serverUmem = try #require(setup.serverImplicit.onDemandUmem)
        #expect(serverUmem.pageAccess(at: setup.remote(700)).contains(.write))
        #expect(serverUmem.pageAccess(at: setup.remote(40 * page)) == [], "untouched memory stays unmapped")

        // Warm: the same WRITE again does not fault.
        let warmBefore = (client.device.counters.pageFaults, server.device.counters.pageFaults)
        setup.clientMemory.write(pattern(length, seed: 34), at: 300)
        #expect(try client.run(.rdmaWrite(id: 5, scatterGatherList: [setup.local(300, length)], remoteAddress: setup.remote(700), rkey: setup.serverImplicit.rkey))?.status == .success)
        #expect(mismatch(setup.serverMemory.read(at: 700, count: length), pattern(length, seed: 34)) == nil)
        #expect(client.device.counters.pageFaults == warmBefore.0 && server.device.counters.pageFaults == warmBefore.1)
        #expect(regionFaults(setup.serverImplicit) == serverFaults, "warm implicit pages do not fault")
    }

    enum Side: String, CaseIterable, Sendable, CustomTestStringConvertible {
        case local, remote
        var testDescription: String { rawValue }
    }

    @Test("An unmapped address through an implicit key: LOC_PROT_ERR locally, REM_ACCESS_ERR remotely", arguments: Side.allCases, [false, true])
    func unmappedAddress(side: Side, twoDevices: Bool) throws {
        let setup = try Setup(twoDevices: twoDevices)
        defer { setup.close() }
        let (client, server) = (setup.client, setup.server)
        // An address below the kernel's mmap_min_addr (64 KiB): inside the implicit region, never
        // mapped, and no other test's mapping can appear there while the fault is queued.
        let unmapped: UInt64 = 0x2000
        let failedBefore = (side == .local ? client : server).device.counters.failedFaults
        setup.serverMemory.fill(0x5A, count: 4 * page)
        setup.clientMemory.fill(0x11, count: 4 * page)

        let failing: SendWorkRequest = switch side {
        case .local:
            .rdmaWrite(
                id: 1, scatterGatherList: [ScatterGatherElement(address: unmapped + 100, length: 512, lkey: setup.clientImplicit.lkey)],
                remoteAddress: setup.remote(0), rkey: setup.serverImplicit.rkey)
        case .remote: .rdmaWrite(id: 1, scatterGatherList: [setup.local(0, 512)], remoteAddress: unmapped + 100, rkey: setup.serverImplicit.rkey)
        }
        try client.qp.postSend(failing)
        try client.qp.postSend(.rdmaWrite(id: 2, scatterGatherList: [setup.local(0, 64)], remoteAddress: setup.remote(page), rkey: setup.serverImplicit.rkey))
        let completions = client.waitSend(2)
        try #require(completions.count == 2, "completions: \(statuses(completions))")
        #expect(completions[0].wrID == 1)
        #expect(completions[0].status == (side == .local ? .localProtectionError : .remoteAccessError))
        #expect(completions[1].status == .workRequestFlushError)
        #expect(client.qp.state == .error)
        if side == .remote {
            #expect(eventually(timeout: .seconds(2)) { server.qp.state == .error }, "the responder QP went to ERR")
        }
        #expect((side == .local ? client : server).device.counters.failedFaults > failedBefore, "the unresolvable fault was counted")
        #expect(mismatch(setup.serverMemory.read(at: 0, count: 2 * page), [UInt8](repeating: 0x5A, count: 2 * page)) == nil, "nothing was written")
        // The process is alive and the rest of the memory usable.
        setup.serverMemory.fill(0x22, count: page)
        #expect(setup.serverMemory[page - 1] == 0x22)
    }

    @Test("A PROT_NONE page through the implicit rkey: READ fails with REM_ACCESS_ERR, no signal")
    func protNoneRemote() throws {
        let setup = try Setup(twoDevices: true)
        defer { setup.close() }
        try setup.serverMemory.protect(.none, at: 4 * page, count: page)
        defer { try? setup.serverMemory.protect(.readWrite, at: 4 * page, count: page) }
        setup.clientMemory.fill(0x33, count: page)
        let completion = try setup.client.run(.rdmaRead(id: 1, scatterGatherList: [setup.local(0, 256)], remoteAddress: setup.remote(4 * page + 8), rkey: setup.serverImplicit.rkey))
        #expect(completion?.status == .remoteAccessError)
        #expect(mismatch(setup.clientMemory.read(at: 0, count: 256), [UInt8](repeating: 0x33, count: 256)) == nil)
        #expect(setup.client.qp.state == .error)
    }

    @Test("Child tables appear on first touch and idle ones are released after invalidation")
    func childTables() throws {
        let setup = try Setup(twoDevices: true, bytes: 2 * 1024 * 1024)
        defer { setup.close() }
        let umem = try #require(setup.serverImplicit.onDemandUmem)
        #expect(umem.tableBytes == 0)
        #expect(setup.serverImplicit.releaseIdleTables() == 0, "nothing to release before any touch")

        // Touch pages spread over the 2 MiB buffer so several leaves are created.
        for (index, offset) in stride(from: 0, to: 2 * 1024 * 1024, by: 256 * 1024).enumerated() {
            setup.clientMemory.write(pattern(64, seed: UInt8(index)), at: offset)
            #expect(try setup.client.run(.rdmaWrite(id: UInt64(index), scatterGatherList: [setup.local(offset, 64)], remoteAddress: setup.remote(offset), rkey: setup.serverImplicit.rkey))?.status == .success)
            #expect(mismatch(setup.serverMemory.read(at: offset, count: 64), pattern(64, seed: UInt8(index))) == nil)
        }
        let populated = umem.tableBytes
        #expect(populated > 0, "child tables were created on first touch")
        #expect(umem.mappedPageCount == 8)
        #expect(setup.serverImplicit.releaseIdleTables() == 0, "tables holding mapped pages are not idle")
        #expect(umem.tableBytes == populated)

        // The application drops its memory: the entries go, the tables become idle.
        let cleared = umem.invalidate(setup.serverMemory.range) { try? setup.serverMemory.dropPages() }.cleared
        #expect(cleared == 8)
        #expect(umem.mappedPageCount == 0)
        let released = setup.serverImplicit.releaseIdleTables()
        #expect(released > 0, "idle child tables were released")
        #expect(umem.tableBytes < populated, "table memory dropped: \(populated) → \(umem.tableBytes)")
        #expect(umem.tableBytes == populated - released)

        // The region still works: the next access recreates what it needs.
        setup.clientMemory.write(pattern(64, seed: 99), at: 1024 * 1024)
        #expect(try setup.client.run(.rdmaWrite(id: 100, scatterGatherList: [setup.local(1024 * 1024, 64)], remoteAddress: setup.remote(1024 * 1024), rkey: setup.serverImplicit.rkey))?.status == .success)
        #expect(mismatch(setup.serverMemory.read(at: 1024 * 1024, count: 64), pattern(64, seed: 99)) == nil)
        #expect(umem.tableBytes > populated - released)
    }
}
