import Histogram
import SoftRoCE
import SoftRoCEMemory

/// Runs perftest-style bandwidth and latency tests on the in-process device: a client QP and a
/// server QP (on one device, or two with ``PerftestConfiguration/twoDevices``), connected RC.
public final class PerftestRunner {
    public let configuration: PerftestConfiguration
    /// The transport name reported (`loopback`).
    public let transport = "loopback"

    /// The CPUs of the test thread and the engines when pinning (``PerftestConfiguration/pinThreads``).
    private let placement: (test: Int, engine: Int)?

    public init(_ configuration: PerftestConfiguration) {
        self.configuration = configuration
        let cpus = configuration.pinThreads ? Host.allowedCPUs : []
        placement = cpus.count >= 2 ? (cpus[0], cpus[cpus.count - 1]) : nil
    }

    /// Runs one message size and returns its report.
    /// - Throws: ``PerftestError`` for a failed completion or a failed verification set-up;
    ///   verbs and memory errors from the set-up.
    public func run(size: Int) throws -> PerftestReport {
        let config = configuration
        let fabric = InProcessFabric.shared
        if let placement { try? Host.pinCurrentThread(toCPU: placement.test) }
        let clientDevice = Device(name: "softroce0", link: fabric, engineCPU: placement?.engine)
        let serverDevice = config.twoDevices ? Device(name: "softroce1", link: fabric, engineCPU: placement?.engine) : clientDevice
        defer {
            clientDevice.close()
            if config.twoDevices { serverDevice.close() }
        }
        let depth = max(config.transmitDepth, 16)
        let mtu = config.mtu ?? clientDevice.port.activeMTU
        let bufferSize = max(2 * size, 8)
        var pairs: [(client: PerftestSide, server: PerftestSide)] = []
        let clientPD = clientDevice.allocateProtectionDomain()
        let serverPD = config.twoDevices ? serverDevice.allocateProtectionDomain() : clientPD
        for _ in 0..<max(config.queuePairs, 1) {
            let client = try PerftestSide(device: clientDevice, protectionDomain: clientPD, bufferSize: bufferSize, onDemand: config.onDemand, depth: depth)
            let server = try PerftestSide(device: serverDevice, protectionDomain: serverPD, bufferSize: bufferSize, onDemand: config.onDemand, depth: depth)
            try client.connect(to: server, mtu: mtu)
            try server.connect(to: client, mtu: mtu)
            pairs.append((client, server))
        }
        for (index, pair) in pairs.enumerated() {
            pair.client.buffer.write(Self.pattern(size, seed: UInt8(truncatingIfNeeded: index + 1)))
            pair.server.buffer.write(Self.pattern(size, seed: UInt8(truncatingIfNeeded: index + 101)))
        }
        if config.prefetch, config.onDemand != .none {
            for pair in pairs {
                _ = try pair.client.prefetch()
                _ = try pair.server.prefetch()
            }
        }
        // Untimed and uncounted: statistics and kernel faults below are the measured run's.
        let warmUpPosted = try warmUp(pairs: pairs, size: size)
        var before = Self.counters(clientDevice, serverDevice, twoDevices: config.twoDevices)
        var report = PerftestReport(
            test: config.testName, transport: transport, onDemand: config.onDemand, bytes: size, iterations: config.iterations)
        switch config.mode {
        case .bandwidth:
            let (bandwidth, iterations) = try measureBandwidth(pairs: pairs, size: size)
            report.bandwidth = bandwidth
            report.iterations = iterations
        case .latency:
            let (latency, iterations) = try measureLatency(pair: pairs[0], size: size) {
                before = Self.counters(clientDevice, serverDevice, twoDevices: config.twoDevices)
            }
            report.latency = latency
            report.iterations = iterations
        }
        if config.verify {
            report.verified = try verify(pairs: pairs, size: size, iterations: report.iterations, warmUpPosted: warmUpPosted)
        }
        let after = Self.counters(clientDevice, serverDevice, twoDevices: config.twoDevices)
        report.pageFaults = after.pageFaults - before.pageFaults
        report.faultedPages = after.faultedPages - before.faultedPages
        report.invalidations = after.invalidations - before.invalidations
        report.prefetchedPages = after.prefetchedPages
        report.rnrNaks = after.rnrNaksReceived - before.rnrNaksReceived
        report.retransmits = after.retransmits - before.retransmits
        report.faultLatencyP50 = Double(after.faultLatencyP50Nanoseconds) / 1000
        report.faultLatencyP99 = Double(after.faultLatencyP99Nanoseconds) / 1000
        report.dataPathKernelFaults = after.dataPathKernelFaults - before.dataPathKernelFaults
        report.engineResolvedFaults = after.engineResolvedFaults - before.engineResolvedFaults
        return report
    }

