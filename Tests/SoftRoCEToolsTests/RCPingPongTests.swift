import Dispatch
import Foundation
import Glibc
import SoftRoCE
import SoftRoCETools
import Synchronization
import Testing

@Suite("rc_pingpong exchange message")
struct RCPingPongMessageTests {
    @Test("encodes as rdma-core's \"%04x:%06x:%06x:%s\" with its NUL, sizeof the template")
    func encode() {
        let destination = PingPongDestination(
            lid: 0, queuePairNumber: 0x11, packetSequenceNumber: 0xABCDEF, gid: GID(ipv4: 0xC0A8_0101))
        #expect(PingPongDestination.messageSize == "0000:000000:000000:00000000000000000000000000000000".utf8.count + 1)
        #expect(destination.message == Array("0000:000011:abcdef:00000000000000000000ffffc0a80101".utf8) + [0])
        #expect(destination.message.count == 52)
        let withLID = PingPongDestination(lid: 0x1A2B, queuePairNumber: 0xFF_FFFF, packetSequenceNumber: 0, gid: .zero)
        #expect(withLID.message == Array("1a2b:ffffff:000000:00000000000000000000000000000000".utf8) + [0])
    }

    @Test("the wire GID is gid_to_wire_gid's: the 16 bytes in network order")
    func wireGID() throws {
        let gid = try #require(GID(bytes: Array(0..<16)))
        #expect(PingPongDestination.wireGID(gid) == "000102030405060708090a0b0c0d0e0f")
        #expect(PingPongDestination.gid(wire: Array("000102030405060708090A0B0C0D0E0F".utf8)) == gid)
    }

    @Test("decodes a message the real tool wrote, and round-trips")
    func decode() throws {
        // As an mlx5 port's rc_pingpong -g 0 sends it (link-local GID).
        let message = Array("0000:00011a:3c9f21:fe800000000000000a0027fffe1f2c3d".utf8) + [0]
        let destination = try PingPongDestination(message: message)
        #expect(destination.lid == 0)
        #expect(destination.queuePairNumber == 0x11A)
        #expect(destination.packetSequenceNumber == 0x3C9F21)
        #expect(destination.gid == GID(high: 0xFE80_0000_0000_0000, low: 0x0A00_27FF_FE1F_2C3D))
        #expect(destination.gid.presentationAddress == "fe80::a00:27ff:fe1f:2c3d")
        #expect(destination.message == message)
    }

    @Test("accepts what sscanf(\"%x:%x:%x:%s\") accepts of a well-formed peer: short and upper-case fields, bytes after the NUL")
    func lenient() throws {
        var message = Array("1:2:3:00000000000000000000FFFF7F000001".utf8) + [0]
        message += Array(repeating: UInt8(ascii: "z"), count: 52 - message.count)
        let destination = try PingPongDestination(message: message)
        #expect(destination.lid == 1)
        #expect(destination.queuePairNumber == 2)
        #expect(destination.packetSequenceNumber == 3)
        #expect(destination.gid == GID(ipv4: 0x7F00_0001))
    }

