import NIOConcurrencyHelpers
import Synchronization

#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// A sleepable-RCU-style gate between device accesses (readers) and invalidations (writers).
///
/// Readers never block: ``enter()`` bumps the counter of the current epoch and ``exit(_:)``
/// drops it. A writer first unpublishes what readers must no longer use (clears page entries),
/// then calls ``synchronize()``, which returns only when every reader that might have seen the
/// old state has exited. It flips the epoch twice and drains the old counter each time, which is
/// how SRCU's `synchronize_srcu` covers a reader that read the epoch just before a flip.
///
/// Because readers never wait, a device access may hold several gates at once (a loopback copy
/// from one region into another) without any lock-order deadlock.
final class AccessGate: Sendable {
    private let epoch = Atomic<UInt>(0)
    private let readers0 = Atomic<Int>(0)
    private let readers1 = Atomic<Int>(0)
    private let writers = NIOLock()

    init() {}

    /// Marks the start of a read-side section; returns the token to pass to ``exit(_:)``.
    @inline(__always)
    func enter() -> Int {
        let index = Int(epoch.load(ordering: .relaxed) & 1)
        if index == 0 {
            readers0.wrappingAdd(1, ordering: .sequentiallyConsistent)
        } else {
            readers1.wrappingAdd(1, ordering: .sequentiallyConsistent)
        }
        #if !arch(x86_64)
        // Orders the increment before the section's loads of page entries on weaker machines
        // (on x86-64 the locked add above is already a full barrier).
        atomicMemoryFence(ordering: .sequentiallyConsistent)
        #endif
        return index
    }

    /// Marks the end of a read-side section begun by ``enter()``.
    @inline(__always)
    func exit(_ token: Int) {
        if token == 0 {
            readers0.wrappingSubtract(1, ordering: .releasing)
        } else {
            readers1.wrappingSubtract(1, ordering: .releasing)
        }
    }

    /// Runs `body` in a read-side section of the umem whose release flag is `released`, unless
    /// the umem was released (`.released`, with `address`): the frame of every device access.
    @inline(__always)
    func section<R>(
        unlessReleased released: borrowing Synchronization.Atomic<Bool>, address: UInt64, _ body: () throws(MemoryError) -> R
    ) throws(MemoryError) -> R {
        let token = enter()
        defer { exit(token) }
        if released.load(ordering: .acquiring) { throw MemoryError(.released, address: address) }
        return try body()
    }

    /// Waits until every read-side section that began before this call has ended.
    func synchronize() {
        writers.withLock {
            atomicMemoryFence(ordering: .sequentiallyConsistent)
            for _ in 0..<2 {
                let old = epoch.wrappingAdd(1, ordering: .sequentiallyConsistent).oldValue
                drain(Int(old & 1))
            }
        }
    }

    private func readers(_ index: Int) -> Int {
        index == 0
            ? readers0.load(ordering: .sequentiallyConsistent) : readers1.load(ordering: .sequentiallyConsistent)
    }

    private func drain(_ index: Int) {
        var spins = 0
        while readers(index) != 0 {
            spins += 1
            if spins < 128 {
                continue
            } else if spins < 4096 {
                sched_yield()
            } else {
                usleep(50)
            }
        }
    }
}
