#if canImport(Glibc)
import Glibc
#endif
import SoftRoCE
import SoftRoCEMemory
import Testing

// Helpers shared by the fault-path suites in this folder (rdma-core tests/test_odp.py scenarios).

extension Endpoint {
    /// The endpoint region's ODP umem (nil when pinned).
    var umem: OnDemandUmem? { region.onDemandUmem }

    /// Makes `[offset, offset + count)` of the buffer cold, as the kernel would after reclaim:
    /// the ODP entries of `regions` (the endpoint's region by default) are invalidated around a
    /// `MADV_DONTNEED` of the pages, so the device faults again and the pages read back as zeros.
    /// `offset` and `count` are rounded out to whole host pages.
    func makeCold(_ offset: Int, _ count: Int, regions: [MemoryRegion]? = nil) throws {
        let hostPage = Host.pageSize
        let start = offset / hostPage * hostPage
        let end = (offset + count + hostPage - 1) / hostPage * hostPage
        let range = address(start)..<address(end)
        let odp = (regions ?? [region]).compactMap(\.onDemandUmem)
        try Self.invalidate(odp[...], range) { try buffer.dropPages(at: start, count: end - start) }
    }

    /// Invalidates `range` of every umem in `umems` (nested) around `change`.
    private static func invalidate(_ umems: ArraySlice<OnDemandUmem>, _ range: Range<UInt64>, _ change: () throws -> Void) throws {
        guard let first = umems.first else { return try change() }
        _ = try first.invalidate(range) { try invalidate(umems.dropFirst(), range, change) }
    }

    /// Posts `request` and waits for its completion; nil when none arrived in time.
    func run(_ request: SendWorkRequest, timeout: Duration = .seconds(10)) throws -> WorkCompletion? {
        try qp.postSend(request)
        return waitSend(1, timeout: timeout).first
    }
}

/// The ODP counters of `region` since it was registered (zeros for a pinned region).
func regionFaults(_ region: MemoryRegion) -> (faults: Int, pages: Int) {
    guard let stats = region.onDemandUmem?.statistics else { return (0, 0) }
    return (stats.faults, stats.faultedPages)
}

/// Wall-clock time `body` took.
func elapsed(_ body: () throws -> Void) rethrows -> Duration {
    let start = ContinuousClock.now
    try body()
    return ContinuousClock.now - start
}

/// Reads a device's counters before and after `body` and returns the difference of the ones
/// the fault suites look at.
struct CounterDelta: CustomStringConvertible {
    var pageFaults = 0
    var faultedPages = 0
    var failedFaults = 0
    var prefetchedPages = 0
    var rnrNaksSent = 0
    var rnrNaksReceived = 0
    var dataPathKernelFaults = 0
    var invalidations = 0
    var engineResolvedFaults = 0

    init(from before: DeviceCounters, to after: DeviceCounters) {
        pageFaults = after.pageFaults - before.pageFaults
        faultedPages = after.faultedPages - before.faultedPages
        failedFaults = after.failedFaults - before.failedFaults
        prefetchedPages = after.prefetchedPages - before.prefetchedPages
        rnrNaksSent = after.rnrNaksSent - before.rnrNaksSent
        rnrNaksReceived = after.rnrNaksReceived - before.rnrNaksReceived
        dataPathKernelFaults = after.dataPathKernelFaults - before.dataPathKernelFaults
        invalidations = after.invalidations - before.invalidations
        engineResolvedFaults = after.engineResolvedFaults - before.engineResolvedFaults
    }

    var description: String {
        "pageFaults \(pageFaults), faultedPages \(faultedPages), failedFaults \(failedFaults), prefetchedPages \(prefetchedPages), "
            + "rnrNaksSent \(rnrNaksSent), rnrNaksReceived \(rnrNaksReceived), dataPathKernelFaults \(dataPathKernelFaults), "
            + "engineResolvedFaults \(engineResolvedFaults)"
    }
}

extension Device {
    /// The change of this device's counters across `body`.
    func delta(_ body: () throws -> Void) rethrows -> CounterDelta {
        let before = counters
        try body()
        return CounterDelta(from: before, to: counters)
    }
}

/// Whether the process runs under AddressSanitizer or ThreadSanitizer. Both check shadow memory
/// on every access, and the kernel faults shadow pages in lazily: kernel-fault counts of the
/// device's threads say nothing about the data path then.
let underSanitizer = dlsym(nil, "__asan_init") != nil || dlsym(nil, "__tsan_init") != nil
