import Histogram
import NIOConcurrencyHelpers
import SoftRoCEMemory
import Synchronization

/// Counters of a device (atomic; read with ``Device/counters``).
final class DeviceStatistics: Sendable {
    let rnrNaksSent = Atomic<Int>(0)
    let rnrNaksReceived = Atomic<Int>(0)
    let retransmits = Atomic<Int>(0)
    let duplicatePackets = Atomic<Int>(0)
    let droppedPackets = Atomic<Int>(0)
    let completionQueueOverflows = Atomic<Int>(0)
    /// Faults the workqueue resolved, the pages they mapped, and those that failed.
    let pageFaults = Atomic<Int>(0)
    let faultedPages = Atomic<Int>(0)
    let failedFaults = Atomic<Int>(0)
    /// Pages mapped by prefetch (`advise_mr`).
    let prefetchedPages = Atomic<Int>(0)
    /// Faults the engine thread resolved itself (small ones, while idle, its core shared with
    /// the workers).
    let engineResolvedFaults = Atomic<Int>(0)
    /// Fault latency, raise → resolution finished, in nanoseconds.
    let faultLatency = LockedValue(Histogram<UInt64>(highestTrackableValue: 60_000_000_000, numberOfSignificantValueDigits: .two))

    /// The fault latency's p50 and p99 in nanoseconds (0 before the first fault).
    func faultLatencyPercentiles() -> (p50: Int, p99: Int) {
        faultLatency.withLockedValue { histogram in
            histogram.totalCount == 0 ? (0, 0) : (Int(histogram.valueAtPercentile(50)), Int(histogram.valueAtPercentile(99)))
        }
    }

    /// Counts one finished fault resolution.
    func recordFault(_ result: FaultResult, latency: Duration) {
        if result.error == nil {
            pageFaults.add(1, ordering: .relaxed)
            faultedPages.add(result.pages, ordering: .relaxed)
        } else {
            failedFaults.add(1, ordering: .relaxed)
        }
        faultLatency.withLockedValue { _ = $0.record(UInt64(max(0, latency.wholeNanoseconds))) }
    }
}

/// A snapshot of a device's counters.
public struct DeviceCounters: Hashable, Sendable {
    /// RNR NAKs this device's responders sent / its requesters received.
    public var rnrNaksSent: Int
    public var rnrNaksReceived: Int
    /// Retransmissions (timeouts, PSN sequence NAKs, lost READ responses).
    public var retransmits: Int
    /// Duplicate requests answered again.
    public var duplicatePackets: Int
    /// Packets dropped (wrong state, wrong Q_Key, no UD receive, unknown QP).
    public var droppedPackets: Int
    /// Completions that found their CQ full.
    public var completionQueueOverflows: Int
    /// Page faults the fault workqueue resolved, and the pages they mapped.
    public var pageFaults: Int
    public var faultedPages: Int
    /// Page faults that could not be resolved (they ended in an error completion).
    public var failedFaults: Int = 0
    /// Pages mapped by prefetch (`advise_mr`).
    public var prefetchedPages: Int = 0
    /// Of the resolved page faults, those the engine thread resolved itself: small faults it took
    /// from the workqueue while it had nothing else to run, its core shared with the workers.
    public var engineResolvedFaults: Int = 0
    /// Fault latency percentiles (raise → resolved), in nanoseconds; 0 before the first fault.
    public var faultLatencyP50Nanoseconds: Int = 0
    public var faultLatencyP99Nanoseconds: Int = 0
    /// Invalidations over the device's live ODP regions, and the entries they cleared.
    public var invalidations: Int
    public var invalidatedPages: Int
    /// Kernel page faults (minor + major) the device's data-path thread took since it started:
    /// 0 when the data path touches only pages the ODP tables say are mapped. (The faults the
    /// engine thread takes populating pages for ``engineResolvedFaults`` are not counted: they
    /// are the workqueue's work, done on the engine's thread.)
    public var dataPathKernelFaults: Int = 0
}
