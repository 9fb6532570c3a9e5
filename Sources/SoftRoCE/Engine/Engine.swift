import SoftRoCEMemory
import NIOConcurrencyHelpers
import Synchronization

#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// The device's engine thread: it runs the requester work of queue pairs (their send queues) and
/// their timers (retransmission, RNR back-off), as Linux rxe's tasks do.
///
/// Idle policy: after finishing work the thread polls for new doorbells for ``spinDuration``
/// (low latency for back-to-back posts), then sleeps until a doorbell or the next timer.
final class Engine: Sendable {
    private struct State {
        var ready: [QueuePair] = []
        var timed: [ObjectIdentifier: QueuePair] = [:]
        var running = true
    }
    private let state = LockedValue(State())
    /// Bumped after every change to `state`'s ready list or running flag: the thread takes the
    /// lock only when it moved, so an idle or busy loop does not contend with posters.
    private let doorbells = Atomic<Int>(0)
    /// Bumped whenever a QP arms a timer: the thread rescans the timers when it moved, otherwise
    /// only once the earliest deadline it knows of has passed.
    private let timerChanges = Atomic<Int>(0)
    private let sleeping = Atomic<Bool>(false)
    private let wakeup = ConditionLock(value: 0)
    private let stopped = ConditionLock(value: 0)
    /// How long the thread polls before sleeping.
    let spinDuration: Duration
    /// The engine thread's kernel thread id (0 until it started) and its page-fault count then.
    private let threadID = Atomic<Int32>(0)
    private let faultsAtStart = Atomic<UInt64>(0)
    /// Kernel page faults the engine thread took resolving queued faults (populating pages for
    /// the workqueue, not touching memory for the data path).
    private let resolutionFaults = Atomic<Int>(0)

    /// How long the thread polls before sleeping while the device's fault workqueue is busy:
    /// long enough for a fault of a few pages to come back without a wake-up, short enough not
    /// to take a shared core from a worker populating many pages.
    let faultSpinDuration: Duration
    /// The CPU the engine thread is pinned to, if any.
    let cpu: Int?
    /// The device's fault workqueue (its busy state shortens the idle poll).
    private let faults: FaultWorkqueue
    private let statistics: DeviceStatistics
    /// The batch the requesters this thread runs hand their runs to the link in.
    private let requesterBatch = PacketRunBatch()

    init(faults: FaultWorkqueue, statistics: DeviceStatistics, spinDuration: Duration = .microseconds(200), faultSpinDuration: Duration = .microseconds(20), cpu: Int? = nil) {
        self.faults = faults
        self.statistics = statistics
        self.spinDuration = spinDuration
        self.faultSpinDuration = faultSpinDuration
        self.cpu = cpu
        DeviceThread.start("device engine") { [self] in run() }
    }

    /// Asks the engine to run `qp`'s requester soon. Callable from any thread.
    func schedule(_ qp: QueuePair) {
        guard qp.markScheduled() else { return }
        state.withLockedValue { $0.ready.append(qp) }
        ring()
    }

    /// Tracks `qp` for timer expiry (retransmission or RNR back-off). Call it whenever one of the
    /// QP's deadlines is armed or moved earlier: the engine rescans its timers.
    func watchTimers(of qp: QueuePair) {
        if !qp.timerWatched.exchange(true, ordering: .acquiringAndReleasing) {
            state.withLockedValue { $0.timed[ObjectIdentifier(qp)] = qp }
        }
        timerChanges.wrappingAdd(1, ordering: .sequentiallyConsistent)
        wakeIfSleeping()
    }

    /// Stops the thread after its current pass and waits for it to exit.
    func stop() {
        state.withLockedValue { $0.running = false }
        ring()
        stopped.lock(whenValue: 1)
        stopped.unlock()
    }

    /// Kernel page faults (minor + major) the engine thread took since it started, less those it
    /// took resolving queued faults (``resolveQueuedFault()``: populating is the workqueue's work).
    /// The engine runs the data path (requester, and the responder and completer of in-process
    /// peers), so this stays 0 while it touches only pages the ODP tables say are mapped.
    var dataPathKernelFaults: Int {
        let tid = threadID.load(ordering: .acquiring)
        guard tid != 0, let faults = Host.pageFaults(ofThread: tid) else { return 0 }
        return Int(faults.minor + faults.major) - Int(faultsAtStart.load(ordering: .relaxed))
            - resolutionFaults.load(ordering: .relaxed)
    }

    /// Announces a change of `state` to the thread.
    private func ring() {
        doorbells.wrappingAdd(1, ordering: .sequentiallyConsistent)
        wakeIfSleeping()
    }

    private func wakeIfSleeping() {
        if sleeping.load(ordering: .sequentiallyConsistent) {
            wakeup.lock()
            wakeup.unlock(withValue: 1)
        }
    }

