import SoftRoCE

/// Blocks the calling thread until a completion queue's next event: `ibv_get_cq_event` on a
/// blocking completion channel (``CompletionQueue/waitForEvent(timeout:)``).
struct CompletionEventWaiter {
    let completionQueue: CompletionQueue

    /// Waits for one event.
    /// - Parameter timeout: the longest wait (nil: none).
    /// - Throws: ``PingPongError`` `.timedOut`, or `.completionQueueFailed` when the queue
    ///   overflowed or closed ("Failed to get cq_event").
    func wait(timeout: Duration?) throws(PingPongError) {
        do {
            try completionQueue.waitForEvent(timeout: timeout)
        } catch VerbsError.Code.timedOut {
            throw PingPongError(.timedOut, "Failed to get cq_event", detail: "no completion event within \(timeout.map { "\($0)" } ?? "")")
        } catch {
            throw PingPongError(.completionQueueFailed, "Failed to get cq_event", detail: "\(error)")
        }
    }
}
