import NIOConcurrencyHelpers
import Synchronization
import SystemPackage

#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// A page the device found not mapped (or mapped without the access it needs): the user-space
/// twin of an ODP page-fault event. Resolve it with ``OnDemandUmem/map(_:access:)``.
public struct PageFault: Hashable, Sendable {
    /// The virtual address of the first page lacking access.
    public var address: UInt64
    /// The access the device needs.
    public var access: PageAccess
    /// The byte range the device was accessing.
    public var range: Range<UInt64>
}

/// The result of a non-faulting access attempt.
public enum UmemAccess<Result> {
    /// Every page was mapped; the closure ran and returned this.
    case completed(Result)
    /// A page lacked access; the closure did not run.
    case pageFault(PageFault)
}

/// An on-demand-paging umem: registered memory that is never pinned. The user-space twin of the
/// kernel's `struct ib_umem_odp`.
///
/// The device checks the per-page table before every access (``access(_:access:_:)``); a page
/// without the needed bit is a page fault, resolved by ``map(_:access:)`` against the process's
/// real memory with `madvise(MADV_POPULATE_READ / MADV_POPULATE_WRITE)`, one call per run of
/// pages. ``invalidate(_:)`` clears entries (the application unmapped or dropped the memory) and
/// returns only after accesses already using those pages have finished.
///
/// The notifier-sequence rule of the kernel (`mmu_interval_read_begin` / `read_retry`): `map`
/// samples the sequence before populating and publishes entries under the region's mutex only
/// if no invalidation bumped it meanwhile; otherwise it starts again.
public final class OnDemandUmem: Umem, @unchecked Sendable {
    // @unchecked: the page table is raw memory; it is mutated only under `mutex`, read through
    // atomics, and its nodes are freed only after `gate.synchronize()`.

    public let range: Range<UInt64>
    public let isWritable: Bool
    public var isOnDemand: Bool { true }
    /// The page size the region is tracked in.
    public let pageSize: PageSize
    /// The page-aligned start of the tracked range.
    public let pageAlignedStart: UInt64

    let table: PageTable
    private let gate = AccessGate()
    private let mutex = NIOLock()
    private let sequence = Atomic<UInt64>(0)
    private let activeInvalidations = Atomic<Int>(0)
    private let counters = Counters()
    private let isReleasedFlag = Atomic<Bool>(false)

    /// Registers `[address, address + length)` for on-demand access. Costs no table memory and
    /// no system call: pages are looked at only when the device faults on them.
    ///
    /// - Parameters:
    ///   - address: first byte of the region (any alignment; tracking is per page).
    ///   - length: bytes, > 0.
    ///   - writable: whether the device may write (an MR with a write access flag).
    ///   - pageSize: `.base` (4 KiB) or `.huge2MiB` for a huge-page backed mapping.
    /// - Throws: ``MemoryError`` `.misaligned` when `length` is 0, the range wraps, or a huge-page
    ///   region's range is not 2 MiB aligned. Corresponds to the kernel's `ib_umem_odp_get`.
    public init(address: UInt64, length: UInt64, writable: Bool, pageSize: PageSize = .base) throws(MemoryError) {
        let end = address.addingReportingOverflow(length)
        guard length > 0, !end.overflow, end.partialValue <= (1 << 57) else {
            throw MemoryError(.misaligned, address: address)
        }
        let mask = pageSize.bytes - 1
        if pageSize != .base, address & mask != 0 || end.partialValue & mask != 0 {
            throw MemoryError(.misaligned, address: address)
        }
        self.range = address..<end.partialValue
        self.isWritable = writable
        self.pageSize = pageSize
        self.pageAlignedStart = address & ~mask
        let pages = (end.partialValue + mask - pageAlignedStart) >> UInt64(pageSize.shift)
        self.table = PageTable(pageCount: Int(pages))
    }

    // MARK: Device access

