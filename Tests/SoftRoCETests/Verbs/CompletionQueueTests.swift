import Dispatch
#if canImport(Glibc)
import Glibc
#endif
import SoftRoCE
import Testing

private func completion(_ id: UInt64, status: WorkCompletion.Status = .success) -> WorkCompletion {
    WorkCompletion(wrID: id, status: status, opcode: .receive, byteLength: 64, qpNumber: 0x11)
}

/// Yields until `condition` holds; after `timeout` records an issue and returns, so a lost wake-up fails the
/// test instead of hanging it.
private func waitUntil(
    timeout: Duration = .seconds(20),
    sourceLocation: SourceLocation = #_sourceLocation,
    _ condition: () -> Bool
) async {
    let deadline = ContinuousClock.now + timeout
    while !condition() {
        if ContinuousClock.now >= deadline {
            Issue.record("condition not reached within \(timeout)", sourceLocation: sourceLocation)
            return
        }
        await Task.yield()
    }
}

/// Spins on the current thread until `condition` holds or `timeout` passes.
private func spinUntil(timeout: Duration = .seconds(20), _ condition: () -> Bool) {
    let deadline = ContinuousClock.now + timeout
    while !condition() && ContinuousClock.now < deadline {}
}

/// Awaits `task`, cancelling it after `timeout` (and recording an issue) so that a consumer that is never
/// woken ends the test with a failure instead of hanging it.
private func value<T: Sendable>(
    of task: Task<T, Never>,
    timeout: Duration = .seconds(20),
    sourceLocation: SourceLocation = #_sourceLocation
) async -> T {
    let watchdog = Task {
        do {
            try await Task.sleep(for: timeout)
            Issue.record("task still running after \(timeout); cancelling it", sourceLocation: sourceLocation)
            task.cancel()
        } catch {}
    }
    let result = await task.value
    watchdog.cancel()
    return result
}

/// Waits in `nextEvent()` and returns `nil` for an event or the error's code.
private func eventOutcome(_ cq: CompletionQueue) async -> VerbsError.Code? {
    do throws(VerbsError) {
        try await cq.nextEvent()
        return nil
    } catch {
        return error.code
    }
}

/// Runs `body` on a Dispatch worker thread, not on the calling task's thread.
private func onAnotherThread(_ body: @escaping @Sendable () -> Void) {
    DispatchQueue.global().async(execute: body)
}

@Suite("CompletionQueue")
struct CompletionQueueTests {
    @Test(
        "capacity is at least cqe, rounded like rxe to 2^k - 1",
        arguments: [(1, 1), (2, 3), (3, 3), (4, 7), (16, 31), (31, 31), (32, 63), (1000, 1023)]
    )
    func capacity(requested: Int, expected: Int) throws {
        let cq = try CompletionQueue(minimumCapacity: requested)
        #expect(cq.capacity == expected)
        #expect(cq.capacity >= requested)
    }

