import SoftRoCEMemory
import NIOConcurrencyHelpers
import Synchronization

/// A completion queue: a bounded, thread-safe FIFO of ``WorkCompletion``s that the device engine fills and
/// the application polls or awaits. Corresponds to `ibv_cq`.
///
/// - **Size.** ``capacity`` is at least the requested `cqe` and is rounded like rxe: the ring has
///   `2^k ≥ cqe + 1` slots and holds `2^k − 1` completions (so `cqe` 16 gives 31, `cqe` 1 gives 1).
/// - **Hot path.** One ring buffer under one lock; ``push(_:solicited:)`` and the `poll` calls allocate
///   nothing in steady state (``poll(into:maxEntries:)`` reuses the caller's array).
/// - **Overflow.** Pushing into a full queue does not drop silently and does not block: the queue enters a
///   sticky error state (``isOverflowed``, ``overflowCount``), the push returns `false`, and every later
///   push is refused too. This is a hardware CQ overflow: the engine must raise the `IBV_EVENT_CQ_ERR`
///   async event and move the affected queue pairs to the error state. Completions already queued can still
///   be polled; ``nextEvent()`` then throws and ``completions`` ends once drained.
/// - **Notification.** ``requestNotification(solicitedOnly:)`` arms the queue; the next completion added
///   after arming (or the next solicited or failed one) produces exactly one event, which
///   ``nextEvent()`` delivers. Completion channel semantics: events are counted, so an event raised while
///   nobody waits is delivered to the next caller.
public final class CompletionQueue: Sendable {
    /// The most completions the queue holds (the `cqe` `ibv_create_cq` reports back).
    public let capacity: Int

    private let state: LockedValue<State>
    /// The number of queued completions as of the last change, published for lock-free polling:
    /// a poll that finds it 0 returns at once instead of taking the lock the producer needs.
    /// Read without the lock it is only a hint; every decision is taken under the lock.
    private let queued = PolledCounter()

    /// The default largest `cqe` accepted when the device gives no limit: 2²⁰ − 1.
    public static let defaultMaximumCapacity = (1 << 20) - 1

    /// Creates a completion queue holding at least `minimumCapacity` completions.
    /// - Parameters:
    ///   - minimumCapacity: the requested number of entries (`cqe`), at least 1.
    ///   - maximumCapacity: the device's limit (`max_cqe`); the rounded capacity may not exceed it.
    /// - Throws: ``VerbsError`` with ``VerbsError/Code/invalidCompletionQueueSize`` when `minimumCapacity`
    ///   is below 1 or its rounded capacity exceeds `maximumCapacity`.
    ///   Corresponds to `ibv_create_cq` (`EINVAL`).
    public init(
        minimumCapacity: Int,
        maximumCapacity: Int = CompletionQueue.defaultMaximumCapacity
    ) throws(VerbsError) {
        guard minimumCapacity >= 1, minimumCapacity <= maximumCapacity else {
            throw VerbsError(
                .invalidCompletionQueueSize,
                "cqe \(minimumCapacity) is not in 1...\(maximumCapacity)"
            )
        }
        var slots = 1
        while slots < minimumCapacity + 1 { slots <<= 1 }
        let capacity = slots - 1
        guard capacity <= maximumCapacity else {
            throw VerbsError(
                .invalidCompletionQueueSize,
                "cqe \(minimumCapacity) rounds to \(capacity), above the limit \(maximumCapacity)"
            )
        }
        self.capacity = capacity
        self.state = LockedValue(State(slots: slots))
    }

    // MARK: Producer side (device engine)

    /// Adds a completion. Called by the device engine's threads.
    ///
    /// Fires an armed notification when the queue was armed for any completion, or armed solicited-only
    /// and `solicited` is true or the completion failed (the `ibv_req_notify_cq` definition of a solicited
    /// completion), then disarms. Wakes one task waiting in ``completions``.
    /// - Parameters:
    ///   - completion: the completion to queue.
    ///   - solicited: whether the message that produced it carried the Solicited Event bit.
    /// - Returns: `true` if queued; `false` if the queue is full (it is now overflowed: raise
    ///   `IBV_EVENT_CQ_ERR`), already overflowed, or closed. A refused completion is counted in
    ///   ``overflowCount`` unless the queue was closed.
    @discardableResult
    package func push(_ completion: WorkCompletion, solicited: Bool = false) -> Bool {
        let wake = state.withLockedValue { state in
            let outcome = state.push(completion, solicited: solicited)
            queued.store(state.count)
            return outcome
        }
        wake.resume()
        return wake.accepted
    }