    // MARK: Bandwidth

    private func measureBandwidth(
        pairs: [(client: PerftestSide, server: PerftestSide)], size: Int
    ) throws -> (PerftestReport.Bandwidth, Int) {
        let config = configuration
        let operation = config.operation
        let (depth, signalEvery) = Self.bandwidthWindow(config)
        let iterations = config.duration == nil ? config.iterations : Int.max
        let deadline = config.duration.map { ContinuousClock.now + $0 }
        var posted = Array(repeating: 0, count: pairs.count)
        var completed = Array(repeating: 0, count: pairs.count)
        var receivesPosted = Array(repeating: 0, count: pairs.count)
        var completions: [WorkCompletion] = []
        completions.reserveCapacity(64)
        // (instant, messages completed so far), for the peak over windows of at least 1/20 of the run.
        var progress: [(ContinuousClock.Instant, Int)] = []
        progress.reserveCapacity(4096)
        var stopPosting = false
        var coldStepTime = Duration.zero

        if operation == .send {
            for (index, pair) in pairs.enumerated() {
                let initial = min(iterations, depth)
                for _ in 0..<initial { try postReceive(pair.server, size: size) }
                receivesPosted[index] = initial
            }
        }
        // One request per QP, re-posted with a new id: no allocation per post.
        var templates = pairs.map { request(operation, pair: $0, size: size, id: 0, signaled: false) }
        let start = ContinuousClock.now
        progress.append((start, 0))
        var total = 0
        while true {
            for (index, pair) in pairs.enumerated() {
                while !stopPosting && posted[index] < iterations && posted[index] - completed[index] < depth {
                    let number = posted[index]
                    let signaled = (number + 1) % signalEvery == 0 || number + 1 == iterations || config.cold
                    if config.cold {
                        // The cold step is the test's scaffolding, not the device's work: its time
                        // is left out (nothing is in flight then: --cold runs at depth 1).
                        let coldStart = ContinuousClock.now
                        try makeCold(pair, size: size)
                        coldStepTime += ContinuousClock.now - coldStart
                    }
                    templates[index].id = UInt64(number)
                    templates[index].flags = signaled ? .signaled : []
                    try pair.client.queuePair.postSend(templates[index])
                    posted[index] += 1
                }
                let count = pair.client.completionQueue.poll(into: &completions, maxEntries: 64)
                for completion in completions.prefix(count) {
                    guard completion.status == .success else {
                        throw PerftestError("completion \(completion.wrID) failed: \(completion.status)")
                    }
                    if completion.opcode.isReceive {
                        if operation == .send && receivesPosted[index] < iterations {
                            try postReceive(pair.server, size: size)
                            receivesPosted[index] += 1
                        }
                        continue
                    }
                    completed[index] = max(completed[index], Int(completion.wrID) + 1)
                }
                if count > 0 { progress.append((ContinuousClock.now, completed.reduce(0, +))) }
                if operation == .send && pair.server.completionQueue !== pair.client.completionQueue {
                    let received = pair.server.completionQueue.poll(into: &completions, maxEntries: 64)
                    for completion in completions.prefix(received) {
                        guard completion.status == .success else { throw PerftestError("receive failed: \(completion.status)") }
                        if receivesPosted[index] < iterations {
                            try postReceive(pair.server, size: size)
                            receivesPosted[index] += 1
                        }
                    }
                }
            }
            if let deadline, !stopPosting, ContinuousClock.now >= deadline { stopPosting = true }
            let allDone = (0..<pairs.count).allSatisfy { completed[$0] >= (stopPosting ? posted[$0] : iterations) }
            if allDone { total = completed.reduce(0, +); break }
        }
        let seconds = Self.seconds(ContinuousClock.now - start - coldStepTime)
        let bytes = Double(total * size)
        let window = max(signalEvery, total / 20)
        var peak = 0.0
        var first = 0
        for last in progress.indices {
            while first < last && progress[last].1 - progress[first + 1].1 >= window { first += 1 }
            let messages = progress[last].1 - progress[first].1
            let elapsed = Self.seconds(progress[last].0 - progress[first].0)
            if messages >= window && elapsed > 0 { peak = max(peak, Double(messages * size) / elapsed) }
        }
        let mib = 1024.0 * 1024.0
        var bandwidth = PerftestReport.Bandwidth(
            peakMiBPerSecond: max(peak, bytes / seconds) / mib,
            averageMiBPerSecond: bytes / seconds / mib,
            messageRateMpps: Double(total) / seconds / 1e6)
        if operation != .atomic && size > 0 {
            bandwidth.memcpyMiBPerSecond = Self.memcpyBandwidth(from: pairs[0].client.buffer, to: pairs[0].server.buffer, size: size, iterations: max(1, total / pairs.count)) / mib
            if config.cold {
                bandwidth.populateMemcpyMiBPerSecond = try Self.populateMemcpyBandwidth(
                    from: pairs[0].client.buffer, to: pairs[0].server.buffer, size: size, iterations: max(1, total / pairs.count)) / mib
            }
        }
        return (bandwidth, total / pairs.count)
    }

