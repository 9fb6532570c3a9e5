/// A queue pair's state. Raw values are libibverbs' `enum ibv_qp_state`.
/// ``QueuePairStateMachine`` decides which transitions `ibv_modify_qp` accepts.
/// Corresponds to `ibv_qp_state`.
public enum QueuePairState: UInt8, Hashable, Sendable, CaseIterable, CustomStringConvertible {
    /// Just created or reset: no work requests accepted, queues empty. Corresponds to `IBV_QPS_RESET` (0).
    case reset = 0
    /// Initialized: receives may be posted but are not processed. Corresponds to `IBV_QPS_INIT` (1).
    case initialized = 1
    /// Ready to receive: incoming packets are processed. Corresponds to `IBV_QPS_RTR` (2).
    case readyToReceive = 2
    /// Ready to send: fully operational. Corresponds to `IBV_QPS_RTS` (3).
    case readyToSend = 3
    /// Send queue drained: new sends are held, outstanding ones finish. Corresponds to `IBV_QPS_SQD` (4).
    case sendQueueDrained = 4
    /// Send queue error (UD): a send failed; receives still work. Corresponds to `IBV_QPS_SQE` (5).
    case sendQueueError = 5
    /// Error: all outstanding and new work requests complete with `IBV_WC_WR_FLUSH_ERR`.
    /// Corresponds to `IBV_QPS_ERR` (6).
    case error = 6

    /// The verbs abbreviation: `RESET`, `INIT`, `RTR`, `RTS`, `SQD`, `SQE`, `ERR`.
    public var description: String {
        switch self {
        case .reset: "RESET"
        case .initialized: "INIT"
        case .readyToReceive: "RTR"
        case .readyToSend: "RTS"
        case .sendQueueDrained: "SQD"
        case .sendQueueError: "SQE"
        case .error: "ERR"
        }
    }
}
