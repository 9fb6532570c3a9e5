/// A queue pair's transport service. Raw values are libibverbs' `enum ibv_qp_type`.
/// Corresponds to `ibv_qp_type`.
public enum QueuePairType: UInt8, Hashable, Sendable, CaseIterable, CustomStringConvertible {
    /// Reliable connected: one remote QP, acknowledged and retried, SEND/RDMA/atomics.
    /// Corresponds to `IBV_QPT_RC` (2).
    case rc = 2
    /// Unreliable datagram: any remote UD QP per send, one-MTU SENDs only, no acknowledgements.
    /// Corresponds to `IBV_QPT_UD` (4).
    case ud = 4

    /// `"RC"` or `"UD"`.
    public var description: String {
        switch self {
        case .rc: "RC"
        case .ud: "UD"
        }
    }
}