    private func run() {
        // A CPU the process may not use leaves the thread unpinned (the device still works).
        var pinnedCPU: PinnedCPU?
        if let cpu, (try? Host.pinCurrentThread(toCPU: cpu)) != nil { pinnedCPU = PinnedCPU.join(cpu) }
        defer { pinnedCPU?.leave() }
        Host.prefaultCurrentStack()
        let start = Host.threadPageFaults()
        faultsAtStart.store(start.minor + start.major, ordering: .relaxed)
        threadID.store(Host.currentThreadID(), ordering: .releasing)
        var lastWork = MonotonicInstant.now
        var ready: [QueuePair] = []
        ready.reserveCapacity(64)
        var timers = TimerScan()
        var timed: [QueuePair] = []
        var seenDoorbell = 0
        while true {
            var didWork = false
            let doorbell = doorbells.load(ordering: .acquiring)
            if doorbell != seenDoorbell {
                seenDoorbell = doorbell
                let running = state.withLockedValue { state -> Bool in
                    swap(&ready, &state.ready)
                    return state.running
                }
                if !running { break }
                didWork = !ready.isEmpty
                for qp in ready {
                    qp.clearScheduled()
                    if qp.runRequester(using: requesterBatch) { schedule(qp) }
                }
                ready.removeAll(keepingCapacity: true)
            }
            let now = MonotonicInstant.now
            if timers.isDue(now: now, changes: timerChanges.load(ordering: .acquiring)) {
                if serviceTimers(&timers, now: now, scratch: &timed) { didWork = true }
            }
            if !didWork && pinnedCPU != nil && faults.hasQueuedWork && resolveQueuedFault() {
                didWork = true
            }
            if didWork {
                lastWork = now
            } else if now - lastWork >= (faults.isBusy ? faultSpinDuration : spinDuration) {
                sleepUntilWork(or: timers.nextDeadline, seenDoorbell: seenDoorbell, seenTimerChange: timers.seenChange)
                lastWork = MonotonicInstant.now
            } else if pinnedCPU?.isShared ?? true || faults.isBusy {
                // Polling with nothing to do: let a runnable fault worker, application thread or
                // other engine have the core first (the fault worker is what we may wait for). An
                // engine alone on its CPU with no fault in flight keeps its core: the only other
                // threads there are idle fault workers, and a switch to one would delay the next
                // doorbell by a switch's time.
                sched_yield()
            }
        }
        stopped.lock()
        stopped.unlock(withValue: 1)
    }

    /// Resolves a queued page fault on the engine thread (the fault workers share its CPU when
    /// it is pinned: a hand-off would cost a thread switch there and one back). The kernel page
    /// faults of the resolution (populating pages) are not the data path's and are kept apart.
    private func resolveQueuedFault() -> Bool {
        guard let work = faults.takeSmallFault() else { return false }
        let before = Host.threadPageFaults()
        faults.perform(work)
        statistics.engineResolvedFaults.add(1, ordering: .relaxed)
        let after = Host.threadPageFaults()
        resolutionFaults.add(Int(after.minor + after.major) - Int(before.minor + before.major), ordering: .relaxed)
        return true
    }

    /// Expires the watched QPs' timers and records the earliest deadline still pending. Returns
    /// whether a timer fired. `scratch` is the engine's reused list of the watched QPs.
    private func serviceTimers(_ timers: inout TimerScan, now: MonotonicInstant, scratch timed: inout [QueuePair]) -> Bool {
        timers.seenChange = timerChanges.load(ordering: .acquiring)
        timers.nextDeadline = nil
        state.withLockedValue { timed.append(contentsOf: $0.timed.values) }
        defer { timed.removeAll(keepingCapacity: true) }
        var fired = false
        for qp in timed {
            switch qp.serviceTimers(now: now) {
            case .idle:
                state.withLockedValue { _ = $0.timed.removeValue(forKey: ObjectIdentifier(qp)) }
                qp.timerWatched.store(false, ordering: .releasing)
                // A timer armed between serviceTimers and the removal must not be lost.
                if case .idle = qp.serviceTimers(now: MonotonicInstant.now) {} else {
                    watchTimers(of: qp)
                    schedule(qp)
                }
            case .fired:
                // It may have re-armed a deadline: look again on the next pass.
                fired = true
                timers.seenChange = -1
                schedule(qp)
            case .pending(let deadline):
                timers.nextDeadline = .earliest(timers.nextDeadline ?? deadline, deadline)
            }
        }
        return fired
    }

    private func sleepUntilWork(or deadline: MonotonicInstant?, seenDoorbell: Int, seenTimerChange: Int) {
        sleeping.store(true, ordering: .sequentiallyConsistent)
        let pending = doorbells.load(ordering: .sequentiallyConsistent) != seenDoorbell
            || timerChanges.load(ordering: .sequentiallyConsistent) != seenTimerChange
        if !pending {
            var seconds = 0.01
            if let deadline {
                let remaining = deadline - MonotonicInstant.now
                seconds = max(0, min(seconds, remaining.inSeconds))
            }
            if wakeup.lock(whenValue: 1, timeoutSeconds: seconds) {
                wakeup.unlock(withValue: 0)
            }
        }
        sleeping.store(false, ordering: .sequentiallyConsistent)
    }
}

/// The engine thread's view of the timers: the earliest deadline found by the last scan and the
/// timer-change count it saw; a new scan is due when either is overtaken.
private struct TimerScan {
    var nextDeadline: MonotonicInstant?
    /// `Engine.timerChanges` at the last scan (-1: never scanned).
    var seenChange = -1

    func isDue(now: MonotonicInstant, changes: Int) -> Bool {
        if changes != seenChange { return true }
        if let nextDeadline { return now >= nextDeadline }
        return false
    }
}

/// What a QP's timers need from the engine.
enum TimerStatus {
    /// No timer armed.
    case idle
    /// A timer fired and the QP has work for the requester.
    case fired
    /// A timer is armed for this instant.
    case pending(MonotonicInstant)
}