    @Test(
        "malformed messages are a typed error, never a trap",
        arguments: [
            "", "0000", "0000:000011:abcdef", "0000:000011:abcdef:",
            "0000:000011:abcdef:00000000000000000000ffffc0a8010",  // 31 GID digits
            "0000:000011:abcdef:00000000000000000000ffffc0a801010",  // 33
            "0000:000011:abcdef:00000000000000000000ffffc0a8010g",
            "zzzz:000011:abcdef:00000000000000000000ffffc0a80101",
            "0000;000011:abcdef:00000000000000000000ffffc0a80101",
            "10000:000011:abcdef:00000000000000000000ffffc0a80101",  // LID above 0xffff
            "0000:1000000:abcdef:00000000000000000000ffffc0a80101",  // QPN above 24 bits
            "0000:000011:1000000:00000000000000000000ffffc0a80101",  // PSN above 24 bits
            "0000:000000011:abcdef:00000000000000000000ffffc0a80101",  // 9 digits
            ":000011:abcdef:00000000000000000000ffffc0a80101",
            "0000:000011:abcdef:00000000000000000000ffffc0a80101 ",
        ])
    func malformed(text: String) {
        #expect {
            try PingPongDestination(message: Array(text.utf8) + [0])
        } throws: { error in
            (error as? PingPongError)?.code == .malformedMessage
        }
    }

    @Test("random and mutated messages never trap; whatever decodes re-encodes to an equal destination")
    func fuzz() {
        var generator = SystemRandomNumberGenerator()
        let valid = PingPongDestination(lid: 0, queuePairNumber: 0x11, packetSequenceNumber: 0xABCDEF, gid: GID(ipv4: 0x7F00_0001)).message
        var decoded = 0
        for round in 0..<20_000 {
            var bytes: [UInt8]
            if round % 2 == 0 {
                bytes = (0..<Int.random(in: 0...60, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            } else {
                bytes = valid
                for _ in 0..<Int.random(in: 1...3, using: &generator) {
                    let alphabet = Array("0123456789abcdefABCDEF:xg \0".utf8)
                    bytes[Int.random(in: 0..<bytes.count, using: &generator)] = alphabet.randomElement(using: &generator)!
                }
            }
            guard let destination = try? PingPongDestination(message: bytes) else { continue }
            decoded += 1
            #expect((try? PingPongDestination(message: destination.message)) == destination)
        }
        #expect(decoded > 0, "some mutations of a valid message stay valid")
    }

    @Test("GIDs print as glibc's inet_ntop(AF_INET6) prints them")
    func presentation() throws {
        var gids: [GID] = [
            .zero, GID(high: 0, low: 1), GID(ipv4: 0xC0A8_0101), GID(ipv4: 0), GID(high: 0, low: 0x0102_0304),
            GID(high: 0xFE80_0000_0000_0000, low: 1), GID(high: 0x0001_0000_0000_0001, low: 0x0000_0000_0000_0001),
            GID(high: 0x0001_0000_0001_0000, low: 0x0000_0001_0000_0000), GID(high: UInt64.max, low: UInt64.max),
            GID(high: 0, low: 0x0000_FFFE_0102_0304), GID(high: 0x0000_0000_0000_0001, low: 0x0000_FFFF_0102_0304),
        ]
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<5000 {
            // Words that are often zero (runs to compress) and sometimes 0xffff (IPv4-mapped).
            let words = (0..<8).map { index -> UInt64 in
                switch Int.random(in: 0..<8, using: &generator) {
                case 0..<4: 0
                case 4 where index == 5: 0xFFFF
                default: UInt64.random(in: 0...0xFFFF, using: &generator)
                }
            }
            gids.append(GID(
                high: words[0] << 48 | words[1] << 32 | words[2] << 16 | words[3],
                low: words[4] << 48 | words[5] << 32 | words[6] << 16 | words[7]))
        }
        for gid in gids {
            var address = in6_addr()
            withUnsafeMutableBytes(of: &address) { raw in
                for (index, byte) in gid.bytes.enumerated() { raw[index] = byte }
            }
            var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
            let result = inet_ntop(AF_INET6, &address, &text, socklen_t(text.count))
            try #require(result != nil)
            let expected = String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            #expect(gid.presentationAddress == expected, "\(gid)")
        }
    }
}

@Suite("rc_pingpong report")
struct PingPongReportTests {
    /// Expected lines from rc_pingpong's own printf statements (compiled C, same inputs): note the
    /// single-precision `usec` (987654321 µs is 987654336 as a float).
    @Test(
        "prints rc_pingpong's result lines, float arithmetic and %.2f rounding included",
        arguments: [
            (4096, 1000, Int64(123_456), "8192000 bytes in 0.12 seconds = 530.84 Mbit/sec", "1000 iters in 0.12 seconds = 123.46 usec/iter"),
            (1, 1, 3, "2 bytes in 0.00 seconds = 5.33 Mbit/sec", "1 iters in 0.00 seconds = 3.00 usec/iter"),
            (4096, 1000, 1000, "8192000 bytes in 0.00 seconds = 65536.00 Mbit/sec", "1000 iters in 0.00 seconds = 1.00 usec/iter"),
            (65536, 5000, 987_654_321, "655360000 bytes in 987.65 seconds = 5.31 Mbit/sec", "5000 iters in 987.65 seconds = 197530.88 usec/iter"),
            (12000, 7, 125, "168000 bytes in 0.00 seconds = 10752.00 Mbit/sec", "7 iters in 0.00 seconds = 17.86 usec/iter"),
        ])
    func lines(size: Int, iterations: Int, microseconds: Int64, throughput: String, latency: String) {
        let address = PingPongDestination(queuePairNumber: 0x11, packetSequenceNumber: 0, gid: .zero)
        let report = PingPongReport(
            local: address, remote: address, size: size, iterations: iterations, sendCompletions: iterations,
            receiveCompletions: iterations, completionEvents: 0, elapsedMicroseconds: microseconds, invalidPages: [2, 5])
        #expect(report.throughputLine == throughput)
        #expect(report.latencyLine == latency)
        #expect(report.lines == [throughput, latency, "invalid data in page 2", "invalid data in page 5"])
        #expect(report.isValidated == false)
    }

    @Test("the address lines follow \"LID 0x%04x, QPN 0x%06x, PSN 0x%06x, GID %s\"")
    func addressText() {
        let address = PingPongDestination(queuePairNumber: 0x11, packetSequenceNumber: 0x0A0B0C, gid: GID(ipv4: 0x0A00_0002))
        #expect(RCPingPong.addressText(address) == "LID 0x0000, QPN 0x000011, PSN 0x0a0b0c, GID ::ffff:10.0.0.2")
        #expect(RCPingPong.addressText(PingPongDestination(lid: 0xBEEF, queuePairNumber: 1, packetSequenceNumber: 2, gid: .zero))
            == "LID 0xbeef, QPN 0x000001, PSN 0x000002, GID ::")
    }
}

