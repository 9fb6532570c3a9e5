import SoftRoCE
import SoftRoCEMemory
import Testing

/// Memory region lifetime: deregistration under traffic is safe, its keys stop working at once,
/// a re-registration at the same table index gets a new variant so the stale key is rejected,
/// invalid access flags are refused, and pinned registrations respect their memlock account.
@Suite("Memory region lifetime", .timeLimit(.minutes(3)))
struct MemoryRegionLifetimeTests {
    @Test("deregister() while WRITEs target the region never crashes; what follows fails cleanly", arguments: Layout.symmetric)
    func deregisterUnderTraffic(layout: Layout) throws {
        let (client, server) = try connectedPair(layout, bufferSize: 1 << 21)
        defer { shutDown(client, server) }
        let target = try server.register(0, 1 << 21, access: [.localWrite, .remoteWrite])
        let count = 256
        for index in 0..<count {
            try client.qp.postSend(.rdmaWrite(
                id: UInt64(index), scatterGatherList: [client.sge((index % 16) * 65536, 65536)],
                remoteAddress: server.address((index % 32) * 65536), rkey: target.rkey))
        }
        target.deregister()
        #expect(target.isDeregistered)
        let completions = client.waitSend(count, timeout: .seconds(20))
        try #require(completions.count == count, "completions: \(completions.count)")
        #expect(completions.map(\.wrID) == (0..<UInt64(count)).map { $0 })
        let firstFailure = completions.firstIndex { $0.status != .success } ?? count
        if firstFailure < count {
            #expect(completions[firstFailure].status == .remoteAccessError)
            #expect(completions[(firstFailure + 1)...].allSatisfy { $0.status == .workRequestFlushError })
            #expect(client.qp.state == .error)
        } else {
            // The stream finished before the keys went away; the next WRITE must meet the dead rkey.
            try client.qp.postSend(.rdmaWrite(id: 999, scatterGatherList: [client.sge(0, 64)], remoteAddress: server.address(0), rkey: target.rkey))
            #expect(client.waitSend().first?.status == .remoteAccessError)
        }
        // The buffer is still the application's and still mapped: deregistration released the
        // region only, and the device is done with it.
        server.buffer.fill(0x11, count: 4096)
        #expect(mismatch(server.buffer.read(at: 0, count: 4096), [UInt8](repeating: 0x11, count: 4096)) == nil)
    }

    @Test("deregister() of the source region under a stream of WRITEs: LOC_PROT_ERR then flushes, never a crash", arguments: Layout.symmetric)
    func deregisterSourceUnderTraffic(layout: Layout) throws {
        let (client, server) = try connectedPair(layout, bufferSize: 1 << 21)
        defer { shutDown(client, server) }
        let source = try client.register(0, 1 << 21, access: [.localWrite])
        let count = 256
        for index in 0..<count {
            try client.qp.postSend(.rdmaWrite(
                id: UInt64(index), scatterGatherList: [client.sge((index % 32) * 65536, 65536, lkey: source.lkey)],
                remoteAddress: server.address((index % 16) * 65536), rkey: server.region.rkey))
        }
        source.deregister()
        let completions = client.waitSend(count, timeout: .seconds(20))
        try #require(completions.count == count, "completions: \(completions.count)")
        #expect(completions.map(\.wrID) == (0..<UInt64(count)).map { $0 })
        let firstFailure = completions.firstIndex { $0.status != .success } ?? count
        if firstFailure < count {
            #expect(completions[firstFailure].status == .localProtectionError)
            #expect(completions[(firstFailure + 1)...].allSatisfy { $0.status == .workRequestFlushError })
        } else {
            try client.qp.postSend(.rdmaWrite(id: 999, scatterGatherList: [client.sge(0, 64, lkey: source.lkey)], remoteAddress: server.address(0), rkey: server.region.rkey))
            #expect(client.waitSend().first?.status == .localProtectionError)
        }
        #expect(client.qp.state == .error)
    }

