import SoftRoCE

/// The run both pingpong tools share once their context is set up: `main` of rdma-core's
/// rc_pingpong.c and ud_pingpong.c after `pp_init_ctx`.
///
/// Post `rx_depth` receives, arm the CQ (`-e`), build and print the local address (LID 0, the QP
/// number, a random PSN, the GID at `-g`), exchange addresses over TCP (the server connects its
/// QP during the exchange, the client after it), print the remote address; the client writes its
/// `-c` pattern and posts the first SEND; then the timed ``PingPongLoop``; then the report's lines,
/// with the server's `-c` check.
enum PingPongSession {
    /// Runs one ping-pong on `context` (which the caller set up and closes) and returns its report.
    /// - Parameters:
    ///   - context: the side's verbs objects.
    ///   - device: the device `context` lives on (its GID table gives the local GID).
    ///   - configuration: the run's options.
    ///   - gidQueryFailure: the tool's message when `-g` names an index the GID table lacks.
    ///   - localAddressText: the local address line after `"  local address:  "`.
    ///   - reportsParseFailure: whether loop failures end with rc_pingpong's "parse WC failed %d".
    ///   - events: receives the lines to print and the server's listening port, in order.
    /// - Throws: ``PingPongError`` with the tool's message for the step that failed.
    static func run<Context: PingPongEndpoint>(
        _ context: Context, device: Device, configuration: PingPongSessionConfiguration, gidQueryFailure: String,
        localAddressText: (PingPongDestination) -> String, reportsParseFailure: Bool, events: (PingPongEvent) -> Void
    ) throws(PingPongError) -> PingPongReport {
        let config = configuration
        let receivesOutstanding = context.postReceives(context.receiveDepth)
        guard receivesOutstanding >= context.receiveDepth else {
            throw PingPongError(.postReceiveFailed, "Couldn't post receive (\(receivesOutstanding))")
        }
        if config.useEvents { context.completionQueue.requestNotification() }

        var gid = GID.zero
        if config.gidIndex >= 0 {
            // The device's GID table has one entry, the port's address.
            guard config.gidIndex < device.port.gidTableLength else {
                throw PingPongError(.addressQueryFailed, gidQueryFailure)
            }
            gid = device.gid
        }
        let psn = config.packetSequenceNumber ?? PacketSequenceNumber(rawValue: UInt32.random(in: 0...PacketSequenceNumber.mask))
        // RoCE ports have no LID: the tools send portinfo.lid, which is 0 there.
        let local = PingPongDestination(lid: 0, queuePairNumber: context.queuePair.number, packetSequenceNumber: psn, gid: gid)
        events(.standardOutput("  local address:  " + localAddressText(local)))

        let remote = try PingPongExchange.exchange(
            role: config.role, port: config.port, local: local, timeout: config.exchangeTimeout,
            listening: { events(.listening(port: $0)) },
            connect: { (remote: PingPongDestination) throws(PingPongError) in try context.connect(to: remote, localPSN: psn) })
        events(.standardOutput("  remote address: " + remote.addressText))
        let isClient = config.role.isClient
        if isClient {
            try context.connect(to: remote, localPSN: psn)
        }

        var pending = PingPongWorkRequestID.receive
        if isClient {
            if config.validateBuffer { context.writeValidationPattern() }
            try context.postSend()
            pending |= PingPongWorkRequestID.send
        }

        var loop = PingPongLoop(
            context: context, iterations: config.iterations, useEvents: config.useEvents,
            completionTimeout: config.completionTimeout, reportsParseFailure: reportsParseFailure,
            receivesOutstanding: receivesOutstanding, pending: pending)
        let start = ContinuousClock.now
        try loop.run()
        let elapsed = ContinuousClock.now - start

        let invalidPages = !isClient && config.validateBuffer ? context.invalidPages() : nil
        let (seconds, attoseconds) = elapsed.components
        let report = PingPongReport(
            local: local, remote: remote, size: config.size, iterations: config.iterations, sendCompletions: loop.sendCount,
            receiveCompletions: loop.receiveCount, completionEvents: loop.eventCount,
            elapsedMicroseconds: seconds * 1_000_000 + attoseconds / 1_000_000_000_000, invalidPages: invalidPages)
        for line in report.lines { events(.standardOutput(line)) }
        return report
    }
}
