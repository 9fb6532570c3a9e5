import SoftRoCE
import SoftRoCEMemory
import Testing

/// ATOMIC_CMP_AND_SWP and ATOMIC_FETCH_AND_ADD: the original value lands in the local buffer, the
/// remote word is updated, and concurrent atomics from many QPs on several devices lose no update.
@Suite("Atomics", .timeLimit(.minutes(3)))
struct AtomicTests {
    @Test("FETCH_AND_ADD returns the original value and adds (64-bit, wrapping)", arguments: Layout.all)
    func fetchAndAdd(layout: Layout) throws {
        let (client, server) = try connectedPair(layout)
        defer { shutDown(client, server) }
        server.buffer.storeUInt64(0x0000_0000_FFFF_FFFE, at: 4096)
        server.buffer.storeUInt64(0xFFFF_FFFF_FFFF_FFFF, at: 4104)
        client.buffer.fill(0xEE, count: 64)
        try client.qp.postSend(.atomicFetchAndAdd(id: 1, result: client.sge(8, 8), remoteAddress: server.address(4096), rkey: server.region.rkey, add: 5))
        try client.qp.postSend(.atomicFetchAndAdd(id: 2, result: client.sge(16, 8), remoteAddress: server.address(4104), rkey: server.region.rkey, add: 2))

        let completions = client.waitSend(2)
        try #require(completions.count == 2)
        #expect(completions.map(\.wrID) == [1, 2])
        #expect(completions.allSatisfy { $0.status == .success && $0.opcode == .fetchAndAdd && $0.byteLength == 8 })
        #expect(client.buffer.loadUInt64(at: 8) == 0x0000_0000_FFFF_FFFE)
        #expect(client.buffer.loadUInt64(at: 16) == 0xFFFF_FFFF_FFFF_FFFF)
        #expect(server.buffer.loadUInt64(at: 4096) == 0x0000_0001_0000_0003, "carry into the high word")
        #expect(server.buffer.loadUInt64(at: 4104) == 1, "wraps modulo 2^64")
        #expect(mismatch(client.buffer.read(at: 0, count: 8), [UInt8](repeating: 0xEE, count: 8)) == nil)
        #expect(mismatch(client.buffer.read(at: 24, count: 8), [UInt8](repeating: 0xEE, count: 8)) == nil)
    }

    @Test("CMP_AND_SWP swaps only on a match and always returns the original", arguments: Layout.all)
    func compareAndSwap(layout: Layout) throws {
        let (client, server) = try connectedPair(layout)
        defer { shutDown(client, server) }
        server.buffer.storeUInt64(0x1122_3344_5566_7788, at: 512)
        try client.qp.postSend(.atomicCompareAndSwap(
            id: 1, result: client.sge(0, 8), remoteAddress: server.address(512), rkey: server.region.rkey,
            compare: 0x1122_3344_5566_7788, swap: 0xAAAA_BBBB_CCCC_DDDD))
        try client.qp.postSend(.atomicCompareAndSwap(
            id: 2, result: client.sge(8, 8), remoteAddress: server.address(512), rkey: server.region.rkey,
            compare: 0x1122_3344_5566_7788, swap: 0x0))
        let completions = client.waitSend(2)
        try #require(completions.count == 2)
        #expect(completions.allSatisfy { $0.status == .success && $0.opcode == .compareAndSwap && $0.byteLength == 8 })
        #expect(client.buffer.loadUInt64(at: 0) == 0x1122_3344_5566_7788, "matched: original returned")
        #expect(client.buffer.loadUInt64(at: 8) == 0xAAAA_BBBB_CCCC_DDDD, "mismatched: current value returned")
        #expect(server.buffer.loadUInt64(at: 512) == 0xAAAA_BBBB_CCCC_DDDD, "the mismatched swap left the word alone")
    }