    @Test("After deregister() the rkey fails with REM_ACCESS_ERR and the lkey with LOC_PROT_ERR", arguments: Layout.symmetric)
    func deregisteredKeys(layout: Layout) throws {
        let (client, server) = try connectedPair(layout)
        defer { shutDown(client, server) }
        let target = try server.register(0, 65536, access: [.localWrite, .remoteWrite, .remoteRead])
        let source = try client.register(0, 65536, access: [.localWrite])
        client.buffer.write(pattern(64, seed: 1), at: 0)
        try client.qp.postSend(.rdmaWrite(id: 1, scatterGatherList: [client.sge(0, 64, lkey: source.lkey)], remoteAddress: server.address(0), rkey: target.rkey))
        #expect(client.waitSend().first?.status == .success)
        #expect(mismatch(server.buffer.read(at: 0, count: 64), pattern(64, seed: 1)) == nil)

        target.deregister()
        server.buffer.fill(0xEE, count: 64)
        client.buffer.write(pattern(64, seed: 2), at: 0)
        try client.qp.postSend(.rdmaWrite(id: 2, scatterGatherList: [client.sge(0, 64)], remoteAddress: server.address(0), rkey: target.rkey))
        let remote = client.waitSend()
        #expect(remote.first?.status == .remoteAccessError)
        #expect(mismatch(server.buffer.read(at: 0, count: 64), [UInt8](repeating: 0xEE, count: 64)) == nil, "nothing written through a dead rkey")

        // A fresh pair for the local side (the first QP is in ERR now).
        let (client2, server2) = try connectedPair(layout)
        defer { shutDown(client2, server2) }
        let local = try client2.register(0, 65536, access: [.localWrite])
        local.deregister()
        try client2.qp.postSend(.rdmaWrite(id: 3, scatterGatherList: [client2.sge(0, 64, lkey: local.lkey)], remoteAddress: server2.address(0), rkey: server2.region.rkey))
        #expect(client2.waitSend().first?.status == .localProtectionError)
        _ = source
    }

    @Test("Re-registration at the same index gets a new variant; the stale rkey and lkey are rejected", arguments: Layout.symmetric)
    func staleKeyAfterReregistration(layout: Layout) throws {
        let (client, server) = try connectedPair(layout)
        defer { shutDown(client, server) }
        let old = try server.register(0, 65536, access: [.localWrite, .remoteWrite])
        let staleRKey = old.rkey
        let staleLKey = old.lkey
        old.deregister()
        let fresh = try server.register(0, 65536, access: [.localWrite, .remoteWrite])
        #expect(fresh.rkey.index == staleRKey.index, "the freed index is reused")
        #expect(fresh.rkey.variant != staleRKey.variant)
        #expect(fresh.rkey != staleRKey)
        #expect(fresh.lkey != staleLKey)

        client.buffer.write(pattern(64, seed: 3), at: 0)
        try client.qp.postSend(.rdmaWrite(id: 1, scatterGatherList: [client.sge(0, 64)], remoteAddress: server.address(0), rkey: fresh.rkey))
        #expect(client.waitSend().first?.status == .success)
        #expect(mismatch(server.buffer.read(at: 0, count: 64), pattern(64, seed: 3)) == nil)

        client.buffer.write(pattern(64, seed: 4), at: 0)
        try client.qp.postSend(.rdmaWrite(id: 2, scatterGatherList: [client.sge(0, 64)], remoteAddress: server.address(0), rkey: staleRKey))
        try client.qp.postSend(.rdmaWrite(id: 3, scatterGatherList: [client.sge(0, 64)], remoteAddress: server.address(0), rkey: fresh.rkey))
        let completions = client.waitSend(2)
        #expect(statuses(completions) == [.remoteAccessError, .workRequestFlushError])
        #expect(mismatch(server.buffer.read(at: 0, count: 64), pattern(64, seed: 3)) == nil, "the stale rkey wrote nothing")

        // The stale lkey is rejected locally, by a QP of the server's device (the server QP above is in
        // ERR now: a responder that rejects an rkey moves to ERR, as in rxe).
        let local = try Endpoint(device: server.device, onDemand: layout.serverODP, pd: server.pd)
        let peer = try Endpoint(device: client.device, onDemand: layout.clientODP)
        try local.connect(to: peer)
        try peer.connect(to: local)
        server.buffer.write(pattern(8, seed: 5), at: 100)
        try local.qp.postSend(.rdmaWrite(id: 4, scatterGatherList: [server.sge(100, 8, lkey: staleLKey)], remoteAddress: peer.address(0), rkey: peer.region.rkey))
        try local.qp.postSend(.rdmaWrite(id: 5, scatterGatherList: [server.sge(100, 8, lkey: fresh.lkey)], remoteAddress: peer.address(0), rkey: peer.region.rkey))
        #expect(statuses(local.waitSend(2)) == [.localProtectionError, .workRequestFlushError])
    }

