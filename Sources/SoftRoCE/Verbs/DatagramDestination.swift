import SoftRoCEWire

/// Where a UD send goes: the path, the remote QP and the Q_Key to present to it.
/// Corresponds to `ibv_send_wr.wr.ud`.
public struct DatagramDestination: Hashable, Sendable {
    /// The path to the remote port. Corresponds to `wr.ud.ah`.
    public var addressHandle: AddressHandle
    /// The remote UD QP. Corresponds to `wr.ud.remote_qpn`.
    public var remoteQPNumber: QueuePairNumber
    /// The Q_Key carried in the DETH. If it is controlled (high bit set), the sending QP's own Q_Key is
    /// used instead, as IBTA requires. Corresponds to `wr.ud.remote_qkey`.
    public var remoteQKey: QKey

    /// Creates a UD destination.
    public init(addressHandle: AddressHandle, remoteQPNumber: QueuePairNumber, remoteQKey: QKey) {
        self.addressHandle = addressHandle
        self.remoteQPNumber = remoteQPNumber
        self.remoteQKey = remoteQKey
    }
}
