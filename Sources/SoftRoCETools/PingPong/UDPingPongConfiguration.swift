public import SoftRoCE

/// The options of a UD ping-pong run, with `ibv_ud_pingpong`'s defaults and meaning
/// (libibverbs/examples/ud_pingpong.c, getopt string `"p:d:i:s:r:n:l:eg:c"`).
public struct UDPingPongConfiguration: Hashable, Sendable {
    /// Which side of the exchange this process is.
    public typealias Role = PingPongRole

    /// Server or client.
    public var role: Role
    /// The TCP port of the address exchange (`-p`, default 18515); 0 on a server lets the kernel
    /// choose one (reported as ``PingPongEvent/listening(port:)``).
    public var port: Int = 18515
    /// The device port (`-i`, default 1).
    public var ibPort: UInt8 = 1
    /// The message size in bytes (`-s`, default 1024: ud_pingpong's `size = 1024` since rdma-core
    /// 7ffa09b9c, though its usage text still says 2048). It must fit the port's active MTU.
    public var size: Int = 1024
    /// Receives kept posted (`-r`, default 500).
    public var receiveDepth: Int = 500
    /// Exchanges (`-n`, default 1000).
    public var iterations: Int = 1000
    /// The service level of the address handle (`-l`, default 0).
    public var serviceLevel: UInt8 = 0
    /// Sleep on completion events instead of busy polling (`-e`).
    public var useEvents: Bool = false
    /// The local GID index (`-g`); negative (the default) sends a zero GID, and the peer then
    /// builds an address handle without a GRH, which RoCE cannot route: run both sides with `-g 0`.
    public var gidIndex: Int = -1
    /// Validate the received buffer (`-c`): the client writes a known byte at the start of every
    /// page of its message before its first SEND, the server checks it after the run.
    public var validateBuffer: Bool = false
    /// The first PSN to send; nil (the default) draws a random 24-bit one, as ud_pingpong's
    /// `lrand48() & 0xffffff`.
    public var packetSequenceNumber: PacketSequenceNumber?
    /// The time limit for each step of the TCP exchange (connect, accept, each read); nil (the
    /// default, as ud_pingpong) waits as long as it takes.
    public var exchangeTimeout: Duration?
    /// The longest wait for a completion during the ping-pong loop; nil (the default, as
    /// ud_pingpong) waits as long as it takes. A lost datagram is not resent (UD is unreliable),
    /// so without a limit a run whose datagram was dropped waits for ever, as ud_pingpong does.
    public var completionTimeout: Duration?

    /// A configuration with ud_pingpong's defaults for `role`.
    public init(role: Role) {
        self.role = role
    }

    /// Whether this side connects to a server.
    public var isClient: Bool { role.isClient }
}

extension UDPingPongConfiguration: PingPongSessionConfiguration {}