    @Test("Invalid access flags are refused at registration")
    func invalidAccessFlags() throws {
        let device = Device(name: "softroce-mr-flags")
        defer { device.close() }
        let pd = device.allocateProtectionDomain()
        let buffer = try AnonymousMemory(length: 8192)
        for access: AccessFlags in [[.remoteWrite], [.remoteAtomic], [.remoteWrite, .remoteRead], [.remoteAtomic, .onDemand]] {
            let error = #expect(throws: VerbsError.self, "\(access)") {
                try pd.registerMemoryRegion(address: buffer.address, length: 8192, access: access, account: MemlockAccount(limitBytes: nil))
            }
            #expect(error?.code == .remoteAccessRequiresLocalWrite)
        }
        let unknown = #expect(throws: VerbsError.self) {
            try pd.registerMemoryRegion(address: buffer.address, length: 8192, access: AccessFlags(rawValue: 1 << 15), account: MemlockAccount(limitBytes: nil))
        }
        #expect(unknown?.code == .unsupportedAccessFlags)
        let empty = #expect(throws: VerbsError.self) {
            try pd.registerMemoryRegion(address: buffer.address, length: 0, access: [.localWrite], account: MemlockAccount(limitBytes: nil))
        }
        #expect(empty?.code == .invalidAttributeValue)
        // Remote read alone, or with local write, is fine.
        _ = try pd.registerMemoryRegion(address: buffer.address, length: 8192, access: [.remoteRead], account: MemlockAccount(limitBytes: nil))
        _ = try pd.registerMemoryRegion(address: buffer.address, length: 8192, access: [.localWrite, .remoteWrite, .remoteAtomic], account: MemlockAccount(limitBytes: nil))
    }

    @Test("Pinned registration over the memlock limit throws memlockLimitExceeded and leaves the account unchanged")
    func memlockLimit() throws {
        let device = Device(name: "softroce-mr-memlock")
        defer { device.close() }
        let pd = device.allocateProtectionDomain()
        let page = Host.pageSize
        let buffer = try AnonymousMemory(length: 16 * page)
        let account = MemlockAccount(limitBytes: UInt64(2 * page))

        let tooBig = #expect(throws: MemoryError.self) {
            try pd.registerMemoryRegion(address: buffer.address, length: UInt64(16 * page), access: [.localWrite], account: account)
        }
        #expect(tooBig?.code == .memlockLimitExceeded)
        #expect(account.pinnedPages == 0)

        let one = try pd.registerMemoryRegion(address: buffer.address, length: UInt64(page), access: [.localWrite], account: account)
        #expect(account.pinnedPages == 1)
        let stillTooBig = #expect(throws: MemoryError.self) {
            try pd.registerMemoryRegion(address: buffer.address + UInt64(page), length: UInt64(2 * page), access: [.localWrite], account: account)
        }
        #expect(stillTooBig?.code == .memlockLimitExceeded)
        #expect(account.pinnedPages == 1, "the failed registration charged nothing")
        // An unaligned range is charged by the pages it touches: 2 bytes over a page boundary = 2 pages.
        let straddling = #expect(throws: MemoryError.self) {
            try pd.registerMemoryRegion(address: buffer.address + UInt64(2 * page - 1), length: 2, access: [.localWrite], account: account)
        }
        #expect(straddling?.code == .memlockLimitExceeded)
        #expect(account.pinnedPages == 1)

        // ODP registrations are never charged.
        let odp = try pd.registerMemoryRegion(address: buffer.address, length: UInt64(16 * page), access: [.localWrite, .onDemand], account: account)
        #expect(account.pinnedPages == 1)

        one.deregister()
        #expect(account.pinnedPages == 0, "deregistration returns the pages")
        let two = try pd.registerMemoryRegion(address: buffer.address, length: UInt64(2 * page), access: [.localWrite], account: account)
        #expect(account.pinnedPages == 2)
        two.deregister()
        odp.deregister()
        #expect(account.pinnedPages == 0)
    }
}
