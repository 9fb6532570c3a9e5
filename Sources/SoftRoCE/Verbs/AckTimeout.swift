/// The local ACK timeout of an RC queue pair, as the 5-bit code of IBTA: the requester retransmits
/// after 4.096 µs × 2^code without an ACK; code 0 means wait forever.
/// Corresponds to `ibv_qp_attr.timeout` (`IBV_QP_TIMEOUT`).
public struct AckTimeout: Hashable, Sendable, CustomStringConvertible {
    /// The 5-bit code, 0…31.
    public let code: UInt8

    /// Creates a timeout from its code; `nil` unless `code` is in 0…31.
    public init?(code: UInt8) {
        guard code <= 31 else { return nil }
        self.code = code
    }

    /// The timeout: 4096 ns × 2^code, or `nil` for code 0 (infinite).
    public var duration: Duration? {
        code == 0 ? nil : .nanoseconds(Int64(4096) << Int64(code))
    }

    /// The code, e.g. `"14"`.
    public var description: String { String(code) }
}
