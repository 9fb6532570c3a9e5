import SoftRoCEMemory
import NIOConcurrencyHelpers
import SoftRoCEWire

extension CompletionQueue {
    /// How the queue is armed for a notification.
    enum Arm: Sendable {
        case disarmed
        case solicited
        case nextCompletion
    }

    /// A caller waiting for an event: a task in `nextEvent()` or a thread in `waitForEvent(timeout:)`.
    struct EventWaiter: Sendable {
        enum Delivery: Sendable {
            case task(CheckedContinuation<Result<Void, VerbsError>, Never>)
            case thread(BlockingEventWaiter)
        }
        let id: UInt64
        let delivery: Delivery

        /// Hands the waiter its event (or the reason none will come).
        func resume(returning result: Result<Void, VerbsError>) {
            switch delivery {
            case .task(let continuation): continuation.resume(returning: result)
            case .thread(let waiter): waiter.deliver(result)
            }
        }
    }

    /// A thread blocked in `waitForEvent(timeout:)`, sleeping on a condition variable.
    final class BlockingEventWaiter: @unchecked Sendable {
        // @unchecked: `result` is written and read with `condition` locked.
        private let condition = ConditionLock(value: 0)
        private var result: Result<Void, VerbsError>?

        func deliver(_ result: Result<Void, VerbsError>) {
            condition.lock()
            self.result = result
            condition.unlock(withValue: 1)
        }

        /// The delivered result; nil if `timeout` passed first.
        func wait(timeout: Duration?) -> Result<Void, VerbsError>? {
            if let timeout {
                let seconds = Double(max(0, timeout.wholeNanoseconds)) / 1e9
                guard condition.lock(whenValue: 1, timeoutSeconds: seconds) else { return nil }
            } else {
                condition.lock(whenValue: 1)
            }
            defer { condition.unlock() }
            return result
        }
    }

    /// A task waiting in the completion sequence for the queue to become non-empty.
    struct CompletionWaiter: Sendable {
        let id: UInt64
        let continuation: CheckedContinuation<Void, Never>
    }

    /// What a push decided, carried out of the lock so continuations resume outside it.
    struct PushOutcome {
        let accepted: Bool
        /// The waiters to wake; nil when nobody waits (the common case of a polling application):
        /// then a push moves no continuation around (their types' layout is known only at run
        /// time, and an optional one costs runtime calls even to be nil).
        let wakeups: Wakeups?

        /// Waiters a push hands over.
        final class Wakeups {
            let eventWaiter: EventWaiter?
            let completionWaiter: CompletionWaiter?
            let failedEventWaiters: [EventWaiter]

            init(eventWaiter: EventWaiter?, completionWaiter: CompletionWaiter?, failedEventWaiters: [EventWaiter]) {
                self.eventWaiter = eventWaiter
                self.completionWaiter = completionWaiter
                self.failedEventWaiters = failedEventWaiters
            }
        }

        func resume() {
            guard let wakeups else { return }
            wakeups.eventWaiter?.resume(returning: .success(()))
            wakeups.completionWaiter?.continuation.resume()
            for waiter in wakeups.failedEventWaiters {
                waiter.resume(
                    returning: .failure(VerbsError(.completionQueueOverflow, "the completion queue overflowed"))
                )
            }
        }
    }

    /// Every waiter, released when the queue closes.
    struct ClosedWaiters {
        let eventWaiters: [EventWaiter]
        let completionWaiters: [CompletionWaiter]

        func resume() {
            for waiter in eventWaiters {
                waiter.resume(
                    returning: .failure(VerbsError(.completionQueueClosed, "the completion queue was destroyed"))
                )
            }
            for waiter in completionWaiters {
                waiter.continuation.resume()
            }
        }
    }

