import SoftRoCE
import SoftRoCEMemory
import Testing

/// DESIGN.md §4, ODP row: a page that cannot be resolved (unmapped with `munmap`, or read-only
/// and written) fails the access — LOC_PROT_ERR when it is the requester's own memory,
/// REM_ACCESS_ERR when it is the responder's — moves the QP to ERR and flushes what follows.
///
/// Every test makes the pages inaccessible (PROT_NONE) or read-only before the device first
/// touches them, so the ODP table holds no entry for them and the fault must be resolved (and
/// fail) against real memory. PROT_NONE stands in for `munmap` here: faults are resolved
/// asynchronously, and a hole left by `munmap` could meanwhile be reused by another test's
/// mapping in this process (the memory-core tests cover `munmap`ed holes).
private let page = Host.pageSize

@Suite("ODP pages that cannot be resolved", .timeLimit(.minutes(3)))
struct OnDemandFaultErrorTests {
    static let clientODPLayouts = Layout.all.filter(\.clientODP)
    static let serverODPLayouts = Layout.all.filter(\.serverODP)

    /// Posts `failing` (id 1) and a valid WRITE (id 2) behind it; returns the two completions.
    static func run(_ failing: SendWorkRequest, client: Endpoint, server: Endpoint) throws -> [WorkCompletion] {
        try client.qp.postSend(failing)
        try client.qp.postSend(.rdmaWrite(id: 2, scatterGatherList: [client.sge(8 * page, 64)], remoteAddress: server.address(8 * page), rkey: server.region.rkey))
        let completions = client.waitSend(2)
        try #require(completions.count == 2, "completions: \(statuses(completions))")
        #expect(completions[0].wrID == 1)
        #expect(completions[1].wrID == 2)
        #expect(completions[1].status == .workRequestFlushError)
        #expect(client.qp.state == .error)
        return completions
    }

    enum Source: String, CaseIterable, Sendable, CustomTestStringConvertible {
        case write, send, writeSecondElement
        var testDescription: String { rawValue }
    }

    @Test("Requester source pages unmapped: LOC_PROT_ERR", arguments: Source.allCases, clientODPLayouts)
    func sourceUnmapped(source: Source, layout: Layout) throws {
        let (client, server) = try connectedPair(layout)
        defer { shutDown(client, server) }
        client.buffer.write(pattern(page, seed: 1), at: 4 * page)
        try client.buffer.protect(.none, at: 0, count: 2 * page)
        server.buffer.fill(0xEE, count: 3 * page)
        try server.qp.postReceive(ReceiveWorkRequest(id: 7, scatterGatherList: [server.sge(0, 3 * page)]))
        let request: SendWorkRequest = switch source {
        case .write: .rdmaWrite(id: 1, scatterGatherList: [client.sge(100, page)], remoteAddress: server.address(0), rkey: server.region.rkey)
        case .send: .send(id: 1, scatterGatherList: [client.sge(page, 300)])
        case .writeSecondElement:
            .rdmaWrite(id: 1, scatterGatherList: [client.sge(4 * page, page), client.sge(page, 64)], remoteAddress: server.address(0), rkey: server.region.rkey)
        }
        let completions = try Self.run(request, client: client, server: server)
        #expect(completions[0].status == .localProtectionError)
        #expect(server.receiveCQ.poll().map { $0.status != .success } ?? true, "no SEND arrived")
        if source == .write {
            #expect(mismatch(server.buffer.read(at: 0, count: page), [UInt8](repeating: 0xEE, count: page)) == nil, "no byte of an unreadable source arrived")
        }
    }

    @Test("Requester destination pages unmapped (READ / ATOMIC result): a local protection or access error", arguments: [false, true], [false, true])
    func destinationUnmapped(atomic: Bool, twoDevices: Bool) throws {
        let (client, server) = try connectedPair(twoDevices: twoDevices, onDemand: (true, false))
        defer { shutDown(client, server) }
        try client.buffer.protect(.none, at: 0, count: 2 * page)
        server.buffer.storeUInt64(41, at: 0)
        let request: SendWorkRequest = atomic
            ? .atomicFetchAndAdd(id: 1, result: client.sge(page, 8), remoteAddress: server.address(0), rkey: server.region.rkey, add: 1)
            : .rdmaRead(id: 1, scatterGatherList: [client.sge(100, 3000)], remoteAddress: server.address(0), rkey: server.region.rkey)
        let completions = try Self.run(request, client: client, server: server)
        // IBTA and ibverbs allow LOC_ACCESS_ERR for a bad local buffer of a READ response or an
        // atomic result; DESIGN.md §4 says LOC_PROT_ERR. Either is a local error, never success.
        #expect([WorkCompletion.Status.localProtectionError, .localAccessError].contains(completions[0].status), "got \(completions[0].status)")
    }

    enum Target: String, CaseIterable, Sendable, CustomTestStringConvertible {
        case write, read, fetchAdd, compareSwap, writeSpanningIntoHole
        var testDescription: String { rawValue }
    }

