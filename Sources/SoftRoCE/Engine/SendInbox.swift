import SoftRoCEMemory
import Synchronization

/// The doorbell path of a send queue: WQEs posted by the application and not yet taken by the
/// requester, plus the send queue's depth accounting.
///
/// Posting never takes the QP's send-side lock (which the engine holds while it builds runs and
/// handles acknowledgements), so the application and the engine thread do not contend on it.
/// Posters serialise among themselves on a private lock; the single consumer — whoever holds the
/// send-side lock — takes posted WQEs with atomics only.
///
/// ``depth`` counts WQEs posted and not yet removed from the send queue (inbox plus ring). It is
/// what bounds both: the inbox and the ring each hold `capacity` WQEs, and a post is refused once
/// `depth` reaches `capacity`. The engine lowers it before it pushes the completion of a removed
/// WQE, so an application that polled a completion finds its slot free.
final class SendInbox: @unchecked Sendable {
    // @unchecked: slot `i` is written by a poster (under `postLock`) only while it is outside
    // `head..<tail`, and read by the consumer only while inside; `tail` (release/acquire) and
    // `depth` (release/acquire) order the two.
    /// Initialised exactly in `head..<tail` (modulo capacity).
    private let slots: SlotStorage<SendWQE>
    /// The most WQEs the send queue holds (`max_send_wr`).
    var capacity: Int { slots.capacity }
    /// Next slot a poster fills (monotonic; written under `postLock`).
    private let tail = Atomic<Int>(0)
    /// Next slot the consumer takes (monotonic; written by the consumer only).
    private let head = Atomic<Int>(0)
    private let depth = Atomic<Int>(0)
    private let postLock = AdaptiveLock()

    init(capacity: Int) { slots = SlotStorage(capacity: capacity) }

    deinit {
        for index in head.load(ordering: .relaxed)..<tail.load(ordering: .relaxed) { slots.deinitialize(index % capacity) }
        slots.deallocate()
    }

    /// Queues `wqe` for the requester; false when the send queue is full. Any thread.
    func post(_ wqe: consuming SendWQE) -> Bool {
        postLock.lock()
        defer { postLock.unlock() }
        guard depth.load(ordering: .acquiring) < capacity else { return false }
        let index = tail.load(ordering: .relaxed)
        slots.initialize(index % capacity, to: wqe)
        depth.wrappingAdd(1, ordering: .relaxed)
        tail.store(index + 1, ordering: .releasing)
        return true
    }

    /// Whether posted WQEs wait to be taken (a hint unless called by the consumer).
    var hasPosted: Bool { tail.load(ordering: .acquiring) != head.load(ordering: .relaxed) }

    /// Moves every posted WQE into `queue`, in order. Consumer only (send-side lock held).
    func drain(into queue: SendQueue) {
        let end = tail.load(ordering: .acquiring)
        var index = head.load(ordering: .relaxed)
        guard index != end else { return }
        while index != end {
            queue.append(slots.move(index % capacity))
            index += 1
        }
        head.store(index, ordering: .releasing)
    }

    /// Records that `count` WQEs left the send queue (completed or flushed). Consumer only; call
    /// it before pushing their completions.
    func release(_ count: Int) {
        depth.wrappingSubtract(count, ordering: .releasing)
    }

    /// Drops every posted WQE and zeroes the depth (RESET). Consumer only.
    func reset() {
        postLock.withLock {
            drain(into: SendQueue(capacity: capacity))
            depth.store(0, ordering: .releasing)
        }
    }
}