    /// Outstanding requests per QP in a bandwidth run, and how often one is signaled.
    private static func bandwidthWindow(_ config: PerftestConfiguration) -> (depth: Int, signalEvery: Int) {
        let outstandingLimit = config.operation == .read || config.operation == .atomic ? 16 : config.transmitDepth
        let depth = config.cold ? 1 : max(1, min(outstandingLimit, config.transmitDepth))
        return (depth, max(1, min(100, depth / 2)))
    }

    /// How long ``warmUp(pairs:size:)`` runs, at least.
    static let warmUpDuration = Duration.milliseconds(2)

    /// An untimed warm-up before a bandwidth run, as the memcpy baseline gets one:
    /// the first messages of a process otherwise pay for waking the engine thread from its
    /// sleep, first-touch faults and cold code (the engine's first pass through its code maps
    /// text pages), which is not bandwidth. With `--cold` every timed iteration still faults:
    /// each one invalidates its target first.
    /// Posts like the timed loop for ``warmUpDuration`` and returns once every posted request
    /// completed (and, for SEND, every receive it posted was consumed), so nothing of it is left
    /// in the queues. Returns the requests posted per pair (an ATOMIC run's verified counter
    /// counts them too).
    private func warmUp(pairs: [(client: PerftestSide, server: PerftestSide)], size: Int) throws -> [Int] {
        let operation = configuration.operation
        guard configuration.mode == .bandwidth else { return pairs.map { _ in 0 } }
        var postedPerPair: [Int] = []
        let (depth, signalEvery) = Self.bandwidthWindow(configuration)
        let sharedQueue = { (pair: (client: PerftestSide, server: PerftestSide)) in pair.server.completionQueue === pair.client.completionQueue }
        var completions: [WorkCompletion] = []
        completions.reserveCapacity(64)
        let end = ContinuousClock.now + Self.warmUpDuration
        for pair in pairs {
            var template = request(operation, pair: pair, size: size, id: 0, signaled: false)
            var posted = 0
            var completed = 0
            var posting = true
            var received = 0
            while posting || completed < posted || (operation == .send && received < posted) {
                // Stop only after a signaled request, so the last completion covers everything.
                if posting && posted % signalEvery == 0 && posted > 0 && ContinuousClock.now >= end { posting = false }
                while posting && posted - completed < depth {
                    template.id = UInt64(posted)
                    template.flags = (posted + 1) % signalEvery == 0 ? .signaled : []
                    if operation == .send { try postReceive(pair.server, size: size) }
                    try pair.client.queuePair.postSend(template)
                    posted += 1
                    if posted % signalEvery == 0 { break }
                }
                let count = pair.client.completionQueue.poll(into: &completions, maxEntries: 64)
                for completion in completions.prefix(count) {
                    guard completion.status == .success else {
                        throw PerftestError("warm-up completion \(completion.wrID) failed: \(completion.status)")
                    }
                    if completion.opcode.isReceive { received += 1 } else { completed = max(completed, Int(completion.wrID) + 1) }
                }
                if operation == .send && !sharedQueue(pair) {
                    let count = pair.server.completionQueue.poll(into: &completions, maxEntries: 64)
                    for completion in completions.prefix(count) {
                        guard completion.status == .success else { throw PerftestError("warm-up receive failed: \(completion.status)") }
                        received += 1
                    }
                }
            }
            postedPerPair.append(posted)
        }
        return postedPerPair
    }

