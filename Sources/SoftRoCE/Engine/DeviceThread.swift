#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// Threads a device owns (its engine, its fault workqueue): detached POSIX threads, so the hot
/// paths run on threads the device controls rather than on a cooperative executor.
enum DeviceThread {
    private final class Job {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }

    /// Starts a detached thread running `body`; `role` names it in the error if the system
    /// refuses (a thread the device cannot run without is a programmer-level invariant).
    static func start(_ role: String, _ body: @escaping @Sendable () -> Void) {
        let job = Unmanaged.passRetained(Job(body)).toOpaque()
        var thread = pthread_t()
        let rc = pthread_create(&thread, nil, { context in
            let job = Unmanaged<Job>.fromOpaque(context!).takeRetainedValue()
            job.body()
            return nil
        }, job)
        precondition(rc == 0, "pthread_create failed for the \(role): \(rc)")
        pthread_detach(thread)
    }
}