    /// Runs `body` on `range` and returns nil if every page in it already has `access`; returns
    /// the fault of the first page that lacks it otherwise. Never makes a system call and never
    /// blocks: this is the check the device performs before every access.
    ///
    /// While `body` runs, an ``invalidate(_:)`` of these pages waits for it to return.
    /// - Throws: ``MemoryError`` `.outsideRegion`, `.accessNotRegistered`, `.released`.
    public func accessIfMapped(
        _ range: Range<UInt64>, access: PageAccess, _ body: (MappedBytes) -> Void
    ) throws(MemoryError) -> PageFault? {
        try validate(range, access)
        return try gate.section(unlessReleased: isReleasedFlag, address: range.lowerBound) { () throws(MemoryError) -> PageFault? in
            if !range.isEmpty, let missing = table.firstPageLacking(pages(of: range), bits: access.entryBits) {
                return PageFault(address: address(ofPage: missing), access: access, range: range)
            }
            body(MappedBytes(base: pointer(range.lowerBound), count: range.count))
            return nil
        }
    }

    public func withBytes<R>(
        _ range: Range<UInt64>, access: PageAccess, _ body: (MappedBytes) throws -> R
    ) throws -> R {
        while true {
            switch try self.access(range, access: access, body) {
            case .completed(let result):
                return result
            case .pageFault(let fault):
                try map(fault.address..<range.upperBound, access: access)
            }
        }
    }

    // MARK: Map (page-fault resolution)

    /// Resolves every page of `range` lacking `access` against the process's memory and publishes
    /// the entries: `MADV_POPULATE_WRITE` (or `_READ`) over each run of missing pages, then, under
    /// the mutex, a check that no invalidation ran meanwhile (else everything is retried). A page
    /// mapped for read and now needed for write is upgraded.
    ///
    /// On an error, the pages before the faulting one are still mapped and published.
    /// - Returns: the number of pages newly given access.
    /// - Throws: ``MemoryError`` with the faulting page's address: `.notMapped` (`ENOMEM`),
    ///   `.readOnlyMapping` (write needed, mapping is `PROT_READ`), `.inaccessibleMapping`
    ///   (`PROT_NONE`, I/O mappings), `.resolutionFailed` (`EFAULT`, `EHWPOISON`: `SIGBUS` class),
    ///   `.outsideRegion`, `.accessNotRegistered`. Corresponds to `ib_umem_odp_map_dma_and_lock`.
    @discardableResult
    public func map(_ range: Range<UInt64>, access: PageAccess) throws(MemoryError) -> Int {
        try validate(range, access)
        if isReleasedFlag.load(ordering: .acquiring) { throw MemoryError(.released, address: range.lowerBound) }
        guard !range.isEmpty else { return 0 }
        let pages = pages(of: range)
        let bits = access.entryBits
        let started = MonotonicInstant.now
        while true {
            let seq = readBegin()
            let runs = table.runsLacking(pages, bits: bits)
            if runs.isEmpty { return 0 }
            var resolved: [Range<Int>] = []
            var failure: MemoryError? = nil
            for run in runs {
                let (upTo, error) = populate(run, access: access)
                if upTo > run.lowerBound { resolved.append(run.lowerBound..<upTo) }
                if let error { failure = error; break }
            }
            #if DEBUG
            testHooks.beforePublish?()
            #endif
            let published: Int? = mutex.withLock {
                if isReleasedFlag.load(ordering: .relaxed) { return 0 }
                // mmu_interval_read_retry: any invalidation since readBegin bumped the sequence.
                guard sequence.load(ordering: .relaxed) == seq else { return nil }
                var count = 0
                for run in resolved { table.setBits(run, bits); count += run.count }
                return count
            }
            guard let published else {
                counters.mapRetries.add(1, ordering: .relaxed)
                continue
            }
            if published > 0 {
                counters.faults.add(1, ordering: .relaxed)
                counters.faultedPages.add(published, ordering: .relaxed)
                counters.faultNanoseconds.add(Int((MonotonicInstant.now - started).wholeNanoseconds), ordering: .relaxed)
            }
            if let failure { throw failure }
            return published
        }
    }

