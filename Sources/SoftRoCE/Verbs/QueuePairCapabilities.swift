/// The sizes a queue pair is created with: queue depths, scatter/gather list lengths and inline data.
/// Corresponds to `ibv_qp_cap`.
public struct QueuePairCapabilities: Hashable, Sendable {
    /// The most outstanding send work requests. Corresponds to `max_send_wr`.
    public var maxSendWR: Int
    /// The most outstanding receive work requests. Corresponds to `max_recv_wr`.
    public var maxReceiveWR: Int
    /// The most scatter/gather elements in one send work request. Corresponds to `max_send_sge`.
    public var maxSendSGE: Int
    /// The most scatter/gather elements in one receive work request. Corresponds to `max_recv_sge`.
    public var maxReceiveSGE: Int
    /// The most bytes a send work request may carry inline. Corresponds to `max_inline_data`.
    public var maxInlineData: Int

    /// Creates queue pair capabilities.
    /// - Parameters:
    ///   - maxSendWR: send queue depth in work requests.
    ///   - maxReceiveWR: receive queue depth in work requests.
    ///   - maxSendSGE: scatter/gather elements per send work request (default 1).
    ///   - maxReceiveSGE: scatter/gather elements per receive work request (default 1).
    ///   - maxInlineData: inline bytes per send work request (default 0).
    public init(
        maxSendWR: Int,
        maxReceiveWR: Int,
        maxSendSGE: Int = 1,
        maxReceiveSGE: Int = 1,
        maxInlineData: Int = 0
    ) {
        self.maxSendWR = maxSendWR
        self.maxReceiveWR = maxReceiveWR
        self.maxSendSGE = maxSendSGE
        self.maxReceiveSGE = maxReceiveSGE
        self.maxInlineData = maxInlineData
    }
}
