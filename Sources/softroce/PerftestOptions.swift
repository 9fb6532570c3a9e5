import ArgumentParser
import SoftRoCE
import SoftRoCETools

/// The options every `{write,read,send,atomic}-{bw,lat}` command shares (DESIGN.md §6).
struct PerftestOptions: ParsableArguments {
    @Option(name: [.short, .long], help: "Message size in bytes.")
    var size: Int?

    @Option(name: [.customShort("n"), .long], help: "Iterations per size.")
    var iters: Int?

    @Flag(name: [.short, .long], help: "Run every size from 2 bytes to 8 MiB.")
    var all = false

    @Option(name: [.customShort("D"), .long], help: "Run each size for this many seconds instead of -n iterations.")
    var duration: Double?

    @Option(name: [.customShort("q"), .customLong("qp")], help: "Queue pairs to spread the traffic over.")
    var queuePairs: Int = 1

    @Flag(help: "Register the buffers as on-demand-paging (ODP) memory regions.")
    var odp = false

    @Flag(name: .customLong("implicit-odp"), help: "Use one implicit ODP region covering the address space.")
    var implicitODP = false

    @Flag(help: "Prefetch (advise_mr) the ODP regions before measuring.")
    var prefetch = false

    @Flag(help: "Every iteration targets pages the device has not mapped, so every access faults (needs --odp).")
    var cold = false

    @Flag(help: "Check every destination byte after the run.")
    var verify = false

    @Option(help: "loopback (the in-process device) or udp (RoCEv2).")
    var transport: String = "loopback"

    @Option(name: .customLong("local-ip"), help: "Local IPv4 address for --transport udp.")
    var localIP: String?

    @Argument(help: "Server address for --transport udp (omit to be the server).")
    var server: String?

    @Option(name: [.short, .long], help: "TCP port of the out-of-band exchange.")
    var port: Int = 18515

    @Option(name: [.customShort("x"), .customLong("gid-index")], help: "GID index.")
    var gidIndex: Int = 0

    @Option(name: [.short, .long], help: "Path MTU: 256, 512, 1024, 2048 or 4096.")
    var mtu: Int?

    @Option(name: [.customShort("t"), .customLong("tx-depth")], help: "Outstanding work requests per QP (bandwidth tests).")
    var txDepth: Int = 128

    @Flag(name: .customLong("two-devices"), help: "Put the two sides on two device instances.")
    var twoDevices = false

    @Flag(name: .customLong("no-pin"), help: "Let the scheduler place the test and engine threads (by default the test thread runs on the first allowed CPU and the device engine on the last).")
    var noPin = false

    @Option(help: "Drop this fraction of packets (fault injection, 0...1).")
    var loss: Double?

    @Option(help: "Reorder this fraction of packets (fault injection, 0...1).")
    var reorder: Double?

    @Option(help: "Duplicate this fraction of packets (fault injection, 0...1).")
    var duplicate: Double?

    @Option(help: "Write the packets to this pcap file.")
    var pcap: String?

    @Flag(help: "Print one JSON object per size instead of the table.")
    var json = false

    func validate() throws {
        if let size, size < 0 || size > 1 << 31 { throw ValidationError("--size must be 0 ... 2^31") }
        if let iters, iters < 1 { throw ValidationError("--iters must be >= 1") }
        if let duration, duration <= 0 { throw ValidationError("--duration must be > 0") }
        guard (1...64).contains(queuePairs) else { throw ValidationError("--qp must be 1 ... 64") }
        guard (1...16384).contains(txDepth) else { throw ValidationError("--tx-depth must be 1 ... 16384") }
        if let mtu, PathMTU(bytes: mtu) == nil { throw ValidationError("--mtu must be 256, 512, 1024, 2048 or 4096") }
        if cold && !(odp || implicitODP) { throw ValidationError("--cold needs --odp or --implicit-odp: pinned pages never fault") }
        if odp && implicitODP { throw ValidationError("choose one of --odp and --implicit-odp") }
        if prefetch && !(odp || implicitODP) { throw ValidationError("--prefetch needs --odp or --implicit-odp") }
        guard transport == "loopback" || transport == "udp" else { throw ValidationError("--transport must be loopback or udp") }
        if transport == "udp" {
            throw ValidationError(
                "the perftest commands run on the in-process device only (--transport loopback) in this build; "
                    + "RoCEv2 over UDP is in rc-pingpong, ud-pingpong and devinfo --transport udp")
        }
        if loss != nil || reorder != nil || duplicate != nil || pcap != nil {
            throw ValidationError("--loss/--reorder/--duplicate/--pcap apply to --transport udp, which the perftest commands do not run on yet")
        }
    }

