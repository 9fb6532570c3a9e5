#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// Threads a device or its link owns (the engine, the fault workqueue, a network link's receive
/// thread): POSIX threads, so the hot paths run on threads the device controls rather than on a
/// cooperative executor.
package enum DeviceThread {
    private final class Job {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }

    /// Starts a detached thread running `body`; `role` names it in the error if the system
    /// refuses (a thread the device cannot run without is a programmer-level invariant).
    package static func start(_ role: String, _ body: @escaping @Sendable () -> Void) {
        pthread_detach(create(role, body))
    }

    /// Starts a thread running `body`, to be joined once `body` has been asked to return.
    package static func spawn(_ role: String, _ body: @escaping @Sendable () -> Void) -> Joinable {
        Joinable(thread: create(role, body))
    }

    /// A thread started by ``spawn(_:_:)``.
    package struct Joinable: @unchecked Sendable {
        // @unchecked: a thread id, used once by `join`.
        fileprivate let thread: pthread_t

        /// Waits until the thread's body has returned (`pthread_join`).
        package func join() { pthread_join(thread, nil) }
    }

    private static func create(_ role: String, _ body: @escaping @Sendable () -> Void) -> pthread_t {
        let job = Unmanaged.passRetained(Job(body)).toOpaque()
        var thread = pthread_t()
        let rc = pthread_create(&thread, nil, { context in
            Unmanaged<Job>.fromOpaque(context!).takeRetainedValue().body()
            return nil
        }, job)
        precondition(rc == 0, "pthread_create failed for the \(role): \(rc)")
        return thread
    }
}