    private func request(
        _ operation: PerftestOperation, pair: (client: PerftestSide, server: PerftestSide), size: Int, id: UInt64, signaled: Bool,
        remoteOffset: Int = 0
    ) -> SendWorkRequest {
        let flags: SendWorkRequest.Flags = signaled ? .signaled : []
        let server = pair.server
        let remote = server.buffer.address + UInt64(remoteOffset)
        switch operation {
        case .write:
            return .rdmaWrite(id: id, scatterGatherList: [pair.client.sge(size)], remoteAddress: remote, rkey: server.region.rkey, flags: flags)
        case .read:
            return .rdmaRead(id: id, scatterGatherList: [pair.client.sge(size)], remoteAddress: remote, rkey: server.region.rkey, flags: flags)
        case .send:
            return .send(id: id, scatterGatherList: [pair.client.sge(size)], flags: flags)
        case .atomic:
            return .atomicFetchAndAdd(id: id, result: pair.client.sge(8), remoteAddress: remote, rkey: server.region.rkey, add: 1, flags: flags)
        }
    }

    private func postReceive(_ side: PerftestSide, size: Int) throws {
        try side.queuePair.postReceive(ReceiveWorkRequest(id: UInt64.max, scatterGatherList: [side.sge(max(size, 1))]))
    }

    // MARK: Latency

    /// Untimed, uncounted iterations before a latency run: the first ones of a process pay for
    /// cold code and first touches. (Each leaves a receive posted on both sides, as the timed
    /// ones expect; an ATOMIC latency run's counter is not verified.)
    static let latencyWarmUpIterations = 100

