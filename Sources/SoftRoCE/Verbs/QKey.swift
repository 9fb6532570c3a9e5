/// A queue key (Q_Key): the 32-bit key a UD receiver checks against the DETH of every datagram.
/// Corresponds to `ibv_qp_attr.qkey` and `ibv_send_wr.wr.ud.remote_qkey`.
public struct QKey: RawRepresentable, Hashable, Sendable, ExpressibleByIntegerLiteral, CustomStringConvertible {
    /// The key's 32-bit value.
    public let rawValue: UInt32

    /// Creates a Q_Key from its 32-bit value.
    public init(rawValue: UInt32) {
        self.rawValue = rawValue
    }

    /// Creates a Q_Key from a literal.
    public init(integerLiteral value: UInt32) {
        self.rawValue = value
    }

    /// A controlled Q_Key has its high-order bit set; IBTA reserves these for privileged consumers and a
    /// send work request cannot use one (the QP's own Q_Key is sent instead).
    public var isControlled: Bool { rawValue & 0x8000_0000 != 0 }

    /// The key in hex, e.g. `0x11111111`.
    public var description: String {
        let hex = String(rawValue, radix: 16)
        return "0x" + String(repeating: "0", count: 8 - hex.count) + hex
    }
}
