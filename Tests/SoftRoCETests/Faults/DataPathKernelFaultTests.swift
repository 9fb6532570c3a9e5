import SoftRoCE
import SoftRoCEMemory
import Testing

private let page = Host.pageSize

/// The data path never faults synchronously: the device's engine thread — which runs the
/// requester, and the responder and completer of in-process peers — touches only pages its ODP
/// tables say are mapped, so the kernel page faults it takes (`dataPathKernelFaults`) stay at 0
/// through hundreds of cold WRITEs and READs, while the fault workqueue resolves every fault.
@Suite("ODP faults: no kernel page fault on the data path", .timeLimit(.minutes(3)))
struct DataPathKernelFaultTests {
    static let length = 2 * page
    static let iterations = 100

    /// One WRITE and one READ of `length` bytes, checked byte for byte. With `cold`, the target
    /// of each is invalidated and dropped first (and the READ's source written again).
    static func round(_ index: Int, client: Endpoint, server: Endpoint, cold: Bool) throws -> [String] {
        var problems: [String] = []
        let slot = (index % 8) * 4 * page  // spread over a few pages, always page aligned + 100
        let writeData = pattern(length, seed: UInt8(truncatingIfNeeded: index))
        let readData = pattern(length, seed: UInt8(truncatingIfNeeded: index &+ 128))
        if cold { try server.makeCold(64 * page + slot, 4 * page) }
        client.buffer.write(writeData, at: slot + 100)
        if let completion = try client.run(.rdmaWrite(
            id: UInt64(2 * index), scatterGatherList: [client.sge(slot + 100, length)], remoteAddress: server.address(64 * page + slot + 100), rkey: server.region.rkey))
        {
            if completion.status != .success { problems.append("WRITE \(index): \(completion.status)") }
        } else {
            problems.append("WRITE \(index): no completion")
        }
        if server.buffer.read(at: 64 * page + slot + 100, count: length) != writeData { problems.append("WRITE \(index): data") }

        if cold {
            try client.makeCold(128 * page + slot, 4 * page)
            try server.makeCold(192 * page + slot, 4 * page)
        }
        server.buffer.write(readData, at: 192 * page + slot + 100)
        if let completion = try client.run(.rdmaRead(
            id: UInt64(2 * index + 1), scatterGatherList: [client.sge(128 * page + slot + 100, length)], remoteAddress: server.address(192 * page + slot + 100), rkey: server.region.rkey))
        {
            if completion.status != .success { problems.append("READ \(index): \(completion.status)") }
        } else {
            problems.append("READ \(index): no completion")
        }
        if client.buffer.read(at: 128 * page + slot + 100, count: length) != readData { problems.append("READ \(index): data") }
        return problems
    }

    /// Warms the pair up (thread start-up, heap growth and first-use allocations happen here; cold
    /// rounds only when `cold`), then runs ``iterations`` rounds and returns both devices' counter
    /// changes over them. Every round's problems are expected to be none.
    static func measuredRounds(client: Endpoint, server: Endpoint, cold: Bool) throws -> (client: CounterDelta, server: CounterDelta) {
        for index in 0..<16 {
            let problems = try round(index, client: client, server: server, cold: cold && index % 2 == 0)
            #expect(problems.isEmpty, "warm-up: \(problems)")
        }
        let clientBefore = client.device.counters
        let serverBefore = server.device.counters
        var problems: [String] = []
        for index in 0..<iterations {
            problems += try round(index, client: client, server: server, cold: cold)
        }
        #expect(problems.isEmpty, "\(problems.prefix(5))")
        return (CounterDelta(from: clientBefore, to: client.device.counters), CounterDelta(from: serverBefore, to: server.device.counters))
    }

