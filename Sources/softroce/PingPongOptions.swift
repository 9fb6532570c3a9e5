import ArgumentParser
import SoftRoCE
import SoftRoCETools

/// The command line both pingpong commands share (rdma-core's `"p:d:i:s:r:n:l:eg:c"` and
/// `--local-ip`), with its checks and its mapping to ``PingPongSessionConfiguration``. `Tool`
/// gives a command's defaults and help, and its own options, which stand among the shared ones
/// in rc_pingpong's order.
struct PingPongOptions<Tool: PingPongTool>: ParsableArguments {
    @Option(name: [.customShort("p", allowingJoined: true), .long], help: "Listen on / connect to this TCP port.")
    var port = CInteger(18515)

    @Option(name: [.customShort("d", allowingJoined: true), .customLong("ib-dev")], help: "Use this device (default: the first, softroce0).")
    var ibDevice: String?

    @Option(name: [.customShort("i", allowingJoined: true), .customLong("ib-port")], help: "Use this port of the device.")
    var ibPort = CInteger(1)

    @Option(name: [.customShort("s", allowingJoined: true), .long], help: "Size of the messages to exchange, in bytes.")
    var size = CInteger(Tool.defaultSize)

    /// The command's options listed after `-s` (rc_pingpong's `-m`).
    @OptionGroup var afterSize: Tool.OptionsAfterSize

    @Option(name: [.customShort("r", allowingJoined: true), .customLong("rx-depth")], help: "Number of receives to post at a time.")
    var rxDepth = CInteger(500)

    @Option(name: [.customShort("n", allowingJoined: true), .long], help: "Number of exchanges.")
    var iters = CInteger(1000)

    @Option(name: [.customShort("l", allowingJoined: true), .long], help: ArgumentHelp(Tool.serviceLevelHelp))
    var sl = CInteger(0)

    @Flag(name: [.customShort("e"), .long], help: "Sleep on CQ events (default: poll).")
    var events: Int

    @Option(name: [.customShort("g", allowingJoined: true), .customLong("gid-idx")], parsing: .unconditional, help: "Local port GID index (the device has index 0).")
    var gidIndex = CInteger(-1)

    /// The command's options listed after `-g` (rc_pingpong's `-o`, `-O`, `-P`).
    @OptionGroup var afterGIDIndex: Tool.OptionsAfterGIDIndex

    @Flag(name: [.customShort("c"), .long], help: "Validate the received buffer.")
    var chk = false

    /// The command's options listed after `-c` (rc_pingpong's hidden, refused `-t`, `-j`, `-N`,
    /// `-U`).
    @OptionGroup var afterValidation: Tool.OptionsAfterValidation

    @Option(name: .customLong("local-ip"), help: "The local IPv4 address of the RoCEv2 (UDP) device.")
    var localIP: String?

    @Argument(help: "The server to connect to (omit to be the server).")
    var server: String?

    /// Checks the values in the tools' order, the command's own (``PingPongToolOptions/check()``)
    /// among them.
    func validate() throws {
        guard (0...65535).contains(port.value) else { throw ValidationError("--port must be 0 ... 65535") }
        guard ibPort.value >= 1 else { throw ValidationError("--ib-port must be >= 1") }
        try afterSize.check()
        guard (0...Int(UInt32.max)).contains(size.value) else { throw ValidationError("--size must be 0 ... 4294967295") }
        guard rxDepth.value >= 1 else { throw ValidationError("--rx-depth must be >= 1") }
        guard (0...Int(UInt32.max)).contains(iters.value) else { throw ValidationError("--iters must be 0 ... 4294967295") }
        guard (0...15).contains(sl.value) else { throw ValidationError("--sl must be 0 ... 15") }
        try afterGIDIndex.check()
        try afterValidation.check()
        if let localIP, ipv4Address(localIP) == nil { throw ValidationError("--local-ip must be an IPv4 address (a.b.c.d)") }
    }

    /// The shared options as a run's configuration: the client of `<server>`, or the server.
    var sessionConfiguration: PingPongSessionConfiguration {
        var configuration = PingPongSessionConfiguration(role: server.map { .client(serverName: $0) } ?? .server, size: size.value)
        configuration.port = port.value
        configuration.ibPort = UInt8(clamping: ibPort.value)
        configuration.receiveDepth = rxDepth.value
        configuration.iterations = iters.value
        configuration.serviceLevel = UInt8(sl.value)
        configuration.useEvents = events > 0
        configuration.gidIndex = gidIndex.value
        configuration.validateBuffer = chk
        return configuration
    }

    /// Opens the device (``openPingPongDevice(ibDevice:localIP:server:activeMTU:)``), runs `run`
    /// on it, printing its events, and closes it.
    /// - Throws: `ExitCode(1)` after printing the failure.
    func run(activeMTU: PathMTU, _ run: (Device) throws(PingPongError) -> PingPongReport) throws {
        let device = try openPingPongDevice(ibDevice: ibDevice, localIP: localIP, server: server, activeMTU: activeMTU)
        defer { device.close() }
        do {
            _ = try run(device)
        } catch {
            StandardStreams.printError(error.description)
            throw ExitCode(1)
        }
    }
}

/// What one pingpong command changes in ``PingPongOptions``: defaults, help, and its own options.
protocol PingPongTool {
    /// The command's options listed after `-s`.
    associatedtype OptionsAfterSize: PingPongToolOptions
    /// The command's options listed after `-g`.
    associatedtype OptionsAfterGIDIndex: PingPongToolOptions
    /// The command's options listed after `-c`.
    associatedtype OptionsAfterValidation: PingPongToolOptions
    /// The default of `-s`, the message size.
    static var defaultSize: Int { get }
    /// The help of `-l`, the service level.
    static var serviceLevelHelp: String { get }
}

/// Options of one pingpong command among the shared ones. ``check()`` runs in
/// ``PingPongOptions/validate()``'s order, not as soon as the group is parsed (as `validate()`
/// would), so the first error reported stays the tool's.
protocol PingPongToolOptions: ParsableArguments {
    /// Checks the values.
    /// - Throws: `ValidationError` for a value the tool refuses.
    func check() throws
}

/// No options of the command's own.
struct NoPingPongToolOptions: PingPongToolOptions {
    /// Nothing to check.
    func check() {}
}
