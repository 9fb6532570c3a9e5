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
    ///     then the report's ``RCPingPongReport/lines``), warnings, and the server's
    ///     ``PingPongEvent/listening(port:)`` before it waits for a client.
    /// - Throws: ``PingPongError`` with rc_pingpong's message for the step that failed. The QP and
    ///   MR are released on every path.
    public func run(on device: Device, events: (PingPongEvent) -> Void = { _ in }) throws(PingPongError) -> RCPingPongReport {
        let config = configuration
        let context = try PingPongContext(device: device, configuration: config) { events(.standardError($0)) }
        defer { context.close() }

        let receivesOutstanding = context.postReceives(context.receiveDepth)
        guard receivesOutstanding >= context.receiveDepth else {
            throw PingPongError(.postReceiveFailed, "Couldn't post receive (\(receivesOutstanding))")
        }
        if config.useEvents { context.completionQueue.requestNotification() }

        var gid = GID.zero
        if config.gidIndex >= 0 {
            // The device's GID table has one entry, the port's address.
            guard config.gidIndex < device.port.gidTableLength else {
                throw PingPongError(.addressQueryFailed, "can't read sgid of index \(config.gidIndex)")
            }
            gid = device.gid
        }
        let psn = config.packetSequenceNumber ?? PacketSequenceNumber(rawValue: UInt32.random(in: 0...PacketSequenceNumber.mask))
        // RoCE ports have no LID: rc_pingpong sends portinfo.lid, which is 0 there.
        let local = PingPongDestination(lid: 0, queuePairNumber: context.queuePair.number, packetSequenceNumber: psn, gid: gid)
        events(.standardOutput("  local address:  " + Self.addressText(local)))

        let remote: PingPongDestination
        switch config.role {
        case .client(let serverName):
            remote = try PingPongExchange.client(serverName: serverName, port: config.port, local: local, timeout: config.exchangeTimeout)
        case .server:
            let listener: TCPListener
            do {
                listener = try TCPListener(port: config.port)
            } catch {
                throw PingPongError(.listenFailed, "Couldn't listen to port \(config.port)", detail: error.description)
            }
            events(.listening(port: listener.port))
            remote = try PingPongExchange.server(listener: listener, local: local, timeout: config.exchangeTimeout) {
                (remote: PingPongDestination) throws(PingPongError) in
                try context.connect(to: remote, localPSN: psn, configuration: config)
            }
        }
        events(.standardOutput("  remote address: " + Self.addressText(remote)))
        if config.isClient {
            try context.connect(to: remote, localPSN: psn, configuration: config)
        }

        var pending = PingPongContext.receiveWorkRequestID
        if config.isClient {
            if config.validateBuffer { context.writeValidationPattern() }
            try context.postSend()
            pending |= PingPongContext.sendWorkRequestID
        }

        var loop = PingPongLoop(context: context, configuration: config, receivesOutstanding: receivesOutstanding, pending: pending)
        let start = ContinuousClock.now
        try loop.run()
        let elapsed = ContinuousClock.now - start

        let invalidPages = !config.isClient && config.validateBuffer ? context.invalidPages() : nil
        let (seconds, attoseconds) = elapsed.components
        let report = RCPingPongReport(
            local: local, remote: remote, size: config.size, iterations: config.iterations, sendCompletions: loop.sendCount,
            receiveCompletions: loop.receiveCount, completionEvents: loop.eventCount,
            elapsedMicroseconds: seconds * 1_000_000 + attoseconds / 1_000_000_000_000, invalidPages: invalidPages)
        for line in report.lines { events(.standardOutput(line)) }
        return report
    }

    /// `"LID 0x%04x, QPN 0x%06x, PSN 0x%06x, GID %s"` with the GID as `inet_ntop(AF_INET6)`
    /// writes it: the part after `"  local address:  "` / `"  remote address: "`.
    public static func addressText(_ destination: PingPongDestination) -> String {
        "LID 0x\(PingPongDestination.hex(UInt32(destination.lid), width: 4)), "
            + "QPN 0x\(PingPongDestination.hex(destination.queuePairNumber.rawValue, width: 6)), "
            + "PSN 0x\(PingPongDestination.hex(destination.packetSequenceNumber.rawValue, width: 6)), "
            + "GID \(destination.gid.presentationAddress)"
    }
}
