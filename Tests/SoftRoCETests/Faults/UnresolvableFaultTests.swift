import SoftRoCE
import SoftRoCEMemory
import Testing

private let page = Host.pageSize
/// The damaged page: in the middle of the region, never touched by the device before.
private let damaged = 64 * page

/// Faults the workqueue cannot resolve (test_odp.py's error paths): a page unmapped in the
/// middle of an ODP region, a `PROT_READ` page written, a `PROT_NONE` page read. The access
/// completes with the right error status, the QP goes to ERR, later work flushes, the fault is
/// counted as failed — and the process never takes SIGSEGV/SIGBUS.
@Suite("ODP faults: unresolvable pages", .timeLimit(.minutes(3)))
struct UnresolvableFaultTests {
    enum Damage: String, CaseIterable, Sendable, CustomTestStringConvertible {
        /// Memory that is not mapped: an ODP region registered below the kernel's mmap_min_addr
        /// (64 KiB), where nothing is or can be mapped. (A page `munmap`ed out of a live buffer
        /// could be refilled by another test's mapping while the fault waits in the queue.)
        case unmapped
        /// `mprotect(PROT_READ)`: a write cannot be resolved.
        case readOnly
        /// `mprotect(PROT_NONE)`: nothing can be resolved.
        case inaccessible
        var testDescription: String { rawValue }
    }

    enum Access: String, CaseIterable, Sendable, CustomTestStringConvertible {
        /// Responder: the target of an RDMA WRITE.
        case remoteWrite
        /// Responder: the source of an RDMA READ.
        case remoteRead
        /// Responder: the word of a FETCH_AND_ADD.
        case remoteAtomic
        /// Responder: the receive buffer of a SEND.
        case receive
        /// Requester: the source of an RDMA WRITE.
        case localSource
        /// Requester: the destination of an RDMA READ.
        case localDestination
        var testDescription: String { rawValue }
        var isRequester: Bool { self == .localSource || self == .localDestination }
        /// Whether the access writes the damaged memory.
        var writes: Bool { self != .remoteRead && self != .localSource }
    }

    static func damage(_ endpoint: Endpoint, _ damage: Damage) throws {
        switch damage {
        case .unmapped: break
        case .readOnly: try endpoint.buffer.protect(.read, at: damaged, count: page)
        case .inaccessible: try endpoint.buffer.protect(.none, at: damaged, count: page)
        }
    }

    static func repair(_ endpoint: Endpoint, _ damage: Damage) {
        if damage != .unmapped { try? endpoint.buffer.protect(.readWrite, at: damaged, count: page) }
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var damage: Damage
        var access: Access
        var twoDevices: Bool
        /// The engine pinned (it then resolves small faults itself when idle).
        var pinnedEngine = false
        var testDescription: String {
            "\(damage) \(access), \(twoDevices ? "2 devices" : "1 device")\(pinnedEngine ? ", pinned engine" : "")"
        }
    }

    /// Every (damage, access) pair that cannot be resolved (a read of a PROT_READ page can), on
    /// one device, on two, and on one whose pinned engine resolves the faults itself.
    static let cases: [Case] = [(false, false), (true, false), (false, true)].flatMap { two, pinned in
        Damage.allCases.flatMap { damage in
            Access.allCases.filter { damage != .readOnly || $0.writes }.map {
                Case(damage: damage, access: $0, twoDevices: two, pinnedEngine: pinned)
            }
        }
    }