    /// Destroys the queue's waiting side: tasks in ``nextEvent()`` throw
    /// ``VerbsError/Code/completionQueueClosed``, ``completions`` ends after the queued completions, and
    /// later pushes are refused (counted as overflows of the device, so destroy the QPs that use
    /// the queue first, as `ibv_destroy_cq` requires). Later calls do nothing. Corresponds to
    /// `ibv_destroy_cq`.
    public func close() {
        let waiters = state.withLockedValue { state in state.close() }
        waiters.resume()
    }

    /// Events raised by armed notifications that no ``nextEvent()`` caller has taken yet (for tests and
    /// statistics).
    package var pendingEventCount: Int {
        state.withLockedValue { $0.pendingEvents }
    }

    /// Tasks parked in ``nextEvent()`` and in ``completions`` iterators, respectively (for tests: a waiter
    /// sleeps on a continuation, it does not spin).
    package var waiterCounts: (events: Int, completions: Int) {
        state.withLockedValue { ($0.eventWaiters.count, $0.completionWaiters.count) }
    }

    // MARK: Consumer side (application)

    /// The number of completions waiting to be polled.
    public var count: Int {
        state.withLockedValue { $0.count }
    }

    /// Whether the queue overflowed (sticky): a completion could not be queued and the queue is in error.
    public var isOverflowed: Bool {
        state.withLockedValue { $0.overflowed }
    }

    /// How many completions were refused because the queue was full or overflowed.
    public var overflowCount: Int {
        state.withLockedValue { $0.overflowCount }
    }

    /// Removes and returns the oldest completion, or `nil` if none is waiting. Corresponds to
    /// `ibv_poll_cq` with one entry.
    public func poll() -> WorkCompletion? {
        guard queued.load() > 0 else { return nil }
        return state.withLockedValue { state in
            let completion = state.pop()
            queued.store(state.count)
            return completion
        }
    }

    /// Removes and returns up to `maxEntries` completions, oldest first. Allocates the result array; hot
    /// loops should use ``poll(into:maxEntries:)``. Corresponds to `ibv_poll_cq`.
    /// - Parameter maxEntries: the most completions to return; 0 or less returns none.
    public func poll(maxEntries: Int) -> [WorkCompletion] {
        var result: [WorkCompletion] = []
        result.reserveCapacity(max(0, min(maxEntries, capacity)))
        poll(into: &result, maxEntries: maxEntries)
        return result
    }

    /// Replaces the contents of `buffer` with up to `maxEntries` completions, oldest first, and returns how
    /// many. The buffer's capacity is kept, so a reused buffer makes this allocation-free.
    /// Corresponds to `ibv_poll_cq(cq, num_entries, wc)`.
    /// - Parameters:
    ///   - buffer: receives the completions; its previous contents are removed.
    ///   - maxEntries: the most completions to take; 0 or less takes none.
    /// - Returns: the number of completions now in `buffer`.
    @discardableResult
    public func poll(into buffer: inout [WorkCompletion], maxEntries: Int) -> Int {
        buffer.removeAll(keepingCapacity: true)
        guard maxEntries > 0, queued.load() > 0 else { return 0 }
        return state.withLockedValue { state in
            let taken = min(maxEntries, state.count)
            for _ in 0..<taken {
                buffer.append(state.ring[state.head])
                state.head = (state.head + 1) & state.slotMask
            }
            state.count -= taken
            queued.store(state.count)
            return taken
        }
    }

    /// Arms the queue: the next completion added (or, with `solicitedOnly`, the next solicited or failed
    /// one) produces one event for ``nextEvent()``. Arming for any completion takes precedence over
    /// solicited-only. Completions already queued do not fire it, so poll once more after arming.
    /// Corresponds to `ibv_req_notify_cq`.
    /// - Parameter solicitedOnly: fire only on solicited or failed completions.
    /// - Returns: whether completions are already waiting (the kernel's `IB_CQ_REPORT_MISSED_EVENTS` hint).
    @discardableResult
    public func requestNotification(solicitedOnly: Bool = false) -> Bool {
        state.withLockedValue { state in
            if !state.closed {
                if !solicitedOnly {
                    state.arm = .nextCompletion
                } else if state.arm == .disarmed {
                    state.arm = .solicited
                }
            }
            return state.count > 0
        }
    }