    @Test("Responder target pages unmapped: REM_ACCESS_ERR", arguments: Target.allCases, serverODPLayouts)
    func targetUnmapped(target: Target, layout: Layout) throws {
        let (client, server) = try connectedPair(layout)
        defer { shutDown(client, server) }
        try server.buffer.protect(.none, at: 2 * page, count: 2 * page)
        client.buffer.write(pattern(2 * page, seed: 4), at: 0)
        client.buffer.fill(0x55, at: 4 * page, count: page)
        let rkey = server.region.rkey
        let request: SendWorkRequest = switch target {
        case .write: .rdmaWrite(id: 1, scatterGatherList: [client.sge(0, 200)], remoteAddress: server.address(2 * page + 8), rkey: rkey)
        case .read: .rdmaRead(id: 1, scatterGatherList: [client.sge(4 * page, 200)], remoteAddress: server.address(3 * page), rkey: rkey)
        case .fetchAdd: .atomicFetchAndAdd(id: 1, result: client.sge(4 * page, 8), remoteAddress: server.address(2 * page), rkey: rkey, add: 1)
        case .compareSwap: .atomicCompareAndSwap(id: 1, result: client.sge(4 * page, 8), remoteAddress: server.address(3 * page + 64), rkey: rkey, compare: 0, swap: 1)
        case .writeSpanningIntoHole: .rdmaWrite(id: 1, scatterGatherList: [client.sge(0, 2 * page)], remoteAddress: server.address(page), rkey: rkey)
        }
        let completions = try Self.run(request, client: client, server: server)
        #expect(completions[0].status == .remoteAccessError)
        #expect(mismatch(client.buffer.read(at: 4 * page, count: 8), [UInt8](repeating: 0x55, count: 8)) == nil, "no result landed locally")
    }

    @Test("Responder target read-only (PROT_READ) and written remotely: REM_ACCESS_ERR; reading it works", arguments: [false, true], [false, true])
    func targetReadOnly(twoDevices: Bool, atomic: Bool) throws {
        let (client, server) = try connectedPair(twoDevices: twoDevices, onDemand: (false, true))
        defer { shutDown(client, server) }
        let contents = pattern(page, seed: 6)
        server.buffer.write(contents, at: 2 * page)
        try server.buffer.protect(.read, at: 2 * page, count: 2 * page)
        defer { try? server.buffer.protect(.readWrite, at: 2 * page, count: 2 * page) }

        // Reading a read-only page is fine.
        try client.qp.postSend(.rdmaRead(id: 0, scatterGatherList: [client.sge(0, page)], remoteAddress: server.address(2 * page), rkey: server.region.rkey))
        let read = client.waitSend()
        try #require(read.count == 1)
        #expect(read[0].status == .success)
        #expect(mismatch(client.buffer.read(at: 0, count: page), contents) == nil)

        client.buffer.write(pattern(100, seed: 7), at: 0)
        let request: SendWorkRequest = atomic
            ? .atomicFetchAndAdd(id: 1, result: client.sge(page, 8), remoteAddress: server.address(2 * page), rkey: server.region.rkey, add: 1)
            : .rdmaWrite(id: 1, scatterGatherList: [client.sge(0, 100)], remoteAddress: server.address(2 * page + 10), rkey: server.region.rkey)
        let completions = try Self.run(request, client: client, server: server)
        #expect(completions[0].status == .remoteAccessError)
        #expect(mismatch(server.buffer.read(at: 2 * page, count: page), contents) == nil, "the read-only page is unchanged")
    }

    @Test("Receive buffer pages unmapped: LOC_PROT_ERR at the responder, REM_OP_ERR at the requester", arguments: [false, true])
    func receiveBufferUnmapped(twoDevices: Bool) throws {
        let (client, server) = try connectedPair(twoDevices: twoDevices, onDemand: (false, true))
        defer { shutDown(client, server) }
        try server.buffer.protect(.none, at: page, count: page)
        try server.qp.postReceive(ReceiveWorkRequest(id: 5, scatterGatherList: [server.sge(0, 3 * page)]))
        try server.qp.postReceive(ReceiveWorkRequest(id: 6, scatterGatherList: [server.sge(4 * page, page)]))
        try client.qp.postSend(.send(id: 1, scatterGatherList: [client.sge(0, 2 * page)]))
        try client.qp.postSend(.send(id: 2, scatterGatherList: [client.sge(0, 8)]))
        let received = server.waitReceive(2)
        try #require(received.count == 2, "receive completions: \(statuses(received))")
        #expect(received[0].wrID == 5 && received[0].status == .localProtectionError)
        #expect(received[1].wrID == 6 && received[1].status == .workRequestFlushError)
        let sent = client.waitSend(2)
        try #require(sent.count == 2, "send completions: \(statuses(sent))")
        #expect(sent[0].status == .remoteOperationError)
        #expect(sent[1].status == .workRequestFlushError)
        #expect(client.qp.state == .error && server.qp.state == .error)
    }
}
