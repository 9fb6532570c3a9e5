import SoftRoCE
import SoftRoCEMemory
import Testing

private let page = Host.pageSize

/// A pinned engine resolves small queued faults itself when idle (its workers share its core).
/// What it must not change: large faults stay with the workers, and its own populates are kept
/// out of the data-path kernel-fault counter without hiding a real data-path fault.
@Suite("ODP faults: the pinned engine's own resolutions", .timeLimit(.minutes(3)))
struct EngineFaultResolutionTests {
    /// One device, ODP on both sides, its engine and workers pinned to the last allowed CPU.
    static func pinnedPair() throws -> (client: Endpoint, server: Endpoint) {
        try connectedPair(twoDevices: false, onDemand: (true, true), bufferSize: 4 << 20, engineCPU: Host.allowedCPUs.last)
    }

    /// WRITEs `count` bytes from the client's start to the server's `offset`; the completion.
    static func write(_ count: Int, to offset: Int, id: UInt64, client: Endpoint, server: Endpoint) throws -> WorkCompletion? {
        try client.run(.rdmaWrite(
            id: id, scatterGatherList: [client.sge(0, count)], remoteAddress: server.address(offset), rkey: server.region.rkey))
    }

    @Test("Faults over 64 KiB go to the workers: the engine resolves none of them")
    func largeFaultsStayWithWorkers() throws {
        let (client, server) = try Self.pinnedPair()
        defer { shutDown(client, server) }
        let size = 256 << 10
        let data = pattern(size, seed: 7)
        client.buffer.write(data)
        _ = try Self.write(size, to: 1 << 20, id: 0, client: client, server: server)  // warm-up
        let before = server.device.counters
        for round in 1...8 {
            try server.makeCold(1 << 20, size)
            let completion = try Self.write(size, to: 1 << 20, id: UInt64(round), client: client, server: server)
            #expect(completion?.status == .success, "round \(round): \(String(describing: completion?.status))")
            #expect(server.buffer.read(at: 1 << 20, count: size) == data, "round \(round): data")
        }
        let delta = CounterDelta(from: before, to: server.device.counters)
        #expect(delta.pageFaults >= 8, "every round faults: \(delta)")
        #expect(delta.engineResolvedFaults == 0, "a 256 KiB fault is not small: \(delta)")
    }

    @Test("The engine's populates are not data-path faults; pages dropped behind the device's back still are")
    func exclusionHidesNoDataPathFault() throws {
        let (client, server) = try Self.pinnedPair()
        defer { shutDown(client, server) }
        let size = 2 * page
        let data = pattern(size, seed: 9)
        client.buffer.write(data)
        for slot in 0..<8 { _ = try Self.write(size, to: slot * 4 * page, id: UInt64(slot), client: client, server: server) }
        let before = server.device.counters
        // Whether the engine or a worker resolves a fault is a race (a worker woken on the shared
        // core may run first, most often under a sanitizer's load): keep going past the 64 rounds
        // until the engine has resolved one, so the exclusion is exercised.
        var round = 0
        while round < 64 || (server.device.counters.engineResolvedFaults == before.engineResolvedFaults && round < 4096) {
            defer { round += 1 }
            let slot = round % 8
            if round % 2 == 0 {
                // Invalidated and dropped: an ODP fault, which the idle engine may resolve itself.
                try server.makeCold(slot * 4 * page, size)
            } else {
                // Misuse on purpose: the entries still say "mapped" but the pages are gone, so the
                // data path's write takes kernel faults.
                try server.buffer.dropPages(at: slot * 4 * page, count: 4 * page)
            }
            let completion = try Self.write(size, to: slot * 4 * page, id: UInt64(100 + round), client: client, server: server)
            #expect(completion?.status == .success, "round \(round): \(String(describing: completion?.status))")
            #expect(server.buffer.read(at: slot * 4 * page, count: size) == data, "round \(round): data")
        }
        let delta = CounterDelta(from: before, to: server.device.counters)
        #expect(delta.pageFaults >= 32, "every even round faults: \(delta)")
        #expect(delta.engineResolvedFaults > 0, "the idle pinned engine resolves small faults: \(delta)")
        #expect(delta.dataPathKernelFaults > 0, "the dropped-behind-the-back pages still count: \(delta)")
    }
}
