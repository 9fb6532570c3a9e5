public import SoftRoCE

/// The options both pingpong tools have, with their shared defaults and meaning: the part of
/// ``RCPingPongConfiguration`` and ``UDPingPongConfiguration`` that ``PingPongSession`` and the
/// contexts read. Both configurations hold one and give its fields as their own.
public struct PingPongSessionConfiguration: Hashable, Sendable {
    /// Server or client.
    public var role: PingPongRole
    /// The TCP port of the address exchange (`-p`, default 18515); 0 on a server lets the kernel
    /// choose one (reported as ``PingPongEvent/listening(port:)``).
    public var port: Int = 18515
    /// The device port (`-i`, default 1).
    public var ibPort: UInt8 = 1
    /// The message size in bytes (`-s`; the default is the tool's).
    public var size: Int
    /// Receives kept posted (`-r`, default 500).
    public var receiveDepth: Int = 500
    /// Exchanges (`-n`, default 1000).
    public var iterations: Int = 1000
    /// The service level (`-l`, default 0): of the RC path, or of the UD address handle.
    public var serviceLevel: UInt8 = 0
    /// Sleep on completion events instead of busy polling (`-e`).
    public var useEvents: Bool = false
    /// The local GID index (`-g`); negative (the default) sends a zero GID, and the peer then
    /// sets no GRH (RC) or builds an address handle without one (UD), which RoCE cannot route:
    /// run both sides with `-g 0`.
    public var gidIndex: Int = -1
    /// Validate the received buffer (`-c`): the client writes a known byte at the start of every
    /// page of its message before its first SEND, the server checks it after the run.
    public var validateBuffer: Bool = false
    /// The first PSN to send; nil (the default) draws a random 24-bit one, as the tools'
    /// `lrand48() & 0xffffff`.
    public var packetSequenceNumber: PacketSequenceNumber?
    /// The time limit for each step of the TCP exchange (connect, accept, each read); nil (the
    /// default, as the tools) waits as long as it takes.
    public var exchangeTimeout: Duration?
    /// The longest wait for a completion during the ping-pong loop; nil (the default, as the
    /// tools) waits as long as it takes. A lost UD datagram is not resent, so without a limit a
    /// UD run whose datagram was dropped waits for ever, as ud_pingpong does.
    public var completionTimeout: Duration?

    /// The shared defaults for `role`, with the tool's default message `size`.
    public init(role: PingPongRole, size: Int) {
        self.role = role
        self.size = size
    }

    /// Whether this side connects to a server.
    public var isClient: Bool { role.isClient }
}
