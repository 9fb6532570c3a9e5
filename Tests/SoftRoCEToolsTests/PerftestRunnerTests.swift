import SoftRoCETools
import Testing

@Suite("perftest runner", .timeLimit(.minutes(3)))
struct PerftestRunnerTests {
    @Test(
        "every bandwidth test moves verified bytes, pinned and ODP, on one and two devices",
        arguments: PerftestOperation.allCases, [OnDemandMode.none, .explicit])
    func bandwidth(operation: PerftestOperation, onDemand: OnDemandMode) throws {
        for twoDevices in [false, true] {
            let configuration = PerftestConfiguration(
                operation: operation, mode: .bandwidth, sizes: [operation == .atomic ? 8 : 12_345], iterations: 300,
                onDemand: onDemand, verify: true, transmitDepth: 32, twoDevices: twoDevices)
            let report = try PerftestRunner(configuration).run(size: configuration.sizes[0])
            #expect(report.verified == true)
            #expect(report.iterations == 300)
            let bandwidth = try #require(report.bandwidth)
            #expect(bandwidth.averageMiBPerSecond > 0)
            #expect(bandwidth.peakMiBPerSecond >= bandwidth.averageMiBPerSecond)
            #expect(bandwidth.messageRateMpps > 0)
            // Every bandwidth run starts with an untimed, uncounted warm-up whose first touches
            // fault the ODP pages in: the measured run is warm (`--cold` tests below fault).
            #expect(report.pageFaults == 0)
        }
    }

    @Test("several QPs: every bandwidth test verifies each pair's bytes (each has its own buffers)", arguments: PerftestOperation.allCases)
    func severalQueuePairs(operation: PerftestOperation) throws {
        let configuration = PerftestConfiguration(
            operation: operation, mode: .bandwidth, sizes: [operation == .atomic ? 8 : 4096], iterations: 200, queuePairs: 3,
            verify: true, transmitDepth: 16)
        let report = try PerftestRunner(configuration).run(size: configuration.sizes[0])
        #expect(report.verified == true)
        #expect(report.iterations == 200)
    }

    @Test("every latency test reports ordered percentiles", arguments: PerftestOperation.allCases)
    func latency(operation: PerftestOperation) throws {
        let configuration = PerftestConfiguration(operation: operation, mode: .latency, sizes: [operation == .atomic ? 8 : 64], iterations: 200, verify: true)
        let report = try PerftestRunner(configuration).run(size: configuration.sizes[0])
        let latency = try #require(report.latency)
        #expect(report.iterations == 200)
        #expect(report.verified == true)
        #expect(latency.minimum > 0)
        #expect(latency.minimum <= latency.typical + 0.01)
        #expect(latency.typical <= latency.p99 + 0.01)
        #expect(latency.p99 <= latency.p999 + 0.01)
        #expect(latency.maximum >= latency.p999 - 0.01 * latency.p999)
    }

    @Test("a latency run's untimed warm-up is not in its samples or statistics", arguments: [PerftestOperation.write, .send])
    func latencyWarmUp(operation: PerftestOperation) throws {
        let configuration = PerftestConfiguration(
            operation: operation, mode: .latency, sizes: [4096], iterations: 50, onDemand: .explicit, verify: true)
        let report = try PerftestRunner(configuration).run(size: 4096)
        #expect(report.iterations == 50, "the warm-up round trips are not samples")
        #expect(report.verified == true)
        #expect(report.pageFaults == 0, "the warm-up faulted the ODP pages in; the timed run is warm")
    }

    @Test("--cold makes every iteration fault the pages the device writes", arguments: [PerftestOperation.write, .read])
    func cold(operation: PerftestOperation) throws {
        let configuration = PerftestConfiguration(
            operation: operation, mode: .bandwidth, sizes: [65536], iterations: 20, onDemand: .explicit, cold: true, verify: true)
        let report = try PerftestRunner(configuration).run(size: 65536)
        #expect(report.verified == true)
        #expect(report.invalidations == 20, "one invalidation of the target per iteration")
        #expect(report.pageFaults >= 20)
        #expect(report.faultedPages >= 20 * 16, "every iteration faults its 16 target pages in again")
        // The engine thread's own start-up (heap growth on first use) may count a few; touching
        // unmapped target pages would count at least 16 per iteration.
        #expect(report.dataPathKernelFaults < 20)
        let bandwidth = try #require(report.bandwidth)
        #expect((bandwidth.populateMemcpyMiBPerSecond ?? 0) > 0, "the populate+memcpy baseline was measured")
    }

    @Test("--implicit-odp and --prefetch run and verify", arguments: [(OnDemandMode.implicit, false), (.explicit, true), (.implicit, true)])
    func implicitAndPrefetch(mode: OnDemandMode, prefetch: Bool) throws {
        let configuration = PerftestConfiguration(
            operation: .write, mode: .bandwidth, sizes: [16384], iterations: 50, onDemand: mode, prefetch: prefetch, verify: true)
        let report = try PerftestRunner(configuration).run(size: 16384)
        #expect(report.verified == true)
        #expect(report.json.contains("\"odp\":\"\(mode.rawValue)\""))
        if prefetch {
            #expect(report.prefetchedPages >= 2 * 8, "both 32 KiB buffers were prefetched")
            #expect(report.pageFaults == 0, "prefetched pages do not fault")
        } else {
            #expect(report.pageFaults == 0, "the untimed warm-up faulted the pages in")
        }
    }

    @Test("the JSON line carries the contract's fields")
    func json() throws {
        let configuration = PerftestConfiguration(operation: .write, mode: .bandwidth, sizes: [4096], iterations: 50, verify: true)
        let line = try PerftestRunner(configuration).run(size: 4096).json
        for key in [
            "\"test\":\"write_bw\"", "\"transport\":\"loopback\"", "\"odp\":\"none\"", "\"bytes\":4096", "\"iterations\":50",
            "\"verified\":true", "\"bw_peak_mib_s\":", "\"bw_avg_mib_s\":", "\"msg_rate_mpps\":", "\"page_faults\":",
            "\"faulted_pages\":", "\"invalidations\":", "\"prefetched_pages\":", "\"rnr_naks\":", "\"retransmits\":",
        ] {
            #expect(line.contains(key), "missing \(key) in \(line)")
        }
        #expect(line.hasPrefix("{") && line.hasSuffix("}") && !line.contains("\n"))
    }

    @Test("JSON numbers are plain decimals", arguments: [(0.0, "0.00"), (12.345, "12.35"), (-3.5, "-3.50"), (1e6, "1000000.00")])
    func numbers(value: Double, text: String) {
        #expect(JSONLine.format(value, decimals: 2) == text)
    }
}