    @Test(
        "sizes of zero, negative or above the device limit are rejected",
        arguments: [
            (0, 100), (-1, 100), (21, 20), (16, 20),
        ]
    )
    func invalidSize(requested: Int, limit: Int) {
        let error = #expect(throws: VerbsError.self) {
            try CompletionQueue(minimumCapacity: requested, maximumCapacity: limit)
        }
        #expect(error?.code == .invalidCompletionQueueSize)
    }

    @Test("completions come out in the order they went in, across many ring wrap-arounds")
    func orderPreserved() throws {
        let cq = try CompletionQueue(minimumCapacity: 4)
        var next: UInt64 = 0
        var expected: UInt64 = 0
        for round in 0..<100 {
            for _ in 0..<(round % cq.capacity + 1) {
                #expect(cq.push(completion(next)))
                next += 1
            }
            while let wc = cq.poll() {
                #expect(wc.wrID == expected)
                expected += 1
            }
        }
        #expect(expected == next)
        #expect(cq.count == 0)
    }

    @Test("batch polls take at most maxEntries, oldest first")
    func batchPoll() throws {
        let cq = try CompletionQueue(minimumCapacity: 16)
        for id in 0..<10 { cq.push(completion(UInt64(id))) }
        #expect(cq.count == 10)
        #expect(cq.poll(maxEntries: 0).isEmpty)
        #expect(cq.poll(maxEntries: 4).map(\.wrID) == [0, 1, 2, 3])
        var buffer: [WorkCompletion] = []
        #expect(cq.poll(into: &buffer, maxEntries: 100) == 6)
        #expect(buffer.map(\.wrID) == [4, 5, 6, 7, 8, 9])
        #expect(cq.poll(into: &buffer, maxEntries: 100) == 0)
        #expect(buffer.isEmpty)
        #expect(cq.poll() == nil)
    }

    @Test("poll(into:) replaces the buffer's contents and keeps its storage")
    func pollIntoReusesBuffer() throws {
        let cq = try CompletionQueue(minimumCapacity: 64)
        var buffer: [WorkCompletion] = []
        buffer.reserveCapacity(32)
        let capacity = buffer.capacity
        for round in 0..<10 {
            for id in 0..<20 { cq.push(completion(UInt64(round * 100 + id))) }
            #expect(cq.poll(into: &buffer, maxEntries: 32) == 20)
            #expect(buffer.first?.wrID == UInt64(round * 100))
            #expect(buffer.count == 20)
            #expect(buffer.capacity == capacity)
        }
    }

    @Test("pushing into a full queue overflows it: push fails, the error is sticky and counted")
    func overflow() throws {
        let cq = try CompletionQueue(minimumCapacity: 1)
        #expect(cq.capacity == 1)
        #expect(cq.push(completion(1)))
        #expect(!cq.isOverflowed)
        #expect(!cq.push(completion(2)))
        #expect(cq.isOverflowed)
        #expect(cq.overflowCount == 1)
        #expect(cq.poll()?.wrID == 1, "completions queued before the overflow stay pollable")
        #expect(!cq.push(completion(3)), "the error state is sticky even with room again")
        #expect(cq.overflowCount == 2)
        #expect(cq.poll() == nil)
    }

    @Test("after an overflow, nextEvent throws and the sequence ends once drained", .timeLimit(.minutes(3)))
    func overflowEndsWaiting() async throws {
        let cq = try CompletionQueue(minimumCapacity: 1)
        let waiter = Task { await eventOutcome(cq) }
        await waitUntil { cq.waiterCounts.events == 1 }
        cq.push(completion(1))
        cq.push(completion(2))
        #expect(await value(of: waiter) == .completionQueueOverflow)
        var drained: [UInt64] = []
        for await wc in cq.completions { drained.append(wc.wrID) }
        #expect(drained == [1])
    }

    @Test(
        "the async sequence sleeps while empty and wakes for completions pushed from another thread",
        .timeLimit(.minutes(3))
    )
    func asyncSequenceAcrossThreads() async throws {
        let cq = try CompletionQueue(minimumCapacity: 8)
        let rounds = 50
        let consumer = Task {
            var ids: [UInt64] = []
            for await wc in cq.completions {
                ids.append(wc.wrID)
                if ids.count == rounds { break }
            }
            return ids
        }
        onAnotherThread {
            for id in 0..<rounds {
                // Wait until the consumer is parked on its continuation, so every push has to wake it.
                spinUntil { cq.waiterCounts.completions > 0 }
                cq.push(completion(UInt64(id)))
            }
        }
        #expect(await value(of: consumer) == (0..<UInt64(rounds)).map { $0 })
        #expect(cq.waiterCounts.completions == 0)
    }

    @Test("a burst from another thread arrives complete and in order", .timeLimit(.minutes(3)))
    func asyncSequenceBurst() async throws {
        let count = 5000
        let cq = try CompletionQueue(minimumCapacity: count)
        let consumer = Task {
            var ids: [UInt64] = []
            for await wc in cq.completions {
                ids.append(wc.wrID)
                if ids.count == count { break }
            }
            return ids
        }
        onAnotherThread {
            for id in 0..<count { cq.push(completion(UInt64(id))) }
        }
        #expect(await value(of: consumer) == (0..<UInt64(count)).map { $0 })
    }

    @Test("cancelling a waiting iterator ends the sequence and unregisters it", .timeLimit(.minutes(3)))
    func sequenceCancellation() async throws {
        let cq = try CompletionQueue(minimumCapacity: 4)
        let consumer = Task {
            var count = 0
            for await _ in cq.completions { count += 1 }
            return count
        }
        await waitUntil { cq.waiterCounts.completions == 1 }
        consumer.cancel()
        #expect(await value(of: consumer) == 0)
        #expect(cq.waiterCounts.completions == 0)
        cq.push(completion(9))
        #expect(cq.poll()?.wrID == 9, "a completion pushed after cancellation is not lost")
    }

    @Test("one armed notification produces exactly one event")
    func notificationOncePerArm() async throws {
        let cq = try CompletionQueue(minimumCapacity: 16)
        cq.push(completion(0))
        #expect(cq.pendingEventCount == 0, "no event without arming")
        #expect(cq.requestNotification(), "completions are already waiting")
        #expect(cq.pendingEventCount == 0, "queued completions don't fire a new arm")
        cq.push(completion(1))
        cq.push(completion(2))
        cq.push(completion(3))
        #expect(cq.pendingEventCount == 1)
        try await cq.nextEvent()
        #expect(cq.pendingEventCount == 0)
        cq.push(completion(4))
        #expect(cq.pendingEventCount == 0, "the arm was used up")
        _ = cq.poll(maxEntries: 100)
        #expect(!cq.requestNotification())
        cq.push(completion(5))
        #expect(cq.pendingEventCount == 1)
    }

    @Test(
        "a task parked in nextEvent is woken by a completion pushed from another thread",
        .timeLimit(.minutes(3))
    )
    func eventAcrossThreads() async throws {
        let cq = try CompletionQueue(minimumCapacity: 16)
        for round in 0..<20 {
            cq.requestNotification()
            let waiter = Task { await eventOutcome(cq) }
            await waitUntil { cq.waiterCounts.events == 1 }
            onAnotherThread { cq.push(completion(UInt64(round))) }
            #expect(await value(of: waiter) == nil)
            #expect(cq.poll()?.wrID == UInt64(round))
            #expect(cq.pendingEventCount == 0)
        }
    }

    @Test("solicited-only arming fires only for solicited or failed completions")
    func solicitedOnly() throws {
        let cq = try CompletionQueue(minimumCapacity: 16)
        cq.requestNotification(solicitedOnly: true)
        cq.push(completion(1))
        cq.push(completion(2), solicited: false)
        #expect(cq.pendingEventCount == 0)
        cq.push(completion(3), solicited: true)
        #expect(cq.pendingEventCount == 1)
        cq.push(completion(4), solicited: true)
        #expect(cq.pendingEventCount == 1, "one event per arm")

        cq.requestNotification(solicitedOnly: true)
        cq.push(completion(5, status: .remoteAccessError))
        #expect(cq.pendingEventCount == 2, "an error completion counts as solicited")

        cq.requestNotification(solicitedOnly: true)
        cq.requestNotification(solicitedOnly: false)
        cq.push(completion(6))
        #expect(cq.pendingEventCount == 3, "arming for any completion takes precedence")

        cq.requestNotification(solicitedOnly: false)
        cq.requestNotification(solicitedOnly: true)
        cq.push(completion(7))
        #expect(cq.pendingEventCount == 4, "a later solicited-only request doesn't narrow an armed 'next'")
    }

    @Test("cancelling nextEvent throws cancelled and unregisters the waiter", .timeLimit(.minutes(3)))
    func eventCancellation() async throws {
        let cq = try CompletionQueue(minimumCapacity: 4)
        let waiter = Task { await eventOutcome(cq) }
        await waitUntil { cq.waiterCounts.events == 1 }
        waiter.cancel()
        #expect(await value(of: waiter) == .cancelled)
        #expect(cq.waiterCounts.events == 0)
        cq.requestNotification()
        cq.push(completion(1))
        #expect(cq.pendingEventCount == 1, "the event is kept for the next caller, not handed to the cancelled one")
    }

    @Test("closing releases waiters and refuses pushes", .timeLimit(.minutes(3)))
    func close() async throws {
        let cq = try CompletionQueue(minimumCapacity: 4)
        let eventWaiter = Task { await eventOutcome(cq) }
        let iterator = Task {
            var ids: [UInt64] = []
            for await wc in cq.completions { ids.append(wc.wrID) }
            return ids
        }
        await waitUntil { cq.waiterCounts == (events: 1, completions: 1) }
        cq.close()
        #expect(await value(of: eventWaiter) == .completionQueueClosed)
        #expect(await value(of: iterator) == [])
        #expect(!cq.push(completion(1)))
        #expect(cq.overflowCount == 0, "a closed queue's refusals are not overflows")
    }

    @Test(
        "two producer threads and two consumer tasks: nothing lost, nothing duplicated, per-producer order kept",
        .timeLimit(.minutes(3))
    )
    func concurrentProducersAndConsumers() async throws {
        let perProducer = 20_000
        let cq = try CompletionQueue(minimumCapacity: 2 * perProducer)
        let consumers = (0..<2).map { index in
            Task { () -> [UInt64] in
                var ids: [UInt64] = []
                if index == 0 {
                    for await wc in cq.completions { ids.append(wc.wrID) }
                } else {
                    var buffer: [WorkCompletion] = []
                    buffer.reserveCapacity(16)
                    while !Task.isCancelled {
                        if cq.poll(into: &buffer, maxEntries: 16) == 0 {
                            await Task.yield()
                        }
                        ids.append(contentsOf: buffer.map(\.wrID))
                    }
                }
                return ids
            }
        }
        let finished = DispatchGroup()
        for producer in 0..<2 {
            finished.enter()
            onAnotherThread {
                for sequence in 0..<perProducer {
                    cq.push(completion(UInt64(producer) << 32 | UInt64(sequence)))
                }
                finished.leave()
            }
        }
        await withCheckedContinuation { continuation in
            finished.notify(queue: .global()) { continuation.resume() }
        }
        await waitUntil { cq.count == 0 }
        for consumer in consumers { consumer.cancel() }
        var all: [UInt64] = []
        for consumer in consumers {
            let ids = await value(of: consumer)
            for producer in 0..<2 {
                let mine = ids.filter { $0 >> 32 == UInt64(producer) }
                #expect(mine == mine.sorted(), "each consumer sees each producer's completions in order")
            }
            all += ids
        }
        #expect(all.count == 2 * perProducer)
        #expect(Set(all).count == 2 * perProducer)
        #expect(!cq.isOverflowed)
    }

    @Test("waitForEvent blocks a thread until an armed push, times out with a typed error, and ends on close")
    func blockingEventWait() throws {
        let cq = try CompletionQueue(minimumCapacity: 8)
        #expect(throws: VerbsError.self) { try cq.waitForEvent(timeout: .milliseconds(20)) }
        do {
            try cq.waitForEvent(timeout: .milliseconds(20))
        } catch {
            #expect(error.code == .timedOut)
        }
        // A push from another thread wakes the blocked caller.
        cq.requestNotification()
        onAnotherThread {
            usleep(20_000)
            cq.push(completion(1))
        }
        try cq.waitForEvent(timeout: .seconds(10))
        #expect(cq.poll()?.wrID == 1)
        // An event raised while nobody waits is kept for the next wait; a timed-out wait took none.
        cq.requestNotification()
        cq.push(completion(2))
        try cq.waitForEvent(timeout: .zero)
        #expect(throws: VerbsError.self) { try cq.waitForEvent(timeout: .milliseconds(5)) }
        // Closing the queue releases a blocked caller with completionQueueClosed.
        onAnotherThread {
            usleep(20_000)
            cq.close()
        }
        do {
            try cq.waitForEvent()
            Issue.record("waitForEvent returned on a closed queue")
        } catch {
            #expect(error.code == .completionQueueClosed)
        }
    }
}
