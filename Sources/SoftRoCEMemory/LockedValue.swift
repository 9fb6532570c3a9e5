import CSoftRoCEShims

#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// A value guarded by an adaptive pthread mutex: it spins briefly before sleeping, so the short
/// critical sections the application thread and the device's engine thread share (posting, CQ
/// polling) do not cost a context switch each. ThreadSanitizer understands it (a pthread mutex).
///
/// Never call back into code that may take the same lock from inside `withLockedValue`.
public final class LockedValue<Value>: @unchecked Sendable {
    // @unchecked: `storage` is only touched with `mutex` held. The value lives in its own
    // allocation so access needs no dynamic exclusivity check.
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    @usableFromInline let storage: UnsafeMutablePointer<Value>

    /// Creates the lock around `value`.
    public init(_ value: Value) {
        storage = .allocate(capacity: 1)
        storage.initialize(to: value)
        mutex = .allocate(capacity: 1)
        let rc = c_softroce_mutex_init_adaptive(mutex)
        precondition(rc == 0, "pthread_mutex_init failed: \(rc)")
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
        storage.deinitialize(count: 1)
        storage.deallocate()
    }

    /// Runs `body` with exclusive access to the value.
    @inlinable @inline(__always)
    public func withLockedValue<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        lock()
        defer { unlock() }
        return try body(&storage.pointee)
    }

    /// Runs `body` under the lock.
    @inlinable @inline(__always)
    public func withLock<R>(_ body: () throws -> R) rethrows -> R {
        lock()
        defer { unlock() }
        return try body()
    }

    /// Takes the lock; pair with ``unlock()`` (for a critical section that moves a noncopyable
    /// or consumed value, which a closure cannot capture).
    @usableFromInline package func lock() { pthread_mutex_lock(mutex) }
    /// Releases the lock taken with ``lock()``.
    @usableFromInline package func unlock() { pthread_mutex_unlock(mutex) }
}

/// An adaptive pthread mutex with no value: ``LockedValue`` of `Void`.
public typealias AdaptiveLock = LockedValue<Void>

extension LockedValue where Value == Void {
    /// Creates a lock.
    public convenience init() { self.init(()) }
}
