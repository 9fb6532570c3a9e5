/// The options of a UD ping-pong run, with `ibv_ud_pingpong`'s defaults and meaning
/// (libibverbs/examples/ud_pingpong.c, getopt string `"p:d:i:s:r:n:l:eg:c"`): exactly the shared
/// ones (``PingPongSessionConfiguration``), given as members of this type
/// (``PingPongToolConfiguration``): `role`, `port`, `ibPort`, `size`, `receiveDepth`,
/// `iterations`, `serviceLevel` (of the address handle), `useEvents`, `gidIndex`,
/// `validateBuffer`, `packetSequenceNumber`, `exchangeTimeout`, `completionTimeout`, `isClient`.
///
/// The default `size` is 1024: ud_pingpong's `size = 1024` since rdma-core 7ffa09b9c, though its
/// usage text still says 2048. A message must fit the port's active MTU.
public struct UDPingPongConfiguration: PingPongToolConfiguration, Hashable, Sendable {
    /// Which side of the exchange this process is.
    public typealias Role = PingPongRole

    /// The options (both tools have them all).
    public var session: PingPongSessionConfiguration

    /// A configuration with ud_pingpong's defaults for `role` (messages of 1024 bytes).
    public init(role: Role) {
        session = PingPongSessionConfiguration(role: role, size: 1024)
    }
}
