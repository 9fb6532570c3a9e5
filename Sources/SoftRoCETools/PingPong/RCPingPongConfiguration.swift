public import SoftRoCE

/// The options of an RC ping-pong run, with `ibv_rc_pingpong`'s defaults and meaning: the shared
/// ones (``PingPongSessionConfiguration``), given as members of this type
/// (``PingPongToolConfiguration``): `role`, `port`, `ibPort`, `size` (default 4096),
/// `receiveDepth`, `iterations`, `serviceLevel`, `useEvents`, `gidIndex`, `validateBuffer`,
/// `packetSequenceNumber`, `exchangeTimeout`, `completionTimeout`, `isClient`; and rc_pingpong's
/// own.
public struct RCPingPongConfiguration: PingPongToolConfiguration, Hashable, Sendable {
    /// Which side of the exchange this process is.
    public typealias Role = PingPongRole

    /// The options both tools have.
    public var session: PingPongSessionConfiguration
    /// The path MTU (`-m`, default 1024).
    public var mtu: PathMTU = .mtu1024
    /// The memory region: pinned, ODP over the buffer (`-o`), or implicit ODP (`-O`).
    public var onDemand: OnDemandMode = .none
    /// Prefetch the ODP region for writing before the run (`-P`, `ibv_advise_mr`).
    public var prefetch: Bool = false

    /// A configuration with rc_pingpong's defaults for `role` (messages of 4096 bytes).
    public init(role: Role) {
        session = PingPongSessionConfiguration(role: role, size: 4096)
    }
}