    /// Measures round trips; `warmedUp` runs once the untimed warm-up iterations are done.
    private func measureLatency(
        pair: (client: PerftestSide, server: PerftestSide), size: Int, warmedUp: () -> Void
    ) throws -> (PerftestReport.Latency, Int) {
        let config = configuration
        let warmUp = Self.latencyWarmUpIterations
        var histogram = Histogram<UInt64>(highestTrackableValue: 60_000_000_000, numberOfSignificantValueDigits: .three)
        var samples: [Double] = []
        let iterations = config.duration == nil ? config.iterations : Int.max
        let deadline = config.duration.map { ContinuousClock.now + $0 }
        var completions: [WorkCompletion] = []
        completions.reserveCapacity(16)
        let (client, server) = pair
        if config.operation == .send {
            try postReceive(server, size: size)
            try postReceive(client, size: size)
        }
        // Iterations are numbered on from the warm-up's (a WRITE's marker byte must change).
        var iteration = -warmUp
        while iteration < iterations {
            if iteration == 0 { warmedUp() }
            if let deadline, ContinuousClock.now >= deadline { break }
            if config.cold {
                if config.operation == .write && size > 0 {
                    // The half the peer writes leaves the device's table, so each WRITE takes one
                    // page fault at the responder; the bytes stay resident (this thread polls
                    // that half, so dropping it would add the kernel's copy-on-write break of the
                    // zero page it maps to every fault).
                    for side in [client, server] { try side.makeCold(at: size, count: size, drop: false) }
                } else {
                    try makeCold(pair, size: size)
                }
            }
            let start = ContinuousClock.now
            switch config.operation {
            case .write where size > 0:
                // perftest write_lat: each side writes its first half into the peer's second half
                // and polls the last byte of its own second half.
                let marker = UInt8(truncatingIfNeeded: (iteration + warmUp) % 255 + 1)
                client.buffer[size - 1] = marker
                try client.queuePair.postSend(request(.write, pair: (client, server), size: size, id: UInt64(truncatingIfNeeded: iteration), signaled: true, remoteOffset: size))
                while server.buffer.loadAcquiring(at: 2 * size - 1) != marker {}
                server.buffer[size - 1] = marker
                try server.queuePair.postSend(request(.write, pair: (server, client), size: size, id: UInt64(truncatingIfNeeded: iteration), signaled: true, remoteOffset: size))
                while client.buffer.loadAcquiring(at: 2 * size - 1) != marker {}
                if iteration >= 0 { record(Self.seconds(ContinuousClock.now - start) / 2, &histogram, &samples) }
                try drain(client.completionQueue, into: &completions, count: 1)
                try drain(server.completionQueue, into: &completions, count: 1)
            case .send:
                try client.queuePair.postSend(request(.send, pair: (client, server), size: size, id: UInt64(truncatingIfNeeded: iteration), signaled: true))
                try drain(server.completionQueue, into: &completions, count: 1)
                try postReceive(server, size: size)
                try server.queuePair.postSend(request(.send, pair: (server, client), size: size, id: UInt64(truncatingIfNeeded: iteration), signaled: true))
                try drain(client.completionQueue, into: &completions, count: 2)
                try drain(server.completionQueue, into: &completions, count: 1)
                try postReceive(client, size: size)
                if iteration >= 0 { record(Self.seconds(ContinuousClock.now - start) / 2, &histogram, &samples) }
            default:
                try client.queuePair.postSend(request(config.operation, pair: (client, server), size: size, id: UInt64(truncatingIfNeeded: iteration), signaled: true))
                try drain(client.completionQueue, into: &completions, count: 1)
                if iteration >= 0 { record(Self.seconds(ContinuousClock.now - start), &histogram, &samples) }
            }
            iteration += 1
        }
        let count = Double(max(samples.count, 1))
        let mean = samples.reduce(0, +) / count
        let variance = samples.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / count
        let micro = { (nanoseconds: UInt64) in Double(nanoseconds) / 1000 }
        let latency = PerftestReport.Latency(
            minimum: (samples.min() ?? 0) * 1e6, maximum: (samples.max() ?? 0) * 1e6,
            typical: micro(histogram.valueAtPercentile(50)), average: mean * 1e6,
            standardDeviation: variance.squareRoot() * 1e6,
            p99: micro(histogram.valueAtPercentile(99)), p999: micro(histogram.valueAtPercentile(99.9)))
        return (latency, samples.count)
    }

    private func record(_ seconds: Double, _ histogram: inout Histogram<UInt64>, _ samples: inout [Double]) {
        _ = histogram.record(UInt64(max(0, seconds * 1e9)))
        samples.append(seconds)
    }

    private func drain(_ cq: CompletionQueue, into buffer: inout [WorkCompletion], count: Int) throws {
        var seen = 0
        let deadline = ContinuousClock.now + .seconds(30)
        while seen < count {
            let polled = cq.poll(into: &buffer, maxEntries: count - seen)
            for completion in buffer.prefix(polled) where completion.status != .success {
                throw PerftestError("completion \(completion.wrID) failed: \(completion.status)")
            }
            seen += polled
            if polled == 0 && ContinuousClock.now > deadline { throw PerftestError("no completion within 30 s") }
        }
    }

    // MARK: Verification and helpers

