#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// A joinable POSIX thread: the receive loop of a ``UDPLink`` runs on a thread the link owns
/// (as the kernel's receive path runs in softirq context), not on a cooperative executor.
final class ReceiveThread: @unchecked Sendable {
    // @unchecked: `thread` is written once in init, read once by `join`.
    private var thread = pthread_t()

    private final class Job {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }

    /// Starts `body` on a new thread.
    init(_ body: @escaping @Sendable () -> Void) {
        let job = Unmanaged.passRetained(Job(body)).toOpaque()
        let rc = pthread_create(&thread, nil, { context in
            Unmanaged<Job>.fromOpaque(context!).takeRetainedValue().body()
            return nil
        }, job)
        precondition(rc == 0, "pthread_create failed for a UDP receive thread: \(rc)")
    }

    /// Waits for the thread's body to return.
    func join() { pthread_join(thread, nil) }
}
