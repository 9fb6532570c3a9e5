import SoftRoCE

/// One pingpong side's verbs objects as the shared run (``PingPongSession``) and loop
/// (``PingPongLoop``) use them: rdma-core's `struct pingpong_context` and the `pp_*` functions
/// that differ between rc_pingpong.c and ud_pingpong.c. ``RCPingPongContext`` and
/// ``UDPingPongContext`` conform.
protocol PingPongEndpoint: AnyObject {
    /// The queue pair (its number goes into the local address).
    var queuePair: QueuePair { get }
    /// The one completion queue of both work queues.
    var completionQueue: CompletionQueue { get }
    /// Receives kept posted (`rx_depth`).
    var receiveDepth: Int { get }

    /// `pp_post_recv`: posts up to `count` receives; returns how many were posted (it stops at the
    /// first that fails).
    func postReceives(_ count: Int) -> Int

    /// `pp_post_send`: posts one signaled SEND of the message to the peer.
    /// - Throws: ``PingPongError`` `.postSendFailed` ("Couldn't post send").
    func postSend() throws(PingPongError)

    /// `pp_connect_ctx`: makes the queue pair ready to exchange with `remote`, first sending
    /// `localPSN`.
    /// - Throws: ``PingPongError`` with the tool's message for the step that failed.
    func connect(to remote: PingPongDestination, localPSN: PacketSequenceNumber) throws(PingPongError)

    /// The client's `-c` step before its first SEND: writes the validation pattern into the
    /// message.
    func writeValidationPattern()

    /// The server's `-c` check after the run: the pages of the received message that do not hold
    /// the pattern.
    func invalidPages() -> [Int]

    /// `pp_close_ctx`: releases the queue pair and the memory region.
    func close()
}
