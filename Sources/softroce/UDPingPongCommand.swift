import ArgumentParser
import SoftRoCE
import SoftRoCETools

/// `softroce ud-pingpong [server]`: rdma-core's `ibv_ud_pingpong` on the SoftRoCE device, with
/// its command line (`"p:d:i:s:r:n:l:eg:c"`), TCP address exchange and output, so the other side
/// may be the real tool.
struct UDPingPongCommand: ParsableCommand {
    /// The port's active MTU: rxe's on a 1500-byte Ethernet interface, which ud_pingpong's default
    /// message (1024 bytes) fits. Datagrams leave with "don't fragment" set, so a larger MTU
    /// could not cross such an interface.
    static let activeMTU = PathMTU.mtu1024

    static let configuration = CommandConfiguration(
        commandName: "ud-pingpong",
        abstract: "UD SEND ping-pong over the RoCEv2 device, compatible with rdma-core's ibv_ud_pingpong.",
        discussion: """
            Without <server>, waits for a client on the TCP port; with it, connects to that server. \
            Over RoCE both sides need a GID: run them with -g 0. A message must fit the port's \
            active MTU (\(activeMTU.bytes) bytes).
            """)

    @Option(name: [.customShort("p", allowingJoined: true), .long], help: "Listen on / connect to this TCP port.")
    var port = CInteger(18515)

    @Option(name: [.customShort("d", allowingJoined: true), .customLong("ib-dev")], help: "Use this device (default: the first, softroce0).")
    var ibDevice: String?

    @Option(name: [.customShort("i", allowingJoined: true), .customLong("ib-port")], help: "Use this port of the device.")
    var ibPort = CInteger(1)

    @Option(name: [.customShort("s", allowingJoined: true), .long], help: "Size of the messages to exchange, in bytes.")
    var size = CInteger(1024)

    @Option(name: [.customShort("r", allowingJoined: true), .customLong("rx-depth")], help: "Number of receives to post at a time.")
    var rxDepth = CInteger(500)

    @Option(name: [.customShort("n", allowingJoined: true), .long], help: "Number of exchanges.")
    var iters = CInteger(1000)

    @Option(name: [.customShort("l", allowingJoined: true), .long], help: "Send messages with this service level.")
    var sl = CInteger(0)

    @Flag(name: [.customShort("e"), .long], help: "Sleep on CQ events (default: poll).")
    var events: Int

    @Option(name: [.customShort("g", allowingJoined: true), .customLong("gid-idx")], parsing: .unconditional, help: "Local port GID index (the device has index 0).")
    var gidIndex = CInteger(-1)

    @Flag(name: [.customShort("c"), .long], help: "Validate the received buffer.")
    var chk = false

    @Option(name: .customLong("local-ip"), help: "The local IPv4 address of the RoCEv2 (UDP) device.")
    var localIP: String?

    @Argument(help: "The server to connect to (omit to be the server).")
    var server: String?

    func validate() throws {
        guard (0...65535).contains(port.value) else { throw ValidationError("--port must be 0 ... 65535") }
        guard ibPort.value >= 1 else { throw ValidationError("--ib-port must be >= 1") }
        guard (0...Int(UInt32.max)).contains(size.value) else { throw ValidationError("--size must be 0 ... 4294967295") }
        guard rxDepth.value >= 1 else { throw ValidationError("--rx-depth must be >= 1") }
        guard (0...Int(UInt32.max)).contains(iters.value) else { throw ValidationError("--iters must be 0 ... 4294967295") }
        guard (0...15).contains(sl.value) else { throw ValidationError("--sl must be 0 ... 15") }
        if let localIP, ipv4Address(localIP) == nil { throw ValidationError("--local-ip must be an IPv4 address (a.b.c.d)") }
    }

    func run() throws {
        var configuration = UDPingPongConfiguration(role: server.map { .client(serverName: $0) } ?? .server)
        configuration.port = port.value
        configuration.ibPort = UInt8(clamping: ibPort.value)
        configuration.size = size.value
        configuration.receiveDepth = rxDepth.value
        configuration.iterations = iters.value
        configuration.serviceLevel = UInt8(sl.value)
        configuration.useEvents = events > 0
        configuration.gidIndex = gidIndex.value
        configuration.validateBuffer = chk

        let device = try openPingPongDevice(ibDevice: ibDevice, localIP: localIP, server: server, activeMTU: Self.activeMTU)
        defer { device.close() }
        do {
            _ = try UDPingPong(configuration).run(on: device, events: printPingPongEvent)
        } catch {
            StandardStreams.printError(error.description)
            throw ExitCode(1)
        }
    }
}
