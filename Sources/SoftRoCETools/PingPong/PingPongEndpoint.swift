import SoftRoCE

/// One pingpong side's verbs objects as the shared run (``PingPongSession``) and loop
/// (``PingPongLoop``) use them: rdma-core's `struct pingpong_context` and the `pp_*` functions
/// that differ between rc_pingpong.c and ud_pingpong.c. ``RCPingPongContext`` and
/// ``UDPingPongContext`` conform; what both do alike (creating the CQ and QP, posting receives,
/// the `-c` pattern, closing) comes with the protocol.
protocol PingPongEndpoint: AnyObject {
    /// The queue pair (its number goes into the local address).
    var queuePair: QueuePair { get }
    /// The memory region over the buffer.
    var region: MemoryRegion { get }
    /// The receive that ``postReceives(_:)`` posts: the whole buffer.
    var receiveRequest: ReceiveWorkRequest { get }
    /// Where the `-c` pattern goes in the buffer.
    var validationPattern: PingPongValidationPattern { get }
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

extension PingPongEndpoint {
    /// `pp_init_ctx`'s CQ and QP: a CQ of `rx_depth + 1` entries for both queues, and a QP of
    /// `type` (`max_send_wr` 1, `max_recv_wr` rx_depth, one SGE each); `IBV_SEND_SIGNALED`, plus
    /// `IBV_SEND_INLINE` when the QP's inline limit holds a message of `size` bytes.
    /// - Throws: ``PingPongError`` `.setupFailed` ("Couldn't create CQ", "Couldn't create QP"),
    ///   after deregistering `region`.
    static func createQueues(
        device: Device, protectionDomain: ProtectionDomain, region: MemoryRegion, type: QueuePairType,
        receiveDepth: Int, size: Int
    ) throws(PingPongError) -> (completionQueue: CompletionQueue, queuePair: QueuePair, sendFlags: SendWorkRequest.Flags) {
        let completionQueue: CompletionQueue
        do {
            completionQueue = try device.createCompletionQueue(capacity: receiveDepth + 1)
        } catch {
            region.deregister()
            throw PingPongError(.setupFailed, "Couldn't create CQ", detail: "\(error)")
        }
        let queuePair: QueuePair
        do {
            queuePair = try device.createQueuePair(
                type: type, protectionDomain: protectionDomain, sendCompletionQueue: completionQueue,
                receiveCompletionQueue: completionQueue,
                capabilities: QueuePairCapabilities(maxSendWR: 1, maxReceiveWR: receiveDepth, maxSendSGE: 1, maxReceiveSGE: 1))
        } catch {
            region.deregister()
            throw PingPongError(.setupFailed, "Couldn't create QP", detail: "\(error)")
        }
        var flags: SendWorkRequest.Flags = .signaled
        if queuePair.capabilities.maxInlineData >= size { flags.insert(.inline) }
        return (completionQueue, queuePair, flags)
    }

    /// `pp_post_recv`: posts up to `count` of ``receiveRequest``; returns how many were posted (it
    /// stops at the first that fails).
    func postReceives(_ count: Int) -> Int {
        for posted in 0..<max(count, 0) {
            do { try queuePair.postReceive(receiveRequest) } catch { return posted }
        }
        return max(count, 0)
    }

    /// The client's `-c` step: writes ``validationPattern`` into the message.
    func writeValidationPattern() { validationPattern.write() }

    /// The server's `-c` check: the pages of the message whose first byte does not hold
    /// ``validationPattern`` ("invalid data in page %d").
    func invalidPages() -> [Int] { validationPattern.invalidPages() }

    /// `pp_close_ctx`: destroys the QP and deregisters the MR (the buffer goes with the context).
    func close() {
        queuePair.destroy()
        region.deregister()
    }
}