/// One ping-pong variant: the memory region kind and options of both sides.
struct PingPongVariant: Sendable, CustomTestStringConvertible {
    var onDemand: OnDemandMode
    var prefetch = false
    var events = false
    var testDescription: String { "\(onDemand)\(prefetch ? " -P" : "")\(events ? " -e" : "")" }
}

@Suite("rc_pingpong end to end", .timeLimit(.minutes(3)))
struct RCPingPongTests {
    static let size = 3 * 4096 + 100
    static let iterations = 200

    @Test(
        "server and client ping-pong over a real TCP exchange; -c validates every page",
        arguments: [
            PingPongVariant(onDemand: .none), PingPongVariant(onDemand: .explicit),
            PingPongVariant(onDemand: .implicit, prefetch: true), PingPongVariant(onDemand: .explicit, prefetch: true),
            PingPongVariant(onDemand: .none, events: true), PingPongVariant(onDemand: .implicit, events: true),
        ])
    func pingPong(variant: PingPongVariant) throws {
        let devices = DevicePair()
        defer { devices.close() }
        var server = RCPingPongConfiguration.test(.server)
        server.size = Self.size
        server.iterations = Self.iterations
        server.validateBuffer = true
        server.onDemand = variant.onDemand
        server.prefetch = variant.prefetch
        server.useEvents = variant.events

        let runs = runPair(server, on: devices)
        let clientOutcome = try runs.client.value
        let serverOutcome = try runs.server.value

        for outcome in [serverOutcome, clientOutcome] {
            let report = outcome.report
            #expect(report.iterations == Self.iterations)
            #expect(report.sendCompletions == Self.iterations)
            #expect(report.receiveCompletions == Self.iterations)
            #expect(report.bytes == Int64(Self.size * Self.iterations * 2))
            #expect(report.elapsedMicroseconds > 0)
            #expect(outcome.lines == [
                "  local address:  " + RCPingPong.addressText(report.local),
                "  remote address: " + RCPingPong.addressText(report.remote),
            ] + report.lines)
            #expect(outcome.lines[2].hasPrefix("\(Self.size * Self.iterations * 2) bytes in "))
            #expect(outcome.lines[3].hasPrefix("\(Self.iterations) iters in "))
            #expect(report.completionEvents > 0 || !variant.events)
        }
        #expect(serverOutcome.report.isValidated == true, "the server checked every page and found the client's bytes")
        #expect(serverOutcome.report.invalidPages == [])
        #expect(clientOutcome.report.invalidPages == nil, "rc_pingpong validates on the server only")
        #expect(clientOutcome.report.remote == serverOutcome.report.local)
        #expect(serverOutcome.report.remote == clientOutcome.report.local)
        #expect(serverOutcome.report.local.gid == devices.server.gid)
        #expect(clientOutcome.report.local.gid == devices.client.gid)
        #expect(serverOutcome.lines[0].hasPrefix("  local address:  LID 0x0000, QPN 0x"))
        for device in [devices.server, devices.client] {
            let counters = device.counters
            if variant.onDemand == .none {
                #expect(counters.pageFaults == 0 && counters.prefetchedPages == 0, "pinned memory never faults")
            } else if variant.prefetch {
                #expect(counters.prefetchedPages >= 4, "-P mapped the buffer's 4 pages ahead of the run")
            } else {
                #expect(counters.pageFaults > 0, "the ODP buffer was mapped by page faults")
            }
        }
    }

    @Test("a server with -c reports every page the client did not write (client without -c)")
    func validationFindsUnwrittenPages() throws {
        let devices = DevicePair()
        defer { devices.close() }
        var server = RCPingPongConfiguration.test(.server)
        server.size = Self.size
        server.iterations = 20
        server.validateBuffer = true

        let runs = runPair(server, on: devices) { $0.validateBuffer = false }
        _ = try runs.client.value
        let outcome = try runs.server.value
        #expect(outcome.report.invalidPages == [0, 1, 2, 3], "each page still starts with the 0x7b fill")
        #expect(outcome.report.isValidated == false)
        #expect(outcome.lines.suffix(4) == ["invalid data in page 0", "invalid data in page 1", "invalid data in page 2", "invalid data in page 3"])
    }

    @Test("without -g neither side can set up RoCE's GRH: RTR fails on the server, the client's exchange fails; nothing hangs")
    func noGID() throws {
        let devices = DevicePair()
        defer { devices.close() }
        var server = RCPingPongConfiguration.test(.server)
        server.gidIndex = -1
        let runs = runPair(server, on: devices)
        let clientError = pingPongError { _ = try runs.client.value }
        let serverError = pingPongError { _ = try runs.server.value }
        #expect(serverError?.code == .connectQueuePairFailed)
        #expect(serverError?.message == "Failed to modify QP to RTR\nCouldn't connect to remote QP")
        #expect(clientError?.code == .exchangeFailed)
        #expect(clientError?.message == "Couldn't read/write remote address")
    }

    @Test("a GID index the device does not have: \"can't read sgid of index 1\"")
    func missingGIDIndex() {
        var configuration = RCPingPongConfiguration.test(.client(serverName: "127.0.0.1"))
        configuration.gidIndex = 1
        expectRunError(configuration, code: .addressQueryFailed, message: "can't read sgid of index 1")
    }

    @Test("an unreachable server is \"Couldn't connect to host:port\"")
    func unreachableServer() throws {
        let device = Device(link: InProcessFabric())
        defer { device.close() }
        let closed = try TCPListener(port: 0)
        let port = Int(closed.port)
        closed.close()
        var configuration = RCPingPongConfiguration.test(.client(serverName: "127.0.0.1"))
        configuration.port = port
        let error = threadRunError(configuration, on: device)
        #expect(error?.code == .connectFailed)
        #expect(error?.message == "Couldn't connect to 127.0.0.1:\(port)")
    }

    @Test("garbage from the server is a typed error after rc_pingpong's exchange (the client still writes \"done\")")
    func garbageFromServer() throws {
        let device = Device(link: InProcessFabric())
        defer { device.close() }
        let listener = try TCPListener(port: 0)
        var configuration = RCPingPongConfiguration.test(.client(serverName: "127.0.0.1"))
        configuration.port = Int(listener.port)
        let peer = fakeServer(listener, reply: Array("this is not an rc_pingpong address message at all!!".utf8) + [0])
        let error = threadRunError(configuration, on: device)
        #expect(error?.code == .malformedMessage)
        let (message, done) = try peer.value
        #expect(message.count == 52)
        let sent = try PingPongDestination(message: message)
        #expect(sent.gid == device.gid)
        #expect(done == PingPongExchange.doneMessage)
    }

    @Test("a server facing a bad client: garbage, a short message, silence, or no client at all", arguments: ["garbage", "short", "silent", "absent"])
    func badClient(behaviour: String) throws {
        let device = Device(link: InProcessFabric())
        defer { device.close() }
        var configuration = RCPingPongConfiguration.test(.server)
        configuration.exchangeTimeout = .seconds(behaviour == "garbage" || behaviour == "short" ? 10 : 3)
        let port = PortSignal()
        let server = startServer(configuration, on: device, port: port)
        let connection: TCPConnection?
        if behaviour != "absent" {
            let listening = try #require(port.wait())
            connection = try TCPConnection.connect(host: "127.0.0.1", port: Int(listening), timeout: .seconds(5))
        } else {
            connection = nil
        }
        switch behaviour {
        case "garbage": try connection?.send([UInt8](repeating: UInt8(ascii: "Q"), count: 52))
        case "short":
            try connection?.send(Array("0000:000011".utf8))
            connection?.close()
        default: break
        }
        let error = pingPongError { _ = try server.value }
        connection?.close()
        switch behaviour {
        case "garbage": #expect(error?.code == .malformedMessage)
        case "short":
            #expect(error?.code == .exchangeFailed)
            #expect(error?.message == "11/52: Couldn't read remote address")
        case "silent": #expect(error?.code == .timedOut)
        default:
            #expect(error?.code == .timedOut)
            #expect(error?.message == "accept() failed")
        }
    }
}
