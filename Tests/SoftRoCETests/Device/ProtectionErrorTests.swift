import SoftRoCE
import SoftRoCEMemory
import Testing

/// DESIGN.md §4, key and range rows: a bad local key or range completes the WR with LOC_PROT_ERR,
/// a bad remote key, range or access right with REM_ACCESS_ERR; either way the requester's QP
/// moves to ERR, the WR behind it flushes with WR_FLUSH_ERR and no byte moves.
@Suite("Protection errors", .timeLimit(.minutes(3)))
struct ProtectionErrorTests {
    /// Posts `failing` (id 1) and a valid signaled WRITE (id 2) behind it and checks the outcome.
    static func expectFailure(
        _ failing: SendWorkRequest, on client: Endpoint, server: Endpoint, status: WorkCompletion.Status,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        client.buffer.write(pattern(64, seed: 99), at: 0)
        try client.qp.postSend(failing)
        try client.qp.postSend(.rdmaWrite(id: 2, scatterGatherList: [client.sge(0, 64)], remoteAddress: server.address(0), rkey: server.region.rkey))
        let completions = client.waitSend(2)
        try #require(completions.count == 2, "completions: \(statuses(completions))", sourceLocation: sourceLocation)
        #expect(completions[0].wrID == failing.id, sourceLocation: sourceLocation)
        #expect(completions[0].status == status, sourceLocation: sourceLocation)
        #expect(completions[0].qpNumber == client.qp.number, sourceLocation: sourceLocation)
        #expect(completions[1].wrID == 2, sourceLocation: sourceLocation)
        #expect(completions[1].status == .workRequestFlushError, sourceLocation: sourceLocation)
        #expect(client.qp.state == .error, sourceLocation: sourceLocation)
        // A WR posted in ERR flushes too.
        try client.qp.postSend(.rdmaWrite(id: 3, scatterGatherList: [client.sge(0, 8)], remoteAddress: server.address(0), rkey: server.region.rkey))
        let late = client.waitSend()
        #expect(late.map(\.wrID) == [3] && late.first?.status == .workRequestFlushError, sourceLocation: sourceLocation)
        #expect(server.buffer.read(at: 0, count: 64) != pattern(64, seed: 99), "the flushed WRITE moved no data", sourceLocation: sourceLocation)
    }

    // MARK: Local (LOC_PROT_ERR)

    enum LocalFault: String, CaseIterable, Sendable, CustomTestStringConvertible {
        case unknownLKeyWrite, unknownLKeySend, unknownLKeyRead, lkeyOfAnotherPD, sgePastRegionEnd, sgeBeforeRegionStart
        case readIntoRegionWithoutLocalWrite, atomicIntoRegionWithoutLocalWrite
        var testDescription: String { rawValue }
    }

    @Test("A bad local SGE completes with LOC_PROT_ERR and flushes what follows", arguments: LocalFault.allCases, Layout.symmetric)
    func localProtection(fault: LocalFault, layout: Layout) throws {
        let (client, server) = try connectedPair(layout)
        defer { shutDown(client, server) }
        server.buffer.fill(0xEE, count: 8192)
        try server.qp.postReceive(ReceiveWorkRequest(id: 1, scatterGatherList: [server.sge(4096, 4096)]))
        let unknown = LocalKey(rawValue: client.region.lkey.rawValue &+ 0x1000)
        let remote = server.address(0)
        let rkey = server.region.rkey
        let request: SendWorkRequest
        switch fault {
        case .unknownLKeyWrite:
            request = .rdmaWrite(id: 1, scatterGatherList: [client.sge(0, 64, lkey: unknown)], remoteAddress: remote, rkey: rkey)
        case .unknownLKeySend:
            request = .send(id: 1, scatterGatherList: [client.sge(0, 64), client.sge(64, 64, lkey: unknown)])
        case .unknownLKeyRead:
            request = .rdmaRead(id: 1, scatterGatherList: [client.sge(0, 64, lkey: unknown)], remoteAddress: remote, rkey: rkey)
        case .lkeyOfAnotherPD:
            let foreign = try client.register(0, 8192, access: [.localWrite], pd: client.device.allocateProtectionDomain())
            request = .rdmaWrite(id: 1, scatterGatherList: [client.sge(0, 64, lkey: foreign.lkey)], remoteAddress: remote, rkey: rkey)
        case .sgePastRegionEnd:
            let small = try client.register(0, 8192, access: [.localWrite])
            request = .rdmaWrite(id: 1, scatterGatherList: [client.sge(8000, 500, lkey: small.lkey)], remoteAddress: remote, rkey: rkey)
        case .sgeBeforeRegionStart:
            let inner = try client.register(4096, 8192, access: [.localWrite])
            request = .send(id: 1, scatterGatherList: [client.sge(4000, 200, lkey: inner.lkey)])
        case .readIntoRegionWithoutLocalWrite:
            let readOnly = try client.register(0, 8192, access: [.remoteRead])
            request = .rdmaRead(id: 1, scatterGatherList: [client.sge(0, 64, lkey: readOnly.lkey)], remoteAddress: remote, rkey: rkey)
        case .atomicIntoRegionWithoutLocalWrite:
            let readOnly = try client.register(0, 8192, access: [])
            request = .atomicFetchAndAdd(id: 1, result: client.sge(0, 8, lkey: readOnly.lkey), remoteAddress: remote, rkey: rkey, add: 1)
        }
        try Self.expectFailure(request, on: client, server: server, status: .localProtectionError)
        #expect(mismatch(server.buffer.read(at: 0, count: 8), [UInt8](repeating: 0xEE, count: 8)) == nil, "no remote access happened")
    }

