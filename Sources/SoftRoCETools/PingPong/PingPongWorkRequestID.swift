/// The work request IDs of the pingpong tools (rdma-core's anonymous enum in rc_pingpong.c and
/// ud_pingpong.c). They are bits: the loop's `pending` mask holds the ones the next SEND waits for.
enum PingPongWorkRequestID {
    /// `PINGPONG_RECV_WRID`.
    static let receive: UInt64 = 1
    /// `PINGPONG_SEND_WRID`.
    static let send: UInt64 = 2
}