    @Test("A misaligned atomic is rejected at post time")
    func misaligned() throws {
        let (client, server) = try connectedPair(twoDevices: false)
        defer { shutDown(client, server) }
        let error = #expect(throws: VerbsError.self) {
            try client.qp.postSend(.atomicFetchAndAdd(id: 1, result: client.sge(0, 8), remoteAddress: server.address(4), rkey: server.region.rkey, add: 1))
        }
        #expect(error?.code == .misalignedAtomicAddress)
        let length = #expect(throws: VerbsError.self) {
            try client.qp.postSend(.atomicFetchAndAdd(id: 1, result: client.sge(0, 4), remoteAddress: server.address(8), rkey: server.region.rkey, add: 1))
        }
        #expect(length?.code == .invalidAtomicLength)
    }

    /// Per-thread results: thread `i` writes only `slots[i]`, and `pthread_join` orders those
    /// writes before the test reads them (no lock, so ThreadSanitizer sees the real ordering).
    final class Results: @unchecked Sendable {
        final class Slot {
            var values: [UInt64] = []
            var failure: String?
        }
        let slots: [Slot]
        init(threads: Int) { slots = (0..<threads).map { _ in Slot() } }
        var failures: [String] { slots.compactMap(\.failure) }
        var values: [UInt64] { slots.flatMap(\.values) }
    }

    @Test("Concurrent FETCH_AND_ADD from QPs on two devices loses no update", arguments: [false, true])
    func concurrentFetchAndAdd(onDemand: Bool) throws {
        let serverDevice = Device(name: "softroce-atomic-s")
        let clientDevice = Device(name: "softroce-atomic-c")
        defer { serverDevice.close(); clientDevice.close() }
        let pd = serverDevice.allocateProtectionDomain()
        // Two client QPs on the server's own device (loopback) and two on another device, each
        // connected to its own server QP; every server QP shares the PD of the target word.
        let clientDevices = [serverDevice, serverDevice, clientDevice, clientDevice]
        let servers = try clientDevices.map { _ in try Endpoint(device: serverDevice, bufferSize: 1 << 16, onDemand: onDemand, pd: pd) }
        let clients = try clientDevices.map { try Endpoint(device: $0, bufferSize: 1 << 16, onDemand: onDemand) }
        for (client, server) in zip(clients, servers) {
            try client.connect(to: server)
            try server.connect(to: client)
        }
        let target = servers[0]
        let base: UInt64 = 0xFFFF_FF00
        target.buffer.storeUInt64(base, at: 64)
        let perQP = 600
        let results = Results(threads: clients.count)
        runOnThreads(clients.count) { index in
            let client = clients[index]
            var posted = 0
            var completed = 0
            while completed < perQP {
                while posted < perQP && posted - completed < 32 {
                    do {
                        try client.qp.postSend(.atomicFetchAndAdd(
                            id: UInt64(posted), result: client.sge(posted * 8, 8), remoteAddress: target.address(64), rkey: target.region.rkey, add: 1))
                    } catch {
                        results.slots[index].failure = "QP \(index) post \(posted): \(error)"
                        return
                    }
                    posted += 1
                }
                let batch = client.waitSend(1, timeout: .seconds(20))
                guard let completion = batch.first, completion.status == .success, completion.wrID == UInt64(completed) else {
                    results.slots[index].failure = "QP \(index) completion \(completed): \(batch)"
                    return
                }
                completed += 1
            }
            let mine = (0..<perQP).map { client.buffer.loadUInt64(at: $0 * 8) }
            results.slots[index].values = mine
        }
        #expect(results.failures == [])
        let total = UInt64(perQP * clients.count)
        #expect(target.buffer.loadUInt64(at: 64) == base + total, "every add applied exactly once")
        let originals = results.values.sorted()
        #expect(originals == Array(base..<base + total), "each add saw a distinct original value")
    }

    @Test("CMP_AND_SWP increments from two QPs on two devices lose no update", arguments: [false, true])
    func compareAndSwapCounter(onDemand: Bool) throws {
        let serverDevice = Device(name: "softroce-cas-s")
        let clientDevice = Device(name: "softroce-cas-c")
        defer { serverDevice.close(); clientDevice.close() }
        let pd = serverDevice.allocateProtectionDomain()
        let servers = try (0..<2).map { _ in try Endpoint(device: serverDevice, bufferSize: 1 << 16, onDemand: onDemand, pd: pd) }
        let clients = try [serverDevice, clientDevice].map { try Endpoint(device: $0, bufferSize: 1 << 16, onDemand: onDemand) }
        for (client, server) in zip(clients, servers) {
            try client.connect(to: server)
            try server.connect(to: client)
        }
        let target = servers[0]
        target.buffer.storeUInt64(0, at: 0)
        let increments = 300
        let results = Results(threads: 2)
        do {
            runOnThreads(2) { index in
                let client = clients[index]
                var guess: UInt64 = 0
                var successes = 0
                var attempt: UInt64 = 0
                while successes < increments {
                    do {
                        try client.qp.postSend(.atomicCompareAndSwap(
                            id: attempt, result: client.sge(0, 8), remoteAddress: target.address(0), rkey: target.region.rkey,
                            compare: guess, swap: guess + 1))
                    } catch {
                        results.slots[index].failure = "QP \(index): \(error)"
                        return
                    }
                    let batch = client.waitSend(1, timeout: .seconds(20))
                    guard let completion = batch.first, completion.status == .success, completion.wrID == attempt else {
                        results.slots[index].failure = "QP \(index) attempt \(attempt): \(batch)"
                        return
                    }
                    attempt += 1
                    let original = client.buffer.loadUInt64(at: 0)
                    if original == guess {
                        results.slots[index].values.append(guess)
                        successes += 1
                        guess += 1
                    } else {
                        guess = original
                    }
                }
            }
        }
        #expect(results.failures == [])
        let total = UInt64(2 * increments)
        #expect(target.buffer.loadUInt64(at: 0) == total)
        let first = Set(results.slots[0].values)
        let second = Set(results.slots[1].values)
        #expect(first.isDisjoint(with: second), "no value was claimed by both QPs")
        #expect(first.union(second) == Set(0..<total), "every increment is accounted for")
    }
}