    @Test("An unresolvable fault fails the WQE with the right status, moves the QP to ERR and flushes the rest", arguments: cases)
    func unresolvable(_ testCase: Case) throws {
        let (damage, access, twoDevices) = (testCase.damage, testCase.access, testCase.twoDevices)
        let (client, server) = try connectedPair(
            twoDevices: twoDevices, onDemand: (true, true), engineCPU: testCase.pinnedEngine ? Host.allowedCPUs.last : nil)
        defer { shutDown(client, server) }
        let victim = access.isRequester ? client : server
        // Warm up the pages around the damaged one: the region itself is fine.
        client.buffer.write(pattern(256, seed: 61), at: 0)
        #expect(try client.run(.rdmaWrite(id: 100, scatterGatherList: [client.sge(0, 256)], remoteAddress: server.address(damaged - page), rkey: server.region.rkey))?.status == .success)
        try Self.damage(victim, damage)
        defer { Self.repair(victim, damage) }
        if twoDevices {
            // The warm-up faulted one page of the victim's device in. Its worker counts the fault
            // after mapping the page, and the retried WRITE may complete in between: wait for
            // the count before taking it as the baseline.
            #expect(eventually { victim.device.counters.pageFaults >= 1 }, "the warm-up's fault is counted")
        }
        let failedBefore = victim.device.counters.failedFaults
        let pageFaultsBefore = victim.device.counters.pageFaults
        server.buffer.fill(0x5A, at: 0, count: page)
        client.buffer.fill(0x11, at: page, count: page)

        let rkey = server.region.rkey
        // The damaged page: in the victim's buffer, or the never-mapped low region.
        let low = damage == .unmapped
            ? try victim.pd.registerMemoryRegion(
                address: 0x8000, length: UInt64(2 * page), access: [.localWrite, .remoteWrite, .remoteRead, .remoteAtomic, .onDemand],
                account: MemlockAccount(limitBytes: nil))
            : nil
        defer { low?.deregister() }
        let damagedAddress = low?.address ?? victim.address(damaged)
        let damagedRemoteKey = low?.rkey ?? victim.region.rkey
        let damagedLocalKey = low?.lkey ?? victim.region.lkey
        func inDamaged(_ delta: Int) -> UInt64 { damagedAddress + UInt64(delta) }
        func damagedSGE(_ delta: Int, _ length: Int) -> ScatterGatherElement {
            ScatterGatherElement(address: inDamaged(delta), length: UInt32(length), lkey: damagedLocalKey)
        }
        let request: SendWorkRequest
        switch access {
        case .remoteWrite:
            request = .rdmaWrite(id: 1, scatterGatherList: [client.sge(0, 200)], remoteAddress: inDamaged(24), rkey: damagedRemoteKey)
        case .remoteRead:
            request = .rdmaRead(id: 1, scatterGatherList: [client.sge(page, 200)], remoteAddress: inDamaged(24), rkey: damagedRemoteKey)
        case .remoteAtomic:
            request = .atomicFetchAndAdd(id: 1, result: client.sge(page, 8), remoteAddress: inDamaged(64), rkey: damagedRemoteKey, add: 1)
        case .receive:
            try server.qp.postReceive(ReceiveWorkRequest(id: 7, scatterGatherList: [damagedSGE(24, 200)]))
            try server.qp.postReceive(ReceiveWorkRequest(id: 8, scatterGatherList: [server.sge(0, 200)]))
            request = .send(id: 1, scatterGatherList: [client.sge(0, 200)])
        case .localSource:
            request = .rdmaWrite(id: 1, scatterGatherList: [damagedSGE(24, 200)], remoteAddress: server.address(0), rkey: rkey)
        case .localDestination:
            request = .rdmaRead(id: 1, scatterGatherList: [damagedSGE(24, 200)], remoteAddress: server.address(0), rkey: rkey)
        }
        try client.qp.postSend(request)
        try client.qp.postSend(.rdmaWrite(id: 2, scatterGatherList: [client.sge(0, 64)], remoteAddress: server.address(0), rkey: rkey))
        try client.qp.postSend(.send(id: 3, scatterGatherList: [client.sge(0, 64)]))
        let completions = client.waitSend(3)
        try #require(completions.count == 3, "completions: \(statuses(completions))")
        #expect(completions.map(\.wrID) == [1, 2, 3])
        let expected: WorkCompletion.Status = switch access {
        case .remoteWrite, .remoteRead, .remoteAtomic: .remoteAccessError
        case .receive: .remoteOperationError
        case .localSource, .localDestination: .localProtectionError
        }
        #expect(completions[0].status == expected, "got \(completions[0].status)")
        #expect(completions[1].status == .workRequestFlushError && completions[2].status == .workRequestFlushError)
        #expect(client.qp.state == .error)
        if !access.isRequester {
            #expect(eventually(timeout: .seconds(2)) { server.qp.state == .error }, "the responder QP went to ERR")
        }
        if access == .receive {
            let received = server.waitReceive(2)
            try #require(received.count == 2, "receive completions: \(statuses(received))")
            #expect(received[0].wrID == 7 && received[0].status == .localProtectionError)
            #expect(received[1].wrID == 8 && received[1].status == .workRequestFlushError)
        }
        let counters = victim.device.counters
        #expect(counters.failedFaults > failedBefore, "the unresolvable fault is counted as failed")
        #expect(counters.pageFaults == pageFaultsBefore || !twoDevices, "no fault on the victim device resolved")
        // Nothing landed: the server's first page (flushed WRITE target) and the client's result
        // area keep their bytes.
        #expect(mismatch(server.buffer.read(at: 0, count: page), [UInt8](repeating: 0x5A, count: page)) == nil)
        #expect(mismatch(client.buffer.read(at: page, count: page), [UInt8](repeating: 0x11, count: page)) == nil)
        // The process is alive; the rest of the damaged buffer still works.
        victim.buffer.fill(0x77, at: damaged - page, count: page)
        #expect(victim.buffer[damaged - 1] == 0x77)
        if damage != .unmapped {
            Self.repair(victim, damage)
            victim.buffer[damaged] = 1
            #expect(victim.buffer[damaged] == 1)
        }
    }

    @Test("A fault whose range is partly unresolvable: the pages before the bad one stay mapped")
    func partialResolution() throws {
        let (client, server) = try connectedPair(twoDevices: true, onDemand: (false, true))
        defer { shutDown(client, server) }
        try server.buffer.protect(.read, at: 6 * page, count: page)
        defer { try? server.buffer.protect(.readWrite, at: 6 * page, count: page) }
        client.buffer.write(pattern(4 * page, seed: 62), at: 0)
        // A WRITE over pages 3...6: 3, 4, 5 resolvable, 6 read-only.
        let completion = try client.run(.rdmaWrite(id: 1, scatterGatherList: [client.sge(0, 4 * page)], remoteAddress: server.address(3 * page), rkey: server.region.rkey))
        #expect(completion?.status == .remoteAccessError)
        let umem = try #require(server.umem)
        #expect(umem.pageAccess(at: server.address(6 * page)) == [], "the read-only page got no write entry")
        #expect(umem.pageAccess(at: server.address(3 * page)).contains(.write), "the page before it was resolved and kept")
        #expect(server.device.counters.failedFaults >= 1)
        #expect(client.qp.state == .error)
    }
}
