import SoftRoCE
import SoftRoCEMemory
import Testing

private let page = Host.pageSize

/// More test_odp.py scenarios: SENDs into cold ODP receive buffers taken from a shared receive
/// queue (test_odp_rc_srq_traffic: the receive taken and put back on the fault must stay first
/// in line), prefetch through an implicit region's lkey, and a region deregistered with pages
/// mapped and registered again over the same memory (cold again, data intact).
@Suite("ODP faults: SRQ receives, implicit prefetch, re-registration", .timeLimit(.minutes(3)))
struct OnDemandReceiveAndLifecycleTests {
    @Test("SENDs from two QPs into cold ODP receive buffers of a shared receive queue keep the SRQ order", arguments: [false, true])
    func sharedReceiveQueue(twoDevices: Bool) throws {
        let serverDevice = Device(name: "softroce-odp-srq-s")
        let clientDevice = twoDevices ? Device(name: "softroce-odp-srq-c") : serverDevice
        defer {
            clientDevice.close()
            serverDevice.close()
        }
        let pd = serverDevice.allocateProtectionDomain()
        let srq = try serverDevice.createSharedReceiveQueue(protectionDomain: pd, maxWorkRequests: 16, maxScatterGatherElements: 2)
        let servers = try (0..<2).map { _ in try Endpoint(device: serverDevice, bufferSize: 1 << 18, onDemand: true, pd: pd, sharedReceiveQueue: srq) }
        let clients = try (0..<2).map { _ in try Endpoint(device: clientDevice, bufferSize: 1 << 16, onDemand: true) }
        for (client, server) in zip(clients, servers) {
            try client.connect(to: server)
            try server.connect(to: client)
        }
        let memory = servers[0]
        let slots = 6
        for index in 0..<slots {
            // Two SGEs each, both cold, the second on another page.
            try srq.postReceive(ReceiveWorkRequest(
                id: UInt64(100 + index), scatterGatherList: [memory.sge(index * 8 * page + 10, 1000), memory.sge(index * 8 * page + 3 * page, 2 * page)]))
        }
        let before = serverDevice.counters
        let order = [0, 1, 1, 0, 0, 1]
        for (step, sender) in order.enumerated() {
            let length = 1000 + page + 17 * step
            let data = pattern(length, seed: UInt8(step))
            clients[sender].buffer.write(data, at: 0)
            let sent = try clients[sender].run(.send(id: UInt64(step), scatterGatherList: [clients[sender].sge(0, length)]))
            #expect(sent?.status == .success, "step \(step)")
            let received = servers[sender].waitReceive()
            try #require(received.count == 1, "step \(step): no receive")
            #expect(received[0].status == .success)
            #expect(received[0].wrID == UInt64(100 + step), "step \(step): the SRQ's next receive, even after a fault put it back")
            #expect(received[0].byteLength == UInt32(length))
            let landed = memory.buffer.read(at: step * 8 * page + 10, count: 1000)
                + memory.buffer.read(at: step * 8 * page + 3 * page, count: length - 1000)
            #expect(mismatch(landed, data) == nil, "step \(step)")
        }
        #expect(srq.count == 0)
        let delta = CounterDelta(from: before, to: serverDevice.counters)
        #expect(delta.rnrNaksSent >= slots, "each cold receive buffer cost an RNR NAK: \(delta)")
        #expect(regionFaults(memory.region).faults >= slots)
    }

    @Test("Prefetch through an implicit region's lkey: the WRITE that follows does not fault")
    func implicitPrefetch() throws {
        let (client, server) = try connectedPair(twoDevices: true, onDemand: (false, false), bufferSize: 4 * page)
        defer { shutDown(client, server) }
        let implicit = try server.pd.registerImplicitOnDemandRegion(access: [.localWrite, .remoteWrite])
        let memory = try AnonymousMemory(length: 32 * page)
        let umem = try #require(implicit.onDemandUmem)
        let sge = ScatterGatherElement(address: memory.address + 100, length: UInt32(8 * page), lkey: implicit.lkey)
        let before = server.device.counters
        #expect(try server.pd.adviseMemory(.write, scatterGatherList: [sge]) == 9)
        #expect(umem.mappedPageCount == 9)
        #expect(server.device.counters.prefetchedPages - before.prefetchedPages == 9)
        // Outside the user address space: refused.
        #expect(throws: VerbsError.self) {
            try server.pd.adviseMemory(.read, scatterGatherList: [ScatterGatherElement(address: 1 << 48, length: 64, lkey: implicit.lkey)])
        }

        let data = pattern(8 * page, seed: 111)
        client.buffer.write(Array(data[0..<4 * page]), at: 0)
        let faultsBefore = server.device.counters.pageFaults
        #expect(try client.run(.rdmaWrite(id: 1, scatterGatherList: [client.sge(0, 4 * page)], remoteAddress: memory.address + 100, rkey: implicit.rkey))?.status == .success)
        #expect(mismatch(memory.read(at: 100, count: 4 * page), Array(data[0..<4 * page])) == nil)
        #expect(server.device.counters.pageFaults == faultsBefore, "prefetched implicit pages do not fault")
    }

    @Test("Deregister with pages mapped, register again over the same memory: cold again, data intact", arguments: [false, true])
    func reregistration(twoDevices: Bool) throws {
        let (client, server) = try connectedPair(twoDevices: twoDevices, onDemand: (false, true))
        defer { shutDown(client, server) }
        let access: AccessFlags = [.localWrite, .remoteWrite, .remoteRead]
        let first = try server.register(16 * page, 8 * page, access: access, onDemand: true)
        let data = pattern(4 * page, seed: 112)
        client.buffer.write(data, at: 0)
        #expect(try client.run(.rdmaWrite(id: 1, scatterGatherList: [client.sge(0, 4 * page)], remoteAddress: server.address(16 * page), rkey: first.rkey))?.status == .success)
        let firstUmem = try #require(first.onDemandUmem)
        #expect(firstUmem.mappedPageCount == 4)
        first.deregister()
        #expect(firstUmem.isReleased)
        #expect(firstUmem.mappedPageCount == 0, "deregistration cleared the entries")
        #expect(mismatch(server.buffer.read(at: 16 * page, count: 4 * page), data) == nil, "the memory itself is untouched")

        let second = try server.register(16 * page, 8 * page, access: access, onDemand: true)
        let secondUmem = try #require(second.onDemandUmem)
        #expect(secondUmem.mappedPageCount == 0, "a new registration starts cold")
        let before = regionFaults(second)
        #expect(try client.run(.rdmaRead(id: 2, scatterGatherList: [client.sge(64 * page, 4 * page)], remoteAddress: server.address(16 * page), rkey: second.rkey))?.status == .success)
        #expect(mismatch(client.buffer.read(at: 64 * page, count: 4 * page), data) == nil)
        #expect(regionFaults(second).faults > before.faults, "the new region faulted its pages in")
        // The stale rkey is refused.
        let stale = try client.run(.rdmaWrite(id: 3, scatterGatherList: [client.sge(0, 64)], remoteAddress: server.address(16 * page), rkey: first.rkey))
        #expect(stale?.status == .remoteAccessError)
    }
}