    // MARK: Remote (REM_ACCESS_ERR)

    enum RemoteFault: String, CaseIterable, Sendable, CustomTestStringConvertible {
        case unknownRKeyWrite, unknownRKeyRead, unknownRKeyAtomic, rkeyOfAnotherPD
        case writePastRegionEnd, readPastRegionEnd, writeBeforeRegionStart, atomicPastRegionEnd
        case writeWithoutRemoteWrite, readWithoutRemoteRead, fetchAddWithoutRemoteAtomic, compareSwapWithoutRemoteAtomic
        case writeWithImmediateUnknownRKey
        var testDescription: String { rawValue }
    }

    @Test("A bad remote key, range or right completes with REM_ACCESS_ERR and flushes what follows", arguments: RemoteFault.allCases, Layout.symmetric)
    func remoteAccess(fault: RemoteFault, layout: Layout) throws {
        let (client, server) = try connectedPair(layout)
        defer { shutDown(client, server) }
        server.buffer.fill(0xEE, count: 65536)
        try server.qp.postReceive(ReceiveWorkRequest(id: 1, scatterGatherList: []))
        client.buffer.write(pattern(4096, seed: 1), at: 0)
        let unknown = RemoteKey(rawValue: server.region.rkey.rawValue &+ 0x1000)
        let data = [client.sge(0, 64)]
        // A small window [16384, 16384 + 8192) with every right, for range faults.
        let window = try server.register(16384, 8192, access: [.localWrite, .remoteWrite, .remoteRead, .remoteAtomic])
        let request: SendWorkRequest
        switch fault {
        case .unknownRKeyWrite:
            request = .rdmaWrite(id: 1, scatterGatherList: data, remoteAddress: server.address(0), rkey: unknown)
        case .unknownRKeyRead:
            request = .rdmaRead(id: 1, scatterGatherList: [client.sge(8192, 64)], remoteAddress: server.address(0), rkey: unknown)
        case .unknownRKeyAtomic:
            request = .atomicFetchAndAdd(id: 1, result: client.sge(8192, 8), remoteAddress: server.address(0), rkey: unknown, add: 1)
        case .rkeyOfAnotherPD:
            let foreign = try server.register(0, 65536, access: [.localWrite, .remoteWrite], pd: server.device.allocateProtectionDomain())
            request = .rdmaWrite(id: 1, scatterGatherList: data, remoteAddress: server.address(0), rkey: foreign.rkey)
        case .writePastRegionEnd:
            request = .rdmaWrite(id: 1, scatterGatherList: [client.sge(0, 200)], remoteAddress: server.address(16384 + 8192 - 100), rkey: window.rkey)
        case .readPastRegionEnd:
            request = .rdmaRead(id: 1, scatterGatherList: [client.sge(8192, 4096)], remoteAddress: server.address(16384 + 8192 - 4095), rkey: window.rkey)
        case .writeBeforeRegionStart:
            request = .rdmaWrite(id: 1, scatterGatherList: data, remoteAddress: server.address(16384 - 8), rkey: window.rkey)
        case .atomicPastRegionEnd:
            request = .atomicFetchAndAdd(id: 1, result: client.sge(8192, 8), remoteAddress: server.address(16384 + 8192), rkey: window.rkey, add: 1)
        case .writeWithoutRemoteWrite:
            let region = try server.register(0, 65536, access: [.localWrite, .remoteRead, .remoteAtomic])
            request = .rdmaWrite(id: 1, scatterGatherList: data, remoteAddress: server.address(0), rkey: region.rkey)
        case .readWithoutRemoteRead:
            let region = try server.register(0, 65536, access: [.localWrite, .remoteWrite, .remoteAtomic])
            request = .rdmaRead(id: 1, scatterGatherList: [client.sge(8192, 64)], remoteAddress: server.address(0), rkey: region.rkey)
        case .fetchAddWithoutRemoteAtomic:
            let region = try server.register(0, 65536, access: [.localWrite, .remoteWrite, .remoteRead])
            request = .atomicFetchAndAdd(id: 1, result: client.sge(8192, 8), remoteAddress: server.address(0), rkey: region.rkey, add: 1)
        case .compareSwapWithoutRemoteAtomic:
            let region = try server.register(0, 65536, access: [.localWrite, .remoteWrite, .remoteRead])
            request = .atomicCompareAndSwap(
                id: 1, result: client.sge(8192, 8), remoteAddress: server.address(0), rkey: region.rkey, compare: 0xEEEE_EEEE_EEEE_EEEE, swap: 0)
        case .writeWithImmediateUnknownRKey:
            request = .rdmaWrite(id: 1, scatterGatherList: data, remoteAddress: server.address(0), rkey: unknown, immediateData: 5)
        }
        client.buffer.fill(0x55, at: 8192, count: 4096)
        try Self.expectFailure(request, on: client, server: server, status: .remoteAccessError)
        #expect(mismatch(server.buffer.read(at: 0, count: 65536), [UInt8](repeating: 0xEE, count: 65536)) == nil, "no remote byte changed")
        #expect(mismatch(client.buffer.read(at: 8192, count: 8), [UInt8](repeating: 0x55, count: 8)) == nil, "nothing landed in the local result buffer")
        if fault == .writeWithImmediateUnknownRKey {
            #expect(server.receiveCQ.poll().map { $0.status != .success } ?? true, "a rejected WRITE with immediate completes no receive successfully")
        }
    }