    /// Populates `run` (page indices); on failure bisects to the first failing page, so every page
    /// before it is populated. Returns the end of the populated prefix and the error, if any.
    private func populate(_ run: Range<Int>, access: PageAccess) -> (Int, MemoryError?) {
        let advice = access.contains(.write) ? HostMemory.populateWrite : HostMemory.populateRead
        let start = address(ofPage: run.lowerBound)
        switch HostMemory.advise(start, length: run.count << pageSize.shift, advice: advice) {
        case .success:
            return (run.upperBound, nil)
        case .failure(let errno):
            if run.count == 1 { return (run.lowerBound, classify(errno, page: start, access: access)) }
            let middle = run.lowerBound + run.count / 2
            let (upTo, error) = populate(run.lowerBound..<middle, access: access)
            if error != nil { return (upTo, error) }
            return populate(middle..<run.upperBound, access: access)
        }
    }

    private func classify(_ errno: Errno, page: UInt64, access: PageAccess) -> MemoryError {
        switch errno {
        case .noMemory:
            return MemoryError(.notMapped, address: page, errno: errno)
        case .invalidArgument:
            if access.contains(.write),
                case .success = HostMemory.advise(page, length: Int(pageSize.bytes), advice: HostMemory.populateRead)
            {
                return MemoryError(.readOnlyMapping, address: page, errno: errno)
            }
            return MemoryError(.inaccessibleMapping, address: page, errno: errno)
        case .permissionDenied, .notPermitted:
            return MemoryError(.readOnlyMapping, address: page, errno: errno)
        default:
            return MemoryError(.resolutionFailed, address: page, errno: errno)
        }
    }

    // MARK: Invalidation

    /// Invalidates `range`: bumps the notifier sequence, clears the entries so the device faults
    /// again, and returns only after every device access already using those pages has finished
    /// (the `invalidate_range_start` contract). Pages outside the region are ignored.
    /// - Returns: the number of entries that were present.
    @discardableResult
    public func invalidate(_ range: Range<UInt64>) -> Int {
        invalidate(range) {}.cleared
    }

    /// Invalidates `range` around a change of the underlying memory (`munmap`, `MADV_DONTNEED`,
    /// `mremap`, `mprotect`): clears the entries and waits for accesses using them (the kernel's
    /// `invalidate_range_start`), runs `change`, then ends the invalidation
    /// (`invalidate_range_end`). While it is in progress no fault resolution publishes an entry
    /// for this region: a `map` that raced it starts again once it ended.
    /// - Returns: the number of entries that were present, and what `change` returned.
    public func invalidate<R>(
        _ range: Range<UInt64>, around change: () throws -> R
    ) rethrows -> (cleared: Int, result: R) {
        let lower = max(range.lowerBound, self.range.lowerBound)
        let upper = min(range.upperBound, self.range.upperBound)
        let cleared = mutex.withLock {
            activeInvalidations.wrappingAdd(1, ordering: .relaxed)
            sequence.wrappingAdd(1, ordering: .releasing)
            return lower < upper ? table.clear(pages(of: lower..<upper)) : 0
        }
        gate.synchronize()
        defer {
            mutex.withLock {
                sequence.wrappingAdd(1, ordering: .releasing)
                activeInvalidations.wrappingSubtract(1, ordering: .releasing)
            }
            counters.invalidations.add(1, ordering: .relaxed)
            counters.invalidatedPages.add(cleared, ordering: .relaxed)
        }
        return (cleared, try change())
    }

    /// Waits while an invalidation is in progress and returns the notifier sequence to check at
    /// publish time: the kernel's `mmu_interval_read_begin`.
    private func readBegin() -> UInt64 {
        var spins = 0
        while true {
            let seq = sequence.load(ordering: .acquiring)
            if activeInvalidations.load(ordering: .acquiring) == 0 { return seq }
            spins += 1
            if spins > 64 { sched_yield() }
        }
    }

    /// Releases the region (deregistration): no access or fault resolution succeeds afterwards
    /// (`.released`), every entry is cleared, and the call returns only after accesses already
    /// running have finished. Later calls do nothing. Corresponds to `ib_umem_odp_release`.
    public func release() {
        let first = mutex.withLock { !isReleasedFlag.exchange(true, ordering: .acquiringAndReleasing) }
        guard first else { return }
        invalidate(range)
    }

