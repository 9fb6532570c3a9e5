/// A work request for a queue pair's receive queue: buffers for one incoming SEND (or the completion of
/// one RDMA WRITE with immediate). Corresponds to `ibv_recv_wr`.
public struct ReceiveWorkRequest: Hashable, Sendable {
    /// Caller's identifier, returned in the work completion. Corresponds to `wr_id`.
    public var id: UInt64
    /// The buffers the incoming message is scattered into, in order. On UD the first 40 bytes receive the
    /// GRH. Corresponds to `sg_list`.
    public var scatterGatherList: [ScatterGatherElement]

    /// Creates a receive work request.
    /// - Parameters:
    ///   - id: returned in the work completion.
    ///   - scatterGatherList: the buffers to receive into.
    public init(id: UInt64, scatterGatherList: [ScatterGatherElement]) {
        self.id = id
        self.scatterGatherList = scatterGatherList
    }

    /// The room for the message in bytes: the sum of the scatter/gather lengths.
    public var totalLength: UInt64 { scatterGatherList.totalLength }

    /// Applies `ibv_post_recv`'s checks (rxe's `post_one_recv`): the scatter/gather count and the
    /// 2³¹-byte message limit.
    /// - Parameter capabilities: the queue pair's `max_recv_sge`.
    /// - Throws: ``VerbsError`` with ``VerbsError/Code/tooManyScatterGatherElements`` or
    ///   ``VerbsError/Code/messageTooLong``.
    public func validate(capabilities: QueuePairCapabilities) throws(VerbsError) {
        guard scatterGatherList.count <= capabilities.maxReceiveSGE else {
            throw VerbsError(
                .tooManyScatterGatherElements,
                "\(scatterGatherList.count) scatter/gather elements, max_recv_sge is \(capabilities.maxReceiveSGE)"
            )
        }
        guard totalLength <= SendWorkRequest.maximumMessageLength else {
            throw VerbsError(.messageTooLong, "\(totalLength) bytes exceed the 2^31-byte message limit")
        }
    }
}
