import ArgumentParser
import SoftRoCE
import SoftRoCETools

/// `softroce rc-pingpong [server]`: rdma-core's `ibv_rc_pingpong` on the SoftRoCE device, with
/// its command line, TCP address exchange and output, so the other side may be the real tool.
struct RCPingPongCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rc-pingpong",
        abstract: "RC SEND ping-pong over the RoCEv2 device, compatible with rdma-core's ibv_rc_pingpong.",
        discussion: """
            Without <server>, waits for a client on the TCP port; with it, connects to that server. \
            Over RoCE both sides need a GID: run them with -g 0.
            """)

    @Option(name: [.customShort("p", allowingJoined: true), .long], help: "Listen on / connect to this TCP port.")
    var port = CInteger(18515)

    @Option(name: [.customShort("d", allowingJoined: true), .customLong("ib-dev")], help: "Use this device (default: the first, softroce0).")
    var ibDevice: String?

    @Option(name: [.customShort("i", allowingJoined: true), .customLong("ib-port")], help: "Use this port of the device.")
    var ibPort = CInteger(1)

    @Option(name: [.customShort("s", allowingJoined: true), .long], help: "Size of the messages to exchange, in bytes.")
    var size = CInteger(4096)

    @Option(name: [.customShort("m", allowingJoined: true), .long], help: "Path MTU: 256, 512, 1024, 2048 or 4096.")
    var mtu = CInteger(1024)

    @Option(name: [.customShort("r", allowingJoined: true), .customLong("rx-depth")], help: "Number of receives to post at a time.")
    var rxDepth = CInteger(500)

    @Option(name: [.customShort("n", allowingJoined: true), .long], help: "Number of exchanges.")
    var iters = CInteger(1000)

    @Option(name: [.customShort("l", allowingJoined: true), .long], help: "Service level.")
    var sl = CInteger(0)

    @Flag(name: [.customShort("e"), .long], help: "Sleep on CQ events (default: poll).")
    var events: Int

    @Option(name: [.customShort("g", allowingJoined: true), .customLong("gid-idx")], parsing: .unconditional, help: "Local port GID index (the device has index 0).")
    var gidIndex = CInteger(-1)

    @Flag(name: [.customShort("o"), .long], help: "Use on-demand paging.")
    var odp = false

    @Flag(name: [.customShort("O"), .long], help: "Use implicit on-demand paging.")
    var iodp = false

    @Flag(name: [.customShort("P"), .long], help: "Prefetch the ODP memory region.")
    var prefetch = false

    @Flag(name: [.customShort("c"), .long], help: "Validate the received buffer.")
    var chk = false

    @Flag(name: [.customShort("t"), .long], help: .hidden)
    var ts = false

    @Flag(name: [.customShort("j"), .long], help: .hidden)
    var dm = false

    @Flag(name: [.customShort("N"), .customLong("new_send")], help: .hidden)
    var newSend = false

    @Flag(name: [.customShort("U"), .customLong("allow-cc-unprotected")], help: .hidden)
    var allowCCUnprotected = false

    @Option(name: .customLong("local-ip"), help: "The local IPv4 address of the RoCEv2 (UDP) device.")
    var localIP: String?

    @Argument(help: "The server to connect to (omit to be the server).")
    var server: String?

    func validate() throws {
        guard (0...65535).contains(port.value) else { throw ValidationError("--port must be 0 ... 65535") }
        guard ibPort.value >= 1 else { throw ValidationError("--ib-port must be >= 1") }
        guard PathMTU(bytes: mtu.value) != nil else { throw ValidationError("--mtu must be 256, 512, 1024, 2048 or 4096") }
        guard (0...Int(UInt32.max)).contains(size.value) else { throw ValidationError("--size must be 0 ... 4294967295") }
        guard rxDepth.value >= 1 else { throw ValidationError("--rx-depth must be >= 1") }
        guard (0...Int(UInt32.max)).contains(iters.value) else { throw ValidationError("--iters must be 0 ... 4294967295") }
        guard (0...15).contains(sl.value) else { throw ValidationError("--sl must be 0 ... 15") }
        if let localIP, ipv4Address(localIP) == nil { throw ValidationError("--local-ip must be an IPv4 address (a.b.c.d)") }
    }

    func run() throws {
        // rc_pingpong's own refusals, and the options SoftRoCE has no counterpart for.
        let refusal: String? =
            if ts { "-t/--ts: completion timestamps are not supported by the SoftRoCE device" }
            else if dm { "-j/--dm: the SoftRoCE device has no device memory" }
            else if newSend { "-N/--new_send: the new post-send API (ibv_wr_*) is not supported; the default ibv_post_send path is used without -N" }
            else if allowCCUnprotected { "-U/--allow-cc-unprotected: CoCo unprotected memory is not supported" }
            else if prefetch && !(odp || iodp) { "prefetch is valid only with on-demand memory region" }
            else { nil }
        if let refusal {
            StandardStreams.printError(refusal)
            throw ExitCode(1)
        }
        var configuration = RCPingPongConfiguration(role: server.map { .client(serverName: $0) } ?? .server)
        configuration.port = port.value
        configuration.ibPort = UInt8(clamping: ibPort.value)
        configuration.size = size.value
        configuration.mtu = PathMTU(bytes: mtu.value) ?? .mtu1024
        configuration.receiveDepth = rxDepth.value
        configuration.iterations = iters.value
        configuration.serviceLevel = UInt8(sl.value)
        configuration.useEvents = events > 0
        configuration.gidIndex = gidIndex.value
        configuration.validateBuffer = chk
        configuration.onDemand = iodp ? .implicit : (odp ? .explicit : .none)
        configuration.prefetch = prefetch

        let device = try openPingPongDevice(ibDevice: ibDevice, localIP: localIP, server: server, activeMTU: configuration.mtu)
        defer { device.close() }
        do {
            _ = try RCPingPong(configuration).run(on: device, events: printPingPongEvent)
        } catch {
            StandardStreams.printError(error.description)
            throw ExitCode(1)
        }
    }
}
