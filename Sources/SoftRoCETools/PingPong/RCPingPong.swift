public import SoftRoCE

/// `ibv_rc_pingpong` on a SoftRoCE device: an RC queue pair sends `size`-byte SENDs back and
/// forth with a peer `iterations` times, after exchanging addresses over TCP. Either side may be
/// rdma-core's tool (libibverbs/examples/rc_pingpong.c): the same exchange, QP attributes, work
/// requests and output.
///
/// The run follows rc_pingpong's `main`: set up the context (`pp_init_ctx`), post `rx_depth`
/// receives, arm the CQ (`-e`), print the local address, exchange addresses (the server
/// connects its QP during the exchange, the client after it), print the remote address; the
/// client writes its `-c` pattern and posts the first SEND; then both poll (or sleep on events)
/// until `iters` SENDs and `iters` receives completed, re-posting receives when at most one is
/// left and posting the next SEND once the previous SEND and a receive both completed. Busy
/// polling yields the CPU between empty polls (rc_pingpong spins): the device's own threads
/// need it on a busy host.
public struct RCPingPong: Sendable {
    /// The run's options.
    public var configuration: RCPingPongConfiguration

    /// A run with these options.
    public init(_ configuration: RCPingPongConfiguration) {
        self.configuration = configuration
    }

    /// Runs one ping-pong on `device` (opened by the caller, who also closes it) and returns its
    /// report. Blocks the calling thread (it polls, or sleeps on completion events with `-e`),
    /// so call it from a thread of its own rather than from a Swift concurrency task.
    ///
    /// - Parameters:
    ///   - device: the device to run on.
    ///   - events: receives, in order, the lines to print (the local and remote address lines,
    ///     then the report's ``PingPongReport/lines``), warnings, and the server's
    ///     ``PingPongEvent/listening(port:)`` before it waits for a client.
    /// - Throws: ``PingPongError`` with rc_pingpong's message for the step that failed. The QP and
    ///   MR are released on every path.
    public func run(on device: Device, events: (PingPongEvent) -> Void = { _ in }) throws(PingPongError) -> PingPongReport {
        let context = try RCPingPongContext(device: device, configuration: configuration) { events(.standardError($0)) }
        defer { context.close() }
        return try PingPongSession.run(
            context, device: device, configuration: configuration.session,
            gidQueryFailure: "can't read sgid of index \(configuration.gidIndex)", localAddressText: \.addressText,
            reportsParseFailure: true, events: events)
    }

    /// `"LID 0x%04x, QPN 0x%06x, PSN 0x%06x, GID %s"` with the GID as `inet_ntop(AF_INET6)`
    /// writes it: the part after `"  local address:  "` / `"  remote address: "`.
    public static func addressText(_ destination: PingPongDestination) -> String { destination.addressText }
}