    @Test(
        "≥ 100 cold WRITE + READ rounds: pageFaults grow, dataPathKernelFaults do not",
        arguments: [false, true], [false, true])
    func coldRounds(twoDevices: Bool, pinnedEngine: Bool) throws {
        // Pinned, the engine shares its CPU with the fault workers and resolves small faults
        // itself when idle: the kernel faults of those populates are not the data path's.
        let (client, server) = try connectedPair(
            twoDevices: twoDevices, onDemand: (true, true), engineCPU: pinnedEngine ? Host.allowedCPUs.last : nil)
        defer { shutDown(client, server) }
        let (clientDelta, serverDelta) = try Self.measuredRounds(client: client, server: server, cold: true)
        if !underSanitizer {
            #expect(clientDelta.dataPathKernelFaults == 0, "client engine thread took kernel faults: \(clientDelta)")
            #expect(serverDelta.dataPathKernelFaults == 0, "server engine thread took kernel faults: \(serverDelta)")
        }
        // Every round faulted the WRITE target, the READ source and the READ destination.
        #expect(serverDelta.pageFaults >= Self.iterations, "server faults: \(serverDelta)")
        if twoDevices {
            #expect(serverDelta.pageFaults >= 2 * Self.iterations, "WRITE target + READ source each round: \(serverDelta)")
            #expect(clientDelta.pageFaults >= Self.iterations, "READ destination each round: \(clientDelta)")
        } else {
            #expect(serverDelta.pageFaults >= 3 * Self.iterations, "three cold targets each round: \(serverDelta)")
        }
        #expect(serverDelta.failedFaults == 0 && clientDelta.failedFaults == 0)
        var engineResolved = serverDelta.engineResolvedFaults + clientDelta.engineResolvedFaults
        if pinnedEngine {
            // Whether the engine or a worker resolves a fault is a race (a worker woken on the
            // shared core may run first, most often under a sanitizer's load): more cold rounds
            // until the engine has resolved one.
            let devices = twoDevices ? [client.device, server.device] : [client.device]
            let mark = devices.map(\.counters.engineResolvedFaults)
            var index = Self.iterations
            while engineResolved == 0 && index < 20 * Self.iterations {
                let problems = try Self.round(index, client: client, server: server, cold: true)
                #expect(problems.isEmpty, "\(problems)")
                engineResolved = zip(devices, mark).reduce(0) { $0 + $1.0.counters.engineResolvedFaults - $1.1 }
                index += 1
            }
            #expect(engineResolved > 0, "pinned: the idle engine resolves small faults itself")
        } else {
            #expect(engineResolved == 0, "unpinned: the workers resolve every fault")
        }
    }

    @Test("Pinned regions: the data path takes no kernel fault either", arguments: [false, true])
    func pinnedRounds(twoDevices: Bool) throws {
        let (client, server) = try connectedPair(twoDevices: twoDevices, onDemand: (false, false))
        defer { shutDown(client, server) }
        let (clientDelta, serverDelta) = try Self.measuredRounds(client: client, server: server, cold: false)
        if !underSanitizer {
            #expect(clientDelta.dataPathKernelFaults == 0, "client: \(clientDelta)")
            #expect(serverDelta.dataPathKernelFaults == 0, "server: \(serverDelta)")
        }
        #expect(clientDelta.pageFaults == 0 && serverDelta.pageFaults == 0, "pinned memory never faults")
    }

    @Test("Sanity: pages dropped behind the device's back (no invalidation) do show up as data-path kernel faults")
    func counterIsSensitive() throws {
        let (client, server) = try connectedPair(twoDevices: true, onDemand: (true, true))
        defer { shutDown(client, server) }
        for index in 0..<8 { _ = try Self.round(index, client: client, server: server, cold: false) }  // every slot warm
        let clientBefore = client.device.counters
        let serverBefore = server.device.counters
        // Misuse on purpose: the ODP entries still say "mapped", but the pages are gone. The
        // device writes them directly and the kernel faults fresh zero pages in under it.
        try server.buffer.dropPages(at: 64 * page, count: 32 * page)
        for index in 0..<8 { _ = try Self.round(index, client: client, server: server, cold: false) }
        let kernelFaults = CounterDelta(from: clientBefore, to: client.device.counters).dataPathKernelFaults
            + CounterDelta(from: serverBefore, to: server.device.counters).dataPathKernelFaults
        #expect(kernelFaults >= 1, "the counter must see the engine's kernel faults")
        #expect(server.device.counters.pageFaults == serverBefore.pageFaults, "no ODP fault: the entries were never invalidated")
    }
}