    /// Whether ``release()`` has run.
    public var isReleased: Bool { isReleasedFlag.load(ordering: .acquiring) }

    /// Frees the table leaves of `range` that hold no present entry (idle child tables), after
    /// waiting for accesses that may still walk them. Returns the bytes released.
    @discardableResult
    public func releaseIdleTables(_ range: Range<UInt64>? = nil) -> Int {
        let pages = pages(of: range ?? self.range)
        let before = table.allocatedBytes
        let detached = mutex.withLock { table.detachEmptyLeaves(pages) }
        guard !detached.isEmpty else { return 0 }
        gate.synchronize()
        table.freeDetached(detached)
        return before - table.allocatedBytes
    }

    // MARK: Inspection

    /// The notifier sequence: bumped by every invalidation.
    public var notifierSequence: UInt64 { sequence.load(ordering: .acquiring) }

    /// The access the device currently has to the page containing `address`.
    public func pageAccess(at address: UInt64) -> PageAccess {
        guard range.contains(address) else { return [] }
        return table.entry(ofPage: Int((address - pageAlignedStart) >> UInt64(pageSize.shift)))
    }

    /// The number of pages with an entry present.
    public var mappedPageCount: Int { table.presentPageCount() }

    /// Bytes of memory the page table holds (zero until a page is mapped).
    public var tableBytes: Int { table.allocatedBytes }

    /// Counters of this region since registration.
    public var statistics: OnDemandStatistics {
        OnDemandStatistics(
            faults: counters.faults.load(ordering: .relaxed),
            faultedPages: counters.faultedPages.load(ordering: .relaxed),
            faultNanoseconds: counters.faultNanoseconds.load(ordering: .relaxed),
            mapRetries: counters.mapRetries.load(ordering: .relaxed),
            invalidations: counters.invalidations.load(ordering: .relaxed),
            invalidatedPages: counters.invalidatedPages.load(ordering: .relaxed))
    }

    // MARK: Helpers

    @inline(__always)
    private func pages(of range: Range<UInt64>) -> Range<Int> {
        let shift = UInt64(pageSize.shift)
        let first = (range.lowerBound - pageAlignedStart) >> shift
        let last = (range.upperBound - 1 - pageAlignedStart) >> shift
        return Int(first)..<Int(last + 1)
    }

    @inline(__always)
    private func address(ofPage page: Int) -> UInt64 { pageAlignedStart + (UInt64(page) << UInt64(pageSize.shift)) }

    @inline(__always)
    private func pointer(_ address: UInt64) -> UnsafeMutableRawPointer? { UnsafeMutableRawPointer(bitPattern: UInt(address)) }

    #if DEBUG
    /// Test-only hooks (debug builds): let a test run code at a chosen point of `map`.
    package let testHooks = TestHooks()

    package final class TestHooks: @unchecked Sendable {
        // @unchecked: set by a test before the region is used concurrently.
        /// Runs after pages were populated and before they are published.
        package var beforePublish: (@Sendable () -> Void)?
    }
    #endif

    private final class Counters: Sendable {
        let faults = Atomic<Int>(0)
        let faultedPages = Atomic<Int>(0)
        let faultNanoseconds = Atomic<Int>(0)
        let mapRetries = Atomic<Int>(0)
        let invalidations = Atomic<Int>(0)
        let invalidatedPages = Atomic<Int>(0)
    }
}

/// Counters of an ODP region.
public struct OnDemandStatistics: Hashable, Sendable {
    /// `map` calls that resolved at least one page.
    public var faults: Int
    /// Pages resolved by those calls.
    public var faultedPages: Int
    /// Total time spent in those calls, in nanoseconds.
    public var faultNanoseconds: Int
    /// Times a `map` was retried because an invalidation raced it.
    public var mapRetries: Int
    /// Invalidations of any part of the region.
    public var invalidations: Int
    /// Entries cleared by those invalidations.
    public var invalidatedPages: Int
}
