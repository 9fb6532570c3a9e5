import NIOConcurrencyHelpers
import SoftRoCEMemory
import Synchronization

#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// The device's fault workqueue (the seed's `mlx5_ib_page_fault_wq`): threads the device owns
/// that resolve page faults the data path raised, and run asynchronous prefetches. Resolution
/// makes the blocking system calls (`madvise(MADV_POPULATE_*)`) the data path must never make.
/// A pinned engine with nothing else to run also takes small faults off the queue and resolves
/// them here, outside the data path (``takeSmallFault()``): its workers share its core.
///
/// A fault holds its region: ``MemoryRegion/deregister()`` waits until every fault and prefetch
/// queued for the region has finished (the seed's SRCU read sections around fault handling).
final class FaultWorkqueue: Sendable {
    enum Work: Sendable {
        /// A data-path fault of `qp`, reported back to it once resolved or failed.
        case pageFault(QueuePair, PageFaultRequest)
        /// An asynchronous `advise_mr` prefetch.
        case prefetch(MemoryRegion, Range<UInt64>, PrefetchAdvice)

        var region: MemoryRegion {
            switch self {
            case .pageFault(_, let request): request.region
            case .prefetch(let region, _, _): region
            }
        }
    }

    private struct Queue {
        var items: [Work] = []
        var head = 0
        var running = true

        /// The oldest queued work, if `accept` takes it.
        mutating func pop(if accept: (Work) -> Bool = { _ in true }) -> Work? {
            guard head < items.count, accept(items[head]) else { return nil }
            let work = items[head]
            head += 1
            if head == items.count {
                items.removeAll(keepingCapacity: true)
                head = 0
            }
            return work
        }
    }
    private let queue = LockedValue(Queue())
    private let queued = Atomic<Int>(0)
    /// Work submitted and not yet finished (queued or running).
    private let inFlight = Atomic<Int>(0)
    private let wakeup = ConditionLock(value: 0)
    private let exited = PendingCount()
    private let threadCount: Int
    private let statistics: DeviceStatistics
    /// Fault injection: extra time each fault resolution takes, in nanoseconds (0 = none).
    let injectedDelayNanoseconds = Atomic<Int64>(0)
    /// How long an idle worker polls for new work (yielding the core while it does) before
    /// sleeping: faults often come in bursts, and a wake-up from sleep costs more than the
    /// resolution of a resident page.
    private static let spinDuration = Duration.microseconds(200)

    /// Starts `threads` workers; with `cpu`, they are pinned to it (the engine's CPU: the engine
    /// yields its core while it waits for a fault, so a worker there runs at once instead of
    /// waiting for a time slice on a CPU the application busy-polls).
    init(threads: Int, statistics: DeviceStatistics, cpu: Int? = nil) {
        self.threadCount = max(1, threads)
        self.statistics = statistics
        for _ in 0..<threadCount {
            exited.add()
            DeviceThread.start("fault workqueue") { [self] in
                if let cpu { try? Host.pinCurrentThread(toCPU: cpu) }
                run()
            }
        }
    }

    /// Queues `work`; its region's pending count is raised until it finishes. Callable from any
    /// thread, with QP locks held (it only takes the queue's own lock).
    func submit(_ work: Work) {
        work.region.faultsPending.add()
        queue.withLockedValue { $0.items.append(work) }
        inFlight.add(1, ordering: .relaxed)
        queued.add(1, ordering: .releasing)
        wakeup.lock()
        wakeup.unlock(withValue: 1)
    }

    /// Stops the workers after the queued work and waits for them to exit.
    func stop() {
        queue.withLockedValue { $0.running = false }
        wakeup.lock()
        wakeup.unlock(withValue: 1)
        exited.waitUntilZero()
    }

    private func next() -> Work?? {
        queue.withLockedValue { queue -> Work?? in
            if let work = queue.pop() { return .some(work) }
            return queue.running ? .some(nil) : nil
        }
    }

    /// Whether a page fault or prefetch waits for a worker.
    var hasQueuedWork: Bool { queued.load(ordering: .acquiring) > 0 }

    /// The largest fault ``takeSmallFault()`` hands out, in bytes: a populate of a few resident
    /// or zero-fill pages is a microsecond or two; larger faults stay with the workers.
    static let smallFaultLimit: UInt64 = 64 << 10