    /// Waits for the next completion event raised by an armed notification, sleeping (not spinning) until
    /// then. Each event is delivered once, to one caller. Corresponds to `ibv_get_cq_event` on the CQ's
    /// completion channel (there is nothing to acknowledge: `ibv_ack_cq_events` has no counterpart).
    /// - Throws: ``VerbsError`` with ``VerbsError/Code/cancelled`` when the task is cancelled,
    ///   ``VerbsError/Code/completionQueueClosed`` after ``close()``, or
    ///   ``VerbsError/Code/completionQueueOverflow`` once the queue overflowed and no event is pending.
    public func nextEvent() async throws(VerbsError) {
        let id = state.withLockedValue { $0.makeWaiterID() }
        let result: Result<Void, VerbsError> = await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Result<Void, VerbsError>, Never>) in
                let immediate = state.withLockedValue { state -> Result<Void, VerbsError>? in
                    if let outcome = state.takeEvent() { return outcome }
                    if Task.isCancelled { return .failure(VerbsError(.cancelled, "nextEvent() was cancelled")) }
                    state.eventWaiters.append(EventWaiter(id: id, delivery: .task(continuation)))
                    return nil
                }
                if let immediate { continuation.resume(returning: immediate) }
            }
        } onCancel: {
            let waiter = state.withLockedValue { state in state.removeEventWaiter(id: id) }
            waiter?.resume(returning: .failure(VerbsError(.cancelled, "nextEvent() was cancelled")))
        }
        try result.get()
    }

    /// Blocks the calling thread until the next completion event raised by an armed notification, or
    /// `timeout`: ``nextEvent()`` for a thread of its own (a blocking completion channel's
    /// `ibv_get_cq_event`). It sleeps on a condition variable and needs no task or executor.
    /// - Parameter timeout: the longest wait; nil waits without limit.
    /// - Throws: ``VerbsError`` with ``VerbsError/Code/timedOut`` when `timeout` passed,
    ///   ``VerbsError/Code/completionQueueClosed`` after ``close()``, or
    ///   ``VerbsError/Code/completionQueueOverflow`` once the queue overflowed and no event is pending.
    public func waitForEvent(timeout: Duration? = nil) throws(VerbsError) {
        let waiter = BlockingEventWaiter()
        let (id, immediate) = state.withLockedValue { state -> (UInt64, Result<Void, VerbsError>?) in
            let id = state.makeWaiterID()
            if let outcome = state.takeEvent() { return (id, outcome) }
            state.eventWaiters.append(EventWaiter(id: id, delivery: .thread(waiter)))
            return (id, nil)
        }
        if let immediate { return try immediate.get() }
        if let result = waiter.wait(timeout: timeout) { return try result.get() }
        // Timed out: withdraw, unless a push has taken this waiter already (its event is on the way).
        if state.withLockedValue({ $0.removeEventWaiter(id: id) }) != nil {
            throw VerbsError(.timedOut, "no completion event within \(timeout.map { "\($0)" } ?? "the wait")")
        }
        if let result = waiter.wait(timeout: nil) { try result.get() }
    }

    /// The completions as an async sequence: each iteration takes the oldest completion, sleeping while the
    /// queue is empty. Several iterators compete for completions (each goes to one). The sequence ends when
    /// the iterating task is cancelled (while waiting), or when the queue is empty and overflowed or closed.
    public var completions: some AsyncSequence<WorkCompletion, Never> & Sendable {
        CompletionSequence(queue: self)
    }

    /// Takes the oldest completion, waiting while the queue is empty; `nil` when cancelled while waiting,
    /// or when the queue is empty and overflowed or closed.
    func nextCompletion(isolation: isolated (any Actor)? = #isolation) async -> WorkCompletion? {
        while true {
            let step = state.withLockedValue { state -> CompletionStep in
                if let completion = state.pop() {
                    queued.store(state.count)
                    return .completion(completion)
                }
                if state.closed || state.overflowed || Task.isCancelled { return .finished }
                return .wait(state.makeWaiterID())
            }
            switch step {
            case .completion(let completion):
                return completion
            case .finished:
                return nil
            case .wait(let id):
                await waitForCompletion(id: id, isolation: isolation)
            }
        }
    }

    private func waitForCompletion(id: UInt64, isolation: isolated (any Actor)?) async {
        await withTaskCancellationHandler {
            await withCheckedContinuation(isolation: isolation) { (continuation: CheckedContinuation<Void, Never>) in
                let registered = state.withLockedValue { state -> Bool in
                    guard state.count == 0, !state.closed, !state.overflowed, !Task.isCancelled else { return false }
                    state.completionWaiters.append(CompletionWaiter(id: id, continuation: continuation))
                    return true
                }
                if !registered { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLockedValue { state in state.removeCompletionWaiter(id: id) }
            waiter?.continuation.resume()
        }
    }

    private enum CompletionStep {
        case completion(WorkCompletion)
        case finished
        case wait(UInt64)
    }
}