    private func verify(
        pairs: [(client: PerftestSide, server: PerftestSide)], size: Int, iterations: Int, warmUpPosted: [Int]
    ) throws -> Bool {
        for (index, pair) in pairs.enumerated() {
            switch configuration.operation {
            case .write where configuration.mode == .latency:
                if pair.server.buffer.read(at: size, count: size) != pair.client.buffer.read(count: size) { return false }
                if pair.client.buffer.read(at: size, count: size) != pair.server.buffer.read(count: size) { return false }
            case .write, .send:
                if pair.server.buffer.read(count: size) != pair.client.buffer.read(count: size) { return false }
            case .read:
                if pair.client.buffer.read(count: size) != pair.server.buffer.read(count: size) { return false }
            case .atomic:
                let initial = Self.pattern(8, seed: UInt8(truncatingIfNeeded: index + 101))  // as run(size:) wrote it
                let value = pair.server.buffer.read(count: 8)
                let start = initial.enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
                let end = value.enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
                let added = iterations + warmUpPosted[index]
                if end &- start != UInt64(added) && configuration.mode == .bandwidth { return false }
            }
        }
        return true
    }

    /// The `--cold` step for bandwidth tests and non-WRITE latency tests: the buffer the device
    /// writes (the target of a WRITE or SEND, the local buffer of a READ or ATOMIC) is invalidated
    /// and dropped (`MADV_DONTNEED`), so every message faults fresh pages in at the side that
    /// writes them; the other buffer stays mapped.
    ///
    /// With pinned threads the step runs on the engine's CPU, as the populate + memcpy baseline
    /// drops and populates on one CPU: the kernel keeps freed pages on the freeing CPU's lists,
    /// cache-hot, and the device's fault resolution allocates on the engine's CPU. Dropped from
    /// the test thread's CPU, the populate would also pay for taking its pages from another
    /// CPU's (`memory-bench` measures that cost).
    private func makeCold(_ pair: (client: PerftestSide, server: PerftestSide), size: Int) throws {
        let clientIsTarget = configuration.operation == .read || configuration.operation == .atomic
        if let placement { try? Host.pinCurrentThread(toCPU: placement.engine) }
        defer { if let placement { try? Host.pinCurrentThread(toCPU: placement.test) } }
        try (clientIsTarget ? pair.client : pair.server).makeCold(drop: true)
    }

    /// What a cold message costs without the device, per byte: drop the target pages, populate
    /// them for writing (`MADV_POPULATE_WRITE`), copy into them.
    private static func populateMemcpyBandwidth(from source: AnonymousMemory, to target: AnonymousMemory, size: Int, iterations: Int) throws -> Double {
        let count = max(1, min(iterations, 1 << 30 / max(size, 1)))
        var elapsed = Duration.zero
        for _ in 0..<count {
            try target.dropPages(at: 0, count: size)
            let start = ContinuousClock.now
            try target.populate(forWriting: true, at: 0, count: size)
            target.copy(from: source, count: size)
            elapsed += ContinuousClock.now - start
        }
        return Double(count * size) / seconds(elapsed)
    }

    private static func memcpyBandwidth(from source: AnonymousMemory, to target: AnonymousMemory, size: Int, iterations: Int) -> Double {
        let count = max(1, min(iterations, 1 << 30 / max(size, 1)))
        target.copy(from: source, count: size)
        let start = ContinuousClock.now
        for _ in 0..<count { target.copy(from: source, count: size) }
        return Double(count * size) / seconds(ContinuousClock.now - start)
    }

    static func seconds(_ duration: Duration) -> Double { duration.inSeconds }

    static func pattern(_ count: Int, seed: UInt8) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ Int(seed) &* 17 &+ ($0 >> 9)) }
    }

    private static func counters(_ client: Device, _ server: Device, twoDevices: Bool) -> DeviceCounters {
        var total = client.counters
        if twoDevices {
            let other = server.counters
            total.pageFaults += other.pageFaults
            total.faultedPages += other.faultedPages
            total.invalidations += other.invalidations
            total.rnrNaksReceived += other.rnrNaksReceived
            total.retransmits += other.retransmits
            total.prefetchedPages += other.prefetchedPages
            total.dataPathKernelFaults += other.dataPathKernelFaults
            total.engineResolvedFaults += other.engineResolvedFaults
            total.faultLatencyP50Nanoseconds = max(total.faultLatencyP50Nanoseconds, other.faultLatencyP50Nanoseconds)
            total.faultLatencyP99Nanoseconds = max(total.faultLatencyP99Nanoseconds, other.faultLatencyP99Nanoseconds)
        }
        return total
    }
}