    /// Takes the oldest queued work if it is a small page fault (at most ``smallFaultLimit``
    /// bytes; prefetches, larger faults and faults slowed on purpose are left to the workers), for
    /// the caller to ``perform(_:)`` on its own thread. The engine does when it has nothing else to
    /// run and shares its core with the workers: the resolution then costs no hand-off to a
    /// worker and back, two thread switches on that core.
    func takeSmallFault() -> Work? {
        guard injectedDelayNanoseconds.load(ordering: .relaxed) == 0 else { return nil }
        let work = queue.withLockedValue { queue in
            queue.pop {
                guard case .pageFault(_, let request) = $0 else { return false }
                return request.range.count <= Self.smallFaultLimit
            }
        }
        if work != nil { queued.subtract(1, ordering: .relaxed) }
        return work
    }

    private func run() {
        outer: while true {
            switch next() {
            case .none:
                break outer
            case .some(.some(let work)):
                queued.subtract(1, ordering: .relaxed)
                perform(work)
            case .some(.none):
                waitForWork()
            }
        }
        exited.remove()
        // Another worker may still wait: pass the wake-up on.
        wakeup.lock()
        wakeup.unlock(withValue: 1)
    }

    /// Polls briefly (a fault raised right after another is picked up without a wake-up), then
    /// sleeps until ``submit(_:)`` or ``stop()`` signals.
    private func waitForWork() {
        let start = MonotonicInstant.now
        while queued.load(ordering: .acquiring) == 0 {
            if MonotonicInstant.now - start >= Self.spinDuration {
                if wakeup.lock(whenValue: 1, timeoutSeconds: 0.05) { wakeup.unlock(withValue: 0) }
                return
            }
            sched_yield()
        }
    }

    /// Whether work is queued or running: the engine then polls only briefly before it sleeps,
    /// leaving the core to the worker (both may share one) for a resolution that takes long.
    var isBusy: Bool { inFlight.load(ordering: .relaxed) > 0 }

    /// Resolves `work`: taken by a worker from the queue, or by the engine (``takeSmallFault()``).
    func perform(_ work: Work) {
        defer {
            work.region.faultsPending.remove()
            inFlight.subtract(1, ordering: .relaxed)
        }
        switch work {
        case .pageFault(let qp, let request):
            guard qp.faultHandler.isEnabled else {
                qp.faultHandler.release(request.context)
                return
            }
            let delay = injectedDelayNanoseconds.load(ordering: .relaxed)
            if delay > 0 {
                var time = timespec(tv_sec: Int(delay / 1_000_000_000), tv_nsec: Int(delay % 1_000_000_000))
                var remaining = timespec()
                while nanosleep(&time, &remaining) != 0 && errno == EINTR { time = remaining }
            }
            let result = resolve(request.region, request.range, access: request.access)
            statistics.recordFault(result, latency: MonotonicInstant.now - request.raised)
            qp.faultHandler.release(request.context)
            qp.pageFaultFinished(request, error: result.error)
        case .prefetch(let region, let range, let advice):
            if let umem = region.onDemandUmem, let pages = try? umem.prefetch(range, advice: advice) {
                statistics.prefetchedPages.add(pages, ordering: .relaxed)
            }
        }
    }

    /// Maps `range` of `region` with `access`: the pages newly mapped, or the resolution error.
    private func resolve(_ region: MemoryRegion, _ range: Range<UInt64>, access: PageAccess) -> FaultResult {
        guard let umem = region.onDemandUmem else { return FaultResult(pages: 0, error: nil) }
        do {
            return FaultResult(pages: try umem.map(range, access: access), error: nil)
        } catch {
            return FaultResult(pages: 0, error: error)
        }
    }
}

/// What resolving one fault did.
struct FaultResult {
    /// Pages newly mapped.
    var pages: Int
    /// Why the fault could not be resolved, if it could not.
    var error: MemoryError?
}

/// A count of outstanding work that a thread can wait to reach zero.
final class PendingCount: Sendable {
    private let count = ConditionLock(value: 0)
    /// The count, read while `count` is locked (its own getter takes the lock).
    private let current = Atomic<Int>(0)

    func add() { change(by: 1) }

    func remove() { change(by: -1) }

    private func change(by delta: Int) {
        count.lock()
        let value = current.load(ordering: .relaxed) + delta
        current.store(value, ordering: .relaxed)
        count.unlock(withValue: value)
    }

    /// Waits until the count is zero.
    func waitUntilZero() {
        count.lock(whenValue: 0)
        count.unlock()
    }
}
