import SoftRoCE

/// The options both pingpong tools have, as ``PingPongSession`` reads them from
/// ``RCPingPongConfiguration`` and ``UDPingPongConfiguration``.
protocol PingPongSessionConfiguration {
    /// Server or client.
    var role: PingPongRole { get }
    /// The TCP port of the address exchange (`-p`; 0 on a server lets the kernel choose).
    var port: Int { get }
    /// The message size in bytes (`-s`).
    var size: Int { get }
    /// Exchanges (`-n`).
    var iterations: Int { get }
    /// Sleep on completion events instead of busy polling (`-e`).
    var useEvents: Bool { get }
    /// The local GID index (`-g`); negative sends a zero GID.
    var gidIndex: Int { get }
    /// Validate the received buffer (`-c`).
    var validateBuffer: Bool { get }
    /// The first PSN to send; nil draws a random 24-bit one (`lrand48() & 0xffffff`).
    var packetSequenceNumber: PacketSequenceNumber? { get }
    /// The time limit for each step of the TCP exchange; nil waits as long as it takes.
    var exchangeTimeout: Duration? { get }
    /// The longest wait for a completion during the loop; nil waits as long as it takes.
    var completionTimeout: Duration? { get }
}
