/// The path to a remote port: where packets go and with which GRH (IP header) fields.
///
/// RoCE always carries a GRH, so this is `ibv_ah_attr` with `is_global = 1` and its `ibv_global_route`.
/// Used by `ibv_modify_qp` (`IBV_QP_AV`, RC) and by address handles (UD). Corresponds to `ibv_ah_attr`.
public struct AddressVector: Hashable, Sendable {
    /// The remote port's GID: the destination IP address. Corresponds to `grh.dgid`.
    public var destinationGID: GID
    /// Index of the local GID (source IP address) in the port's GID table. Corresponds to `grh.sgid_index`.
    public var sourceGIDIndex: UInt8
    /// IPv6 hop limit / IPv4 TTL. Corresponds to `grh.hop_limit`.
    public var hopLimit: UInt8
    /// IPv6 traffic class / IPv4 TOS (DSCP and ECN). Corresponds to `grh.traffic_class`.
    public var trafficClass: UInt8
    /// The 20-bit IPv6 flow label; RoCEv2 also derives the UDP source port from it when non-zero.
    /// Values above 0xFFFFF are rejected by ``QueuePairStateMachine``. Corresponds to `grh.flow_label`.
    public var flowLabel: UInt32
    /// Destination LID; meaningless on RoCE (kept for `ibv_ah_attr` parity, normally 0).
    /// Corresponds to `dlid`.
    public var destinationLID: UInt16
    /// Service level (0–15); on RoCE it maps to the VLAN priority. Corresponds to `sl`.
    public var serviceLevel: UInt8
    /// The local port the path leaves from (1-based). Corresponds to `port_num`.
    public var portNumber: UInt8

    /// Creates an address vector.
    /// - Parameters:
    ///   - destinationGID: the remote GID.
    ///   - sourceGIDIndex: the local GID table index (default 0).
    ///   - hopLimit: the hop limit (default 64, the IPv6 default rxe uses).
    ///   - trafficClass: the traffic class (default 0).
    ///   - flowLabel: the 20-bit flow label (default 0).
    ///   - destinationLID: the destination LID (default 0).
    ///   - serviceLevel: the service level (default 0).
    ///   - portNumber: the local port (default 1).
    public init(
        destinationGID: GID,
        sourceGIDIndex: UInt8 = 0,
        hopLimit: UInt8 = 64,
        trafficClass: UInt8 = 0,
        flowLabel: UInt32 = 0,
        destinationLID: UInt16 = 0,
        serviceLevel: UInt8 = 0,
        portNumber: UInt8 = 1
    ) {
        self.destinationGID = destinationGID
        self.sourceGIDIndex = sourceGIDIndex
        self.hopLimit = hopLimit
        self.trafficClass = trafficClass
        self.flowLabel = flowLabel
        self.destinationLID = destinationLID
        self.serviceLevel = serviceLevel
        self.portNumber = portNumber
    }

    /// The largest valid ``flowLabel`` (20 bits).
    public static let maximumFlowLabel: UInt32 = 0xF_FFFF
}
