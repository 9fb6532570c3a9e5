import Foundation
import SoftRoCE
import SoftRoCETools
import Testing

/// The lines ud_pingpong's printf statements print for `report`, built here with printf-style
/// formatting and its `float usec` arithmetic, independently of ``PingPongReport``.
private func expectedLines(_ report: PingPongReport) -> [String] {
    func address(_ destination: PingPongDestination, _ separator: String) -> String {
        String(
            format: "LID 0x%04x, QPN 0x%06x, PSN 0x%06x%@GID %@", UInt32(destination.lid), destination.queuePairNumber.rawValue,
            destination.packetSequenceNumber.rawValue, separator, destination.gid.presentationAddress)
    }
    let usec = Float(report.elapsedMicroseconds)
    let bytes = Int64(report.size) * Int64(report.iterations) * 2
    return [
        "  local address:  " + address(report.local, ": "),
        "  remote address: " + address(report.remote, ", "),
        String(format: "%lld bytes in %.2f seconds = %.2f Mbit/sec", bytes, Double(usec) / 1_000_000, Double(bytes) * 8 / Double(usec)),
        String(format: "%d iters in %.2f seconds = %.2f usec/iter", Int32(report.iterations), Double(usec) / 1_000_000, Double(usec / Float(report.iterations))),
    ] + (report.invalidPages ?? []).map { "invalid data in page \($0)" }
}

@Suite("ud_pingpong address lines")
struct UDPingPongAddressTests {
    @Test("the local line has ud_pingpong's \": GID\", the remote line \", GID\"")
    func addressText() {
        let address = PingPongDestination(queuePairNumber: 0x11, packetSequenceNumber: 0x0A0B0C, gid: GID(ipv4: 0x0A00_0002))
        #expect(UDPingPong.localAddressText(address) == "LID 0x0000, QPN 0x000011, PSN 0x0a0b0c: GID ::ffff:10.0.0.2")
        #expect(UDPingPong.remoteAddressText(address) == "LID 0x0000, QPN 0x000011, PSN 0x0a0b0c, GID ::ffff:10.0.0.2")
        #expect(UDPingPong.remoteAddressText(address) == RCPingPong.addressText(address))
    }

    @Test("ud_pingpong's defaults: port 18515, 1024-byte messages, rx depth 500, 1000 iterations, no GID")
    func defaults() {
        let configuration = UDPingPongConfiguration(role: .server)
        #expect(configuration.port == 18515)
        #expect(configuration.ibPort == 1)
        #expect(configuration.size == 1024)
        #expect(configuration.receiveDepth == 500)
        #expect(configuration.iterations == 1000)
        #expect(configuration.serviceLevel == 0)
        #expect(configuration.gidIndex == -1)
        #expect(!configuration.useEvents && !configuration.validateBuffer && !configuration.isClient)
    }
}

/// One UD ping-pong variant: message size, port MTU and completion mode.
struct UDPingPongVariant: Sendable, CustomTestStringConvertible {
    var size: Int
    var mtu: PathMTU = .mtu4096
    var events = false
    var testDescription: String { "-s \(size) (MTU \(mtu.bytes))\(events ? " -e" : "")" }
}

@Suite("ud_pingpong end to end", .timeLimit(.minutes(3)))
struct UDPingPongTests {
    static let iterations = 200

