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
    private let doorbells = Atomic<Int>(0)
    private let sleeping = Atomic<Bool>(false)
    private let wakeup = ConditionLock(value: 0)
    private let stopped = ConditionLock(value: 0)
    /// How long the thread polls before sleeping.
    let spinDuration: Duration
    /// The engine thread's kernel thread id (0 until it started) and its page-fault count then.
    private let threadID = Atomic<Int32>(0)
    private let faultsAtStart = Atomic<UInt64>(0)

    init(spinDuration: Duration = .microseconds(200)) {
        self.spinDuration = spinDuration
        DeviceThread.start("device engine") { [self] in run() }
    }

    /// Asks the engine to run `qp`'s requester soon. Callable from any thread.
    func schedule(_ qp: QueuePair) {
        guard qp.markScheduled() else { return }
        state.withLockedValue { $0.ready.append(qp) }
        doorbells.wrappingAdd(1, ordering: .releasing)
        if sleeping.load(ordering: .acquiring) {
            wakeup.lock()
            wakeup.unlock(withValue: 1)
        }
    }

    /// Tracks `qp` for timer expiry (retransmission or RNR back-off).
    func watchTimers(of qp: QueuePair) {
        guard !qp.timerWatched.exchange(true, ordering: .acquiringAndReleasing) else { return }
        state.withLockedValue { $0.timed[ObjectIdentifier(qp)] = qp }
        if sleeping.load(ordering: .acquiring) {
            wakeup.lock()
            wakeup.unlock(withValue: 1)
        }
    }

    /// Stops the thread after its current pass and waits for it to exit.
    func stop() {
        state.withLockedValue { $0.running = false }
        wakeup.lock()
        wakeup.unlock(withValue: 1)
        stopped.lock(whenValue: 1)
        stopped.unlock()
    }

    /// Kernel page faults (minor + major) the engine thread took since it started. The engine
    /// runs the data path (requester, and the responder and completer of in-process peers), so
    /// this stays 0 while it touches only pages the ODP tables say are mapped.
    var dataPathKernelFaults: Int {
        let tid = threadID.load(ordering: .acquiring)
        guard tid != 0, let faults = Host.pageFaults(ofThread: tid) else { return 0 }
        return Int(faults.minor + faults.major) - Int(faultsAtStart.load(ordering: .relaxed))
    }

    private func run() {
        let start = Host.threadPageFaults()
        faultsAtStart.store(start.minor + start.major, ordering: .relaxed)
        threadID.store(Host.currentThreadID(), ordering: .releasing)
        var lastWork = ContinuousClock.now
        var ready: [QueuePair] = []
        var spare: [QueuePair] = []
        ready.reserveCapacity(64)
        spare.reserveCapacity(64)
        while true {
            swap(&ready, &spare)
            let (timed, running) = state.withLockedValue { state -> ([QueuePair], Bool) in
                swap(&ready, &state.ready)
                return (state.timed.isEmpty ? [] : Array(state.timed.values), state.running)
            }
            if !running { break }
            var didWork = !ready.isEmpty
            for qp in ready {
                qp.clearScheduled()
                if qp.runRequester() { schedule(qp) }
            }
            ready.removeAll(keepingCapacity: true)
            var nextDeadline: ContinuousClock.Instant? = nil
            if !timed.isEmpty {
                let now = ContinuousClock.now
                for qp in timed {
                    switch qp.serviceTimers(now: now) {
                    case .idle:
                        state.withLockedValue { _ = $0.timed.removeValue(forKey: ObjectIdentifier(qp)) }
                        qp.timerWatched.store(false, ordering: .releasing)
                        // A timer armed between serviceTimers and the removal must not be lost.
                        if case .idle = qp.serviceTimers(now: ContinuousClock.now) {} else {
                            watchTimers(of: qp)
                            schedule(qp)
                        }
                    case .fired:
                        didWork = true
                        schedule(qp)
                    case .pending(let deadline):
                        nextDeadline = min(nextDeadline ?? deadline, deadline)
                    }
                }
            }
            if didWork {
                lastWork = ContinuousClock.now
                continue
            }
            if ContinuousClock.now - lastWork < spinDuration {
                // Polling with nothing to do: let a runnable fault worker or application thread
                // have the core first (two cores, and the fault worker is what we may wait for).
                sched_yield()
                continue
            }
            sleepUntilWork(or: nextDeadline)
            lastWork = ContinuousClock.now
        }
        stopped.lock()
        stopped.unlock(withValue: 1)
    }

    private func sleepUntilWork(or deadline: ContinuousClock.Instant?) {
        sleeping.store(true, ordering: .sequentiallyConsistent)
        let pending = state.withLockedValue { !$0.ready.isEmpty || !$0.running }
        if !pending {
            var seconds = 0.01
            if let deadline {
                let remaining = deadline - ContinuousClock.now
                seconds = max(0, min(seconds, Double(remaining.components.seconds) + Double(remaining.components.attoseconds) * 1e-18))
            }
            if wakeup.lock(whenValue: 1, timeoutSeconds: seconds) {
                wakeup.unlock(withValue: 0)
            }
        }
        sleeping.store(false, ordering: .sequentiallyConsistent)
    }
}

/// What a QP's timers need from the engine.
enum TimerStatus {
    /// No timer armed.
    case idle
    /// A timer fired and the QP has work for the requester.
    case fired
    /// A timer is armed for this instant.
    case pending(ContinuousClock.Instant)
}