    func configuration(operation: PerftestOperation, mode: PerftestMode) -> PerftestConfiguration {
        let defaultSize = operation == .atomic ? 8 : (mode == .bandwidth ? 65536 : 2)
        let sizes = all ? PerftestConfiguration.allSizes(for: operation) : [operation == .atomic ? 8 : (size ?? defaultSize)]
        return PerftestConfiguration(
            operation: operation, mode: mode, sizes: sizes, iterations: iters,
            duration: duration.map { .milliseconds(Int64($0 * 1000)) }, queuePairs: queuePairs,
            onDemand: implicitODP ? .implicit : (odp ? .explicit : .none), prefetch: prefetch, cold: cold, verify: verify,
            mtu: mtu.flatMap { PathMTU(bytes: $0) }, transmitDepth: txDepth, twoDevices: twoDevices,
            pinThreads: !noPin)
    }
}

/// Runs a perftest-style command and prints its table or JSON lines.
func runPerftest(_ options: PerftestOptions, operation: PerftestOperation, mode: PerftestMode) throws {
    let configuration = options.configuration(operation: operation, mode: mode)
    let runner = PerftestRunner(configuration)
    if !options.json {
        print("---------------------------------------------------------------------------------------")
        print("                    RDMA_\(operation.rawValue.uppercased()) \(mode == .bandwidth ? "BW" : "Latency") Test")
        print(" Transport : loopback (in-process SoftRoCE device)   ODP : \(configuration.onDemand.rawValue)")
        print(" Number of qps : \(configuration.queuePairs)   TX depth : \(configuration.transmitDepth)   Mtu : \(configuration.mtu?.bytes ?? 4096)[B]")
        print("---------------------------------------------------------------------------------------")
        print(PerftestReport.tableHeader(latency: mode == .latency))
    }
    for size in configuration.sizes {
        let report = try runner.run(size: size)
        print(options.json ? report.json : report.tableRow)
        if report.verified == false { throw PerftestError("verification failed at \(size) bytes") }
    }
    if !options.json { print("---------------------------------------------------------------------------------------") }
}

struct WriteBandwidth: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "write-bw", abstract: "RDMA WRITE bandwidth (ib_write_bw).")
    @OptionGroup var options: PerftestOptions
    func run() throws { try runPerftest(options, operation: .write, mode: .bandwidth) }
}

struct ReadBandwidth: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "read-bw", abstract: "RDMA READ bandwidth (ib_read_bw).")
    @OptionGroup var options: PerftestOptions
    func run() throws { try runPerftest(options, operation: .read, mode: .bandwidth) }
}

struct SendBandwidth: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "send-bw", abstract: "SEND bandwidth (ib_send_bw).")
    @OptionGroup var options: PerftestOptions
    func run() throws { try runPerftest(options, operation: .send, mode: .bandwidth) }
}

struct AtomicBandwidth: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "atomic-bw", abstract: "ATOMIC FETCH_AND_ADD bandwidth (ib_atomic_bw).")
    @OptionGroup var options: PerftestOptions
    func run() throws { try runPerftest(options, operation: .atomic, mode: .bandwidth) }
}

struct WriteLatency: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "write-lat", abstract: "RDMA WRITE latency (ib_write_lat).")
    @OptionGroup var options: PerftestOptions
    func run() throws { try runPerftest(options, operation: .write, mode: .latency) }
}

struct ReadLatency: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "read-lat", abstract: "RDMA READ latency (ib_read_lat).")
    @OptionGroup var options: PerftestOptions
    func run() throws { try runPerftest(options, operation: .read, mode: .latency) }
}

struct SendLatency: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "send-lat", abstract: "SEND latency (ib_send_lat).")
    @OptionGroup var options: PerftestOptions
    func run() throws { try runPerftest(options, operation: .send, mode: .latency) }
}

struct AtomicLatency: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "atomic-lat", abstract: "ATOMIC FETCH_AND_ADD latency (ib_atomic_lat).")
    @OptionGroup var options: PerftestOptions
    func run() throws { try runPerftest(options, operation: .atomic, mode: .latency) }
}

struct DeviceInfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "devinfo", abstract: "Device, port, GID and ODP capabilities (ibv_devinfo).")
    @Flag(name: .short, help: "Verbose: capabilities, GID table, counters.")
    var verbose = false
    @Flag(help: "Print one JSON object.")
    var json = false
    @Option(help: "loopback (the in-process device) or udp (RoCEv2: the device on --local-ip).")
    var transport: String = "loopback"
    @Option(name: .customLong("local-ip"), help: "Local IPv4 address of the RoCEv2/UDP device (with --transport udp).")
    var localIP: String?

    func validate() throws {
        guard transport == "loopback" || transport == "udp" else { throw ValidationError("--transport must be loopback or udp") }
        if localIP != nil && transport != "udp" { throw ValidationError("--local-ip goes with --transport udp") }
    }

    func run() throws {
        let device = transport == "udp" ? try openNetworkDevice(localIP: localIP, activeMTU: .mtu1024) : Device()
        defer { device.close() }
        let counters = linkCounters(of: device)
        print(json
            ? DeviceInfo.json(device, transport: transport, linkCounters: counters)
            : DeviceInfo.text(device, verbose: verbose, linkCounters: counters))
    }
}
