import SoftRoCE

/// The pingpong tools' timed loop (`while (rcnt < iters || scnt < iters)` in `main` of
/// rc_pingpong.c and ud_pingpong.c, with rc_pingpong's `parse_single_wc`): poll up to two
/// completions at a time (after waiting for and re-arming a completion event with `-e`), count
/// SEND and receive completions, re-post receives when at most one is left, and post the next
/// SEND once the previous SEND and a receive both completed (`pending`).
///
/// Busy polling yields the CPU after each empty poll: rc_pingpong spins, but here the device's
/// engine and link threads are threads of this host too, and a spinning peer on a busy host
/// would keep them off the CPU.
struct PingPongLoop<Endpoint: PingPongEndpoint> {
    let context: Endpoint
    let iterations: Int
    let useEvents: Bool
    let completionTimeout: Duration?
    /// Whether a failure while handling a completion ends with rc_pingpong's "parse WC failed %d"
    /// line (ud_pingpong handles completions inline and prints no such line).
    let reportsParseFailure: Bool
    /// Receives posted and not yet completed (`routs`).
    var receivesOutstanding: Int
    /// The work requests the next SEND waits for (`ctx->pending`, a mask of work request IDs).
    var pending: UInt64
    /// SEND completions (`scnt`).
    private(set) var sendCount = 0
    /// Receive completions (`rcnt`).
    private(set) var receiveCount = 0
    /// Completion events taken (`num_cq_events`).
    private(set) var eventCount = 0

    init(
        context: Endpoint, iterations: Int, useEvents: Bool, completionTimeout: Duration?, reportsParseFailure: Bool,
        receivesOutstanding: Int, pending: UInt64
    ) {
        self.reportsParseFailure = reportsParseFailure
        self.context = context
        self.iterations = iterations
        self.useEvents = useEvents
        self.completionTimeout = completionTimeout
        self.receivesOutstanding = receivesOutstanding
        self.pending = pending
    }

    /// Runs until `iterations` SENDs and receives completed.
    /// - Throws: ``PingPongError`` `.completionFailed`, `.postReceiveFailed`, `.postSendFailed`,
    ///   `.completionQueueFailed`, or `.timedOut` after ``completionTimeout`` without a completion.
    mutating func run() throws(PingPongError) {
        let queue = context.completionQueue
        let waiter = CompletionEventWaiter(completionQueue: queue)
        var completions: [WorkCompletion] = []
        completions.reserveCapacity(2)
        var lastProgress = ContinuousClock.now
        var idlePolls = 0
        while receiveCount < iterations || sendCount < iterations {
            if useEvents {
                try waiter.wait(timeout: completionTimeout)
                eventCount += 1
                queue.requestNotification()
            }
            var polled = 0
            repeat {
                polled = queue.poll(into: &completions, maxEntries: 2)
                if queue.isOverflowed {
                    throw PingPongError(.completionQueueFailed, "poll CQ failed -1", detail: "the completion queue overflowed")
                }
                if polled == 0 {
                    Syscalls.yield()
                    idlePolls += 1
                    if let limit = completionTimeout, idlePolls & 1023 == 0, ContinuousClock.now - lastProgress > limit {
                        throw PingPongError(.timedOut, "poll CQ failed -1", detail: "no completion within \(limit)")
                    }
                }
            } while !useEvents && polled < 1
            if polled > 0 { lastProgress = ContinuousClock.now }
            for completion in completions.prefix(polled) {
                try handle(completion, polled: polled)
            }
        }
    }

    /// One completion, as rc_pingpong's `parse_single_wc` (ud_pingpong's loop body does the same);
    /// with ``reportsParseFailure`` its errors end with "parse WC failed %d".
    private mutating func handle(_ completion: WorkCompletion, polled: Int) throws(PingPongError) {
        let parseFailed = reportsParseFailure ? "\nparse WC failed \(polled)" : ""
        let id = Int32(truncatingIfNeeded: completion.wrID)
        guard completion.status == .success else {
            throw PingPongError(
                .completionFailed, "Failed status \(completion.status) (\(completion.status.rawValue)) for wr_id \(id)\(parseFailed)")
        }
        switch completion.wrID {
        case PingPongWorkRequestID.send:
            sendCount += 1
        case PingPongWorkRequestID.receive:
            receivesOutstanding -= 1
            if receivesOutstanding <= 1 {
                receivesOutstanding += context.postReceives(context.receiveDepth - receivesOutstanding)
                if receivesOutstanding < context.receiveDepth {
                    throw PingPongError(.postReceiveFailed, "Couldn't post receive (\(receivesOutstanding))\(parseFailed)")
                }
            }
            receiveCount += 1
        default:
            throw PingPongError(.completionFailed, "Completion for unknown wr_id \(id)\(parseFailed)")
        }
        pending &= ~completion.wrID
        if sendCount < iterations && pending == 0 {
            do {
                try context.postSend()
            } catch {
                throw PingPongError(error.code, error.message + parseFailed, detail: error.detail)
            }
            pending = PingPongWorkRequestID.receive | PingPongWorkRequestID.send
        }
    }
}