    /// The queue's mutable state, guarded by one lock.
    struct State: Sendable {
        /// The ring; `slots` entries, of which at most `slots − 1` are in use.
        var ring: [WorkCompletion]
        /// `slots − 1`, for index wrapping.
        let slotMask: Int
        /// Index of the oldest completion.
        var head = 0
        /// Completions in the ring.
        var count = 0
        var overflowed = false
        var overflowCount = 0
        var closed = false
        var arm = Arm.disarmed
        /// Events raised while nobody waited.
        var pendingEvents = 0
        var eventWaiters: [EventWaiter] = []
        var completionWaiters: [CompletionWaiter] = []
        var lastWaiterID: UInt64 = 0

        init(slots: Int) {
            ring = Array(repeating: WorkCompletion.placeholder, count: slots)
            slotMask = slots - 1
            eventWaiters.reserveCapacity(2)
            completionWaiters.reserveCapacity(2)
        }

        var capacity: Int { slotMask }

        mutating func makeWaiterID() -> UInt64 {
            lastWaiterID &+= 1
            return lastWaiterID
        }

        mutating func push(_ completion: WorkCompletion, solicited: Bool) -> PushOutcome {
            if closed {
                return PushOutcome(accepted: false, wakeups: nil)
            }
            guard !overflowed, count < capacity else {
                overflowCount += 1
                let newlyOverflowed = !overflowed
                overflowed = true
                var failed: [EventWaiter] = []
                if newlyOverflowed && pendingEvents == 0 {
                    swap(&failed, &eventWaiters)
                }
                return PushOutcome(
                    accepted: false,
                    wakeups: failed.isEmpty ? nil : PushOutcome.Wakeups(eventWaiter: nil, completionWaiter: nil, failedEventWaiters: failed)
                )
            }
            ring[(head + count) & slotMask] = completion
            count += 1

            var wakesEventWaiter = false
            let fires: Bool
            switch arm {
            case .disarmed: fires = false
            case .nextCompletion: fires = true
            case .solicited: fires = solicited || !completion.status.isSuccess
            }
            if fires {
                arm = .disarmed
                if eventWaiters.isEmpty {
                    pendingEvents += 1
                } else {
                    wakesEventWaiter = true
                }
            }
            guard wakesEventWaiter || !completionWaiters.isEmpty else { return PushOutcome(accepted: true, wakeups: nil) }
            return PushOutcome(
                accepted: true,
                wakeups: PushOutcome.Wakeups(
                    eventWaiter: wakesEventWaiter ? eventWaiters.removeFirst() : nil,
                    completionWaiter: completionWaiters.isEmpty ? nil : completionWaiters.removeFirst(),
                    failedEventWaiters: []))
        }

        mutating func pop() -> WorkCompletion? {
            guard count > 0 else { return nil }
            let completion = ring[head]
            head = (head + 1) & slotMask
            count -= 1
            return completion
        }

        /// Takes a pending event, or reports why none will come; `nil` means "wait".
        mutating func takeEvent() -> Result<Void, VerbsError>? {
            if pendingEvents > 0 {
                pendingEvents -= 1
                return .success(())
            }
            if closed {
                return .failure(VerbsError(.completionQueueClosed, "the completion queue was destroyed"))
            }
            if overflowed {
                return .failure(VerbsError(.completionQueueOverflow, "the completion queue overflowed"))
            }
            return nil
        }

        mutating func removeEventWaiter(id: UInt64) -> EventWaiter? {
            guard let index = eventWaiters.firstIndex(where: { $0.id == id }) else { return nil }
            return eventWaiters.remove(at: index)
        }

        mutating func removeCompletionWaiter(id: UInt64) -> CompletionWaiter? {
            guard let index = completionWaiters.firstIndex(where: { $0.id == id }) else { return nil }
            return completionWaiters.remove(at: index)
        }

        mutating func close() -> ClosedWaiters {
            closed = true
            arm = .disarmed
            var events: [EventWaiter] = []
            var completions: [CompletionWaiter] = []
            swap(&events, &eventWaiters)
            swap(&completions, &completionWaiters)
            return ClosedWaiters(eventWaiters: events, completionWaiters: completions)
        }
    }
}

extension WorkCompletion {
    /// Fills unused ring slots.
    static let placeholder = WorkCompletion(wrID: 0, status: .success, opcode: .send, qpNumber: 0)
}