    @Test(
        "server and client ping-pong datagrams over a real TCP exchange; -c validates the message after the GRH",
        arguments: [
            UDPingPongVariant(size: 4096), UDPingPongVariant(size: 4096, events: true),
            UDPingPongVariant(size: 1024, mtu: .mtu1024), UDPingPongVariant(size: 1, mtu: .mtu1024, events: true),
        ])
    func pingPong(variant: UDPingPongVariant) async throws {
        let devices = DevicePair(activeMTU: variant.mtu)
        defer { devices.close() }
        var server = UDPingPongConfiguration.test(.server)
        server.size = variant.size
        server.iterations = Self.iterations
        server.validateBuffer = true
        server.useEvents = variant.events

        let runs = runPair(server, on: devices)
        let clientOutcome = try await runs.client.asyncValue
        let serverOutcome = try await runs.server.asyncValue

        for outcome in [serverOutcome, clientOutcome] {
            let report = outcome.report
            #expect(report.iterations == Self.iterations)
            #expect(report.size == variant.size)
            #expect(report.sendCompletions == Self.iterations)
            #expect(report.receiveCompletions == Self.iterations)
            #expect(report.bytes == Int64(variant.size * Self.iterations * 2))
            #expect(report.elapsedMicroseconds > 0)
            #expect(outcome.lines == expectedLines(report))
            #expect(outcome.lines == [
                "  local address:  " + UDPingPong.localAddressText(report.local),
                "  remote address: " + UDPingPong.remoteAddressText(report.remote),
            ] + report.lines)
            #expect(outcome.lines[2].hasPrefix("\(variant.size * Self.iterations * 2) bytes in "))
            #expect(outcome.lines[3].hasPrefix("\(Self.iterations) iters in "))
            #expect(report.completionEvents > 0 || !variant.events)
            #expect(report.completionEvents == 0 || variant.events)
        }
        #expect(serverOutcome.report.isValidated == true, "the message landed after the 40 GRH bytes, pattern intact")
        #expect(serverOutcome.report.invalidPages == [])
        #expect(clientOutcome.report.invalidPages == nil, "ud_pingpong validates on the server only")
        #expect(clientOutcome.report.remote == serverOutcome.report.local)
        #expect(serverOutcome.report.remote == clientOutcome.report.local)
        #expect(serverOutcome.report.local.gid == devices.server.gid)
        #expect(clientOutcome.report.local.gid == devices.client.gid)
        #expect(serverOutcome.lines[0].hasPrefix("  local address:  LID 0x0000, QPN 0x"))
        #expect(serverOutcome.lines[0].contains(": GID ::ffff:"))
    }

    @Test("a server with -c reports the message's page the client did not write (client without -c)")
    func validationFindsUnwrittenPage() async throws {
        let devices = DevicePair()
        defer { devices.close() }
        var server = UDPingPongConfiguration.test(.server)
        server.size = 4096
        server.iterations = 20
        server.validateBuffer = true

        let runs = runPair(server, on: devices) { $0.validateBuffer = false }
        _ = try await runs.client.asyncValue
        let outcome = try await runs.server.asyncValue
        #expect(outcome.report.invalidPages == [0], "the message still starts with the client's 0x7b fill")
        #expect(outcome.lines.last == "invalid data in page 0")
        #expect(outcome.lines == expectedLines(outcome.report))
    }

    @Test(
        "a message beyond the port's MTU: \"Requested size larger than port MTU (%d)\", before any exchange",
        arguments: [(PathMTU.mtu1024, 1025), (.mtu1024, 2048), (.mtu4096, 4097), (.mtu256, 1024)])
    func sizeBeyondMTU(mtu: PathMTU, size: Int) {
        let device = Device(link: InProcessFabric(), activeMTU: mtu)
        defer { device.close() }
        var configuration = UDPingPongConfiguration.test(.server)
        configuration.size = size
        var listened = false
        let error = pingPongError {
            _ = try UDPingPong(configuration).run(on: device) { event in
                if case .listening = event { listened = true }
            }
        }
        #expect(error?.code == .setupFailed)
        #expect(error?.message == "Requested size larger than port MTU (\(mtu.bytes))")
        #expect(!listened)
    }

    @Test("a port the device does not have: \"Unable to query port info for port 2\"")
    func missingPort() {
        var configuration = UDPingPongConfiguration.test(.server)
        configuration.ibPort = 2
        expectRunError(configuration, code: .setupFailed, message: "Unable to query port info for port 2")
    }

    @Test("a GID index the device does not have: \"Could not get local gid for gid index 1\"")
    func missingGIDIndex() {
        var configuration = UDPingPongConfiguration.test(.client(serverName: "127.0.0.1"))
        configuration.gidIndex = 1
        expectRunError(configuration, code: .addressQueryFailed, message: "Could not get local gid for gid index 1")
    }

    @Test("without -g no address handle can carry RoCE's GRH: the server fails to create it, the client's exchange fails")
    func noGID() async throws {
        let devices = DevicePair()
        defer { devices.close() }
        var server = UDPingPongConfiguration.test(.server)
        server.gidIndex = -1
        let runs = runPair(server, on: devices)
        let clientError = await awaitPingPongError { _ = try await runs.client.asyncValue }
        let serverError = await awaitPingPongError { _ = try await runs.server.asyncValue }
        #expect(serverError?.code == .connectQueuePairFailed)
        #expect(serverError?.message == "Failed to create AH\nCouldn't connect to remote QP")
        #expect(clientError?.code == .exchangeFailed)
        #expect(clientError?.message == "Couldn't read/write remote address")
    }

    @Test("garbage from the server is a typed error after the exchange (the client still writes \"done\")")
    func garbageFromServer() async throws {
        let device = Device(link: InProcessFabric())
        defer { device.close() }
        let listener = try TCPListener(port: 0)
        var configuration = UDPingPongConfiguration.test(.client(serverName: "127.0.0.1"))
        configuration.port = Int(listener.port)
        let peer = fakeServer(listener, reply: Array("this is not an ud_pingpong address message at all!!".utf8) + [0])
        let error = await awaitThreadRunError(configuration, on: device)
        #expect(error?.code == .malformedMessage)
        #expect(error?.message == "Couldn't parse remote address")
        let (message, done) = try await peer.asyncValue
        #expect(message.count == 52)
        let sent = try PingPongDestination(message: message)
        #expect(sent.gid == device.gid)
        #expect(done == PingPongExchange.doneMessage)
    }

    @Test("a server facing a client that sends garbage or a short message", arguments: ["garbage", "short"])
    func badClient(behaviour: String) async throws {
        let device = Device(link: InProcessFabric())
        defer { device.close() }
        let port = PortSignal()
        let server = startServer(UDPingPongConfiguration.test(.server), on: device, port: port)
        let client = ThreadRun { () -> TCPConnection in
            let listening = try #require(port.wait(), "the server never listened")
            let connection = try TCPConnection.connect(host: "127.0.0.1", port: Int(listening), timeout: .seconds(5))
            if behaviour == "garbage" {
                try connection.send((0..<52).map { UInt8(truncatingIfNeeded: $0 &* 37) })
            } else {
                try connection.send(Array("0000:000011".utf8))
                connection.close()
            }
            return connection
        }
        let error = await awaitPingPongError { _ = try await server.asyncValue }
        try await client.asyncValue.close()
        if behaviour == "garbage" {
            #expect(error?.code == .malformedMessage)
        } else {
            #expect(error?.code == .exchangeFailed)
            #expect(error?.message == "11/52: Couldn't read remote address")
        }
    }

    @Test("a peer whose QP never answers: the datagram is lost (UD does not resend); the loop times out, no hang")
    func silentPeer() async throws {
        let devices = DevicePair()
        defer { devices.close() }
        let device = devices.server
        let listener = try TCPListener(port: 0)
        var configuration = UDPingPongConfiguration.test(.client(serverName: "127.0.0.1"))
        configuration.port = Int(listener.port)
        configuration.completionTimeout = .milliseconds(500)
        // A well-formed server address for a GID and QP that exist nowhere on the fabric.
        let absent = PingPongDestination(queuePairNumber: 0xABCDE, packetSequenceNumber: 1, gid: GID(ipv4: 0x0A63_6363))
        let peer = fakeServer(listener, reply: absent.message)
        let error = await awaitThreadRunError(configuration, on: device)
        #expect(error?.code == .timedOut)
        #expect(error?.message == "poll CQ failed -1")
        #expect(try await peer.asyncValue.done == PingPongExchange.doneMessage)
    }
}