    @Test("RDMA WRITE / READ / ATOMIC through a QP without the remote right fails with REM_ACCESS_ERR", arguments: SendWorkRequest.Opcode.allCases.filter(\.isRemoteMemoryAccess), [false, true])
    func queuePairAccessFlags(opcode: SendWorkRequest.Opcode, twoDevices: Bool) throws {
        let first = Device(name: "softroce-qpacc-a")
        let second = twoDevices ? Device(name: "softroce-qpacc-b") : first
        defer { first.close(); second.close() }
        let client = try Endpoint(device: first)
        let server = try Endpoint(device: second)
        // The server QP grants every remote right except the one the opcode needs.
        let needed: AccessFlags = switch opcode {
        case .rdmaWrite, .rdmaWriteWithImmediate: .remoteWrite
        case .rdmaRead: .remoteRead
        default: .remoteAtomic
        }
        try client.connect(to: server)
        try server.connect(to: client, access: AccessFlags.remoteAccess.subtracting(needed))
        try server.qp.postReceive(ReceiveWorkRequest(id: 1, scatterGatherList: []))
        server.buffer.fill(0xEE, count: 64)
        let request = SendWorkRequest(
            id: 1, opcode: opcode, scatterGatherList: [client.sge(0, opcode.isAtomic ? 8 : 64)], immediateData: 1,
            remoteAddress: server.address(0), rkey: server.region.rkey, compareAdd: 0xEEEE_EEEE_EEEE_EEEE, swap: 1)
        try Self.expectFailure(request, on: client, server: server, status: .remoteAccessError)
        #expect(mismatch(server.buffer.read(at: 0, count: 64), [UInt8](repeating: 0xEE, count: 64)) == nil)
    }
}
