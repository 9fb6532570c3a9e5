/// What one size of a perftest-style run measured.
public struct PerftestReport: Sendable {
    /// The test (`write_bw`, …), transport and registration mode.
    public var test: String
    public var transport: String
    public var onDemand: OnDemandMode
    /// Message size in bytes and iterations run.
    public var bytes: Int
    public var iterations: Int
    /// Whether every destination byte was checked and right (`nil`: not checked).
    public var verified: Bool?
    /// Bandwidth figures (bandwidth tests).
    public var bandwidth: Bandwidth?
    /// Latency figures (latency tests).
    public var latency: Latency?
    /// Device counters over the run.
    public var pageFaults = 0
    public var faultedPages = 0
    public var invalidations = 0
    public var prefetchedPages = 0
    public var rnrNaks = 0
    public var retransmits = 0
    /// Fault latency percentiles over the run's devices (raise → resolved), in microseconds.
    public var faultLatencyP50 = 0.0
    public var faultLatencyP99 = 0.0
    /// Kernel page faults the devices' data-path threads took during the run (0 with ODP).
    public var dataPathKernelFaults = 0
    /// Of ``pageFaults``, those a pinned engine resolved itself while idle.
    public var engineResolvedFaults = 0

    /// Bandwidth test results.
    public struct Bandwidth: Sendable {
        /// Peak and average bandwidth in MiB/s, message rate in millions of messages per second.
        public var peakMiBPerSecond: Double
        public var averageMiBPerSecond: Double
        public var messageRateMpps: Double
        /// A single-thread memcpy of the same bytes between the same buffers, in the same run, MiB/s.
        public var memcpyMiBPerSecond: Double?
        /// With `--cold`: the raw work a cold message implies, in the same run, MiB/s — drop the
        /// target (`MADV_DONTNEED`), `MADV_POPULATE_WRITE` it, memcpy into it.
        public var populateMemcpyMiBPerSecond: Double?
    }

    /// Latency test results, in microseconds.
    public struct Latency: Sendable {
        public var minimum: Double
        public var maximum: Double
        public var typical: Double
        public var average: Double
        public var standardDeviation: Double
        public var p99: Double
        public var p999: Double
    }

    /// The `--json` line (DESIGN.md §6 fields).
    public var json: String {
        var line = JSONLine()
        line.add("test", test)
        line.add("transport", transport)
        line.add("odp", onDemand.rawValue)
        line.add("bytes", bytes)
        line.add("iterations", iterations)
        line.add("verified", verified)
        if let bandwidth {
            line.add("bw_peak_mib_s", bandwidth.peakMiBPerSecond)
            line.add("bw_avg_mib_s", bandwidth.averageMiBPerSecond)
            line.add("msg_rate_mpps", bandwidth.messageRateMpps, decimals: 6)
            if let memcpy = bandwidth.memcpyMiBPerSecond {
                line.add("memcpy_mib_s", memcpy)
                line.add("bw_vs_memcpy", bandwidth.averageMiBPerSecond / memcpy, decimals: 3)
            }
            if let raw = bandwidth.populateMemcpyMiBPerSecond {
                line.add("populate_memcpy_mib_s", raw)
                line.add("bw_vs_populate_memcpy", bandwidth.averageMiBPerSecond / raw, decimals: 3)
            }
        }
        if let latency {
            line.add("t_min_us", latency.minimum)
            line.add("t_max_us", latency.maximum)
            line.add("t_typical_us", latency.typical)
            line.add("t_avg_us", latency.average)
            line.add("t_stdev_us", latency.standardDeviation)
            line.add("p99_us", latency.p99)
            line.add("p999_us", latency.p999)
        }
        line.add("page_faults", pageFaults)
        line.add("faulted_pages", faultedPages)
        line.add("invalidations", invalidations)
        line.add("prefetched_pages", prefetchedPages)
        line.add("rnr_naks", rnrNaks)
        line.add("retransmits", retransmits)
        line.add("fault_p50_us", faultLatencyP50)
        line.add("fault_p99_us", faultLatencyP99)
        line.add("data_path_kernel_faults", dataPathKernelFaults)
        line.add("engine_resolved_faults", engineResolvedFaults)
        return line.description
    }

    /// perftest's table header for this kind of test.
    public static func tableHeader(latency: Bool) -> String {
        latency
            ? " #bytes #iterations    t_min[usec]    t_max[usec]  t_typical[usec]    t_avg[usec]    t_stdev[usec]   99% percentile[usec]   99.9% percentile[usec] "
            : " #bytes     #iterations    BW peak[MiB/sec]    BW average[MiB/sec]   MsgRate[Mpps]"
    }

    /// perftest's table row.
    public var tableRow: String {
        func pad(_ text: String, _ width: Int) -> String { String(repeating: " ", count: max(0, width - text.count)) + text }
        func f(_ value: Double, _ decimals: Int = 2) -> String { JSONLine.format(value, decimals: decimals) }
        if let latency {
            return pad(String(bytes), 7) + pad(String(iterations), 12) + pad(f(latency.minimum), 15) + pad(f(latency.maximum), 15)
                + pad(f(latency.typical), 17) + pad(f(latency.average), 15) + pad(f(latency.standardDeviation), 17)
                + pad(f(latency.p99), 23) + pad(f(latency.p999), 25)
        }
        let bandwidth = self.bandwidth ?? Bandwidth(peakMiBPerSecond: 0, averageMiBPerSecond: 0, messageRateMpps: 0)
        return pad(String(bytes), 7) + pad(String(iterations), 16) + pad(f(bandwidth.peakMiBPerSecond), 20)
            + pad(f(bandwidth.averageMiBPerSecond), 23) + pad(f(bandwidth.messageRateMpps, 6), 16)
    }
}
