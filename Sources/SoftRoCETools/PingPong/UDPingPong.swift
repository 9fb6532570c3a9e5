public import SoftRoCE

/// `ibv_ud_pingpong` on a SoftRoCE device: a UD queue pair sends `size`-byte datagrams back and
/// forth with a peer `iterations` times, after exchanging addresses over TCP. Either side may be
/// rdma-core's tool (libibverbs/examples/ud_pingpong.c): the same exchange, QP attributes (Q_Key
/// 0x11111111), address handle, work requests and output.
///
/// The run follows ud_pingpong's `main`, which is rc_pingpong's but for the context: set up a UD
/// QP whose receives take `size + 40` bytes (the GRH first) and whose SENDs go from `buf + 40`
/// (`pp_init_ctx`), then the shared run (post receives, exchange addresses, connect: RTR, RTS and
/// an address handle to the peer; the same loop and report). A message must fit the port's
/// active MTU. UD is unreliable: a datagram lost on the network is not resent, and the run then
/// waits for ever as ud_pingpong does, unless ``PingPongSessionConfiguration/completionTimeout`` is
/// set.
public struct UDPingPong: Sendable {
    /// The run's options.
    public var configuration: UDPingPongConfiguration

    /// A run with these options.
    public init(_ configuration: UDPingPongConfiguration) {
        self.configuration = configuration
    }

    /// Runs one ping-pong on `device` (opened by the caller, who also closes it) and returns its
    /// report. Blocks the calling thread (it polls, or sleeps on completion events with `-e`),
    /// so call it from a thread of its own rather than from a Swift concurrency task.
    ///
    /// - Parameters:
    ///   - device: the device to run on.
    ///   - events: receives, in order, the lines to print (``localAddressText(_:)`` and
    ///     ``remoteAddressText(_:)`` after their prefixes, then the report's
    ///     ``PingPongReport/lines``) and the server's ``PingPongEvent/listening(port:)`` before it
    ///     waits for a client.
    /// - Throws: ``PingPongError`` with ud_pingpong's message for the step that failed
    ///   ("Requested size larger than port MTU (%d)" for a message beyond the MTU). The QP and MR
    ///   are released on every path.
    public func run(on device: Device, events: (PingPongEvent) -> Void = { _ in }) throws(PingPongError) -> PingPongReport {
        let context = try UDPingPongContext(device: device, configuration: configuration)
        defer { context.close() }
        return try PingPongSession.run(
            context, device: device, configuration: configuration.session,
            gidQueryFailure: "Could not get local gid for gid index \(configuration.gidIndex)",
            localAddressText: Self.localAddressText, reportsParseFailure: false, events: events)
    }

    /// ud_pingpong's local address line after `"  local address:  "`:
    /// `"LID 0x%04x, QPN 0x%06x, PSN 0x%06x: GID %s"` (a colon before the GID, where the remote
    /// line and rc_pingpong have a comma).
    public static func localAddressText(_ destination: PingPongDestination) -> String {
        destination.addressText(beforeGID: ": ")
    }

    /// ud_pingpong's remote address line after `"  remote address: "`:
    /// `"LID 0x%04x, QPN 0x%06x, PSN 0x%06x, GID %s"`.
    public static func remoteAddressText(_ destination: PingPongDestination) -> String { destination.addressText }
}
