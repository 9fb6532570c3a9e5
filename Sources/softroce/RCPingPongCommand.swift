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

    @OptionGroup var options: PingPongOptions<RCPingPongCommand>

    func run() throws {
        let memory = options.afterGIDIndex
        // rc_pingpong's own refusals, and the options SoftRoCE has no counterpart for.
        let refusal = options.afterValidation.refusal
            ?? (memory.prefetch && memory.mode == .none ? "prefetch is valid only with on-demand memory region" : nil)
        if let refusal {
            StandardStreams.printError(refusal)
            throw ExitCode(1)
        }
        var configuration = RCPingPongConfiguration(role: .server)
        configuration.session = options.sessionConfiguration
        configuration.mtu = PathMTU(bytes: options.afterSize.mtu.value) ?? .mtu1024
        configuration.onDemand = memory.mode
        configuration.prefetch = memory.prefetch
        try options.run(activeMTU: configuration.mtu) { device throws(PingPongError) in
            try RCPingPong(configuration).run(on: device, events: printPingPongEvent)
        }
    }
}

extension RCPingPongCommand: PingPongTool {
    /// `-m`, listed after `-s`.
    struct PathMTUOption: PingPongToolOptions {
        @Option(name: [.customShort("m", allowingJoined: true), .long], help: "Path MTU: 256, 512, 1024, 2048 or 4096.")
        var mtu = CInteger(1024)

        /// Checks that `-m` is a path MTU.
        func check() throws {
            guard PathMTU(bytes: mtu.value) != nil else { throw ValidationError("--mtu must be 256, 512, 1024, 2048 or 4096") }
        }
    }

    /// `-o`, `-O` and `-P`, listed after `-g` (`-P` without either is refused when run).
    struct OnDemandOptions: PingPongToolOptions {
        @Flag(name: [.customShort("o"), .long], help: "Use on-demand paging.")
        var odp = false

        @Flag(name: [.customShort("O"), .long], help: "Use implicit on-demand paging.")
        var iodp = false

        @Flag(name: [.customShort("P"), .long], help: "Prefetch the ODP memory region.")
        var prefetch = false

        /// The memory region `-o` and `-O` ask for (`-O` wins).
        var mode: OnDemandMode { iodp ? .implicit : (odp ? .explicit : .none) }

        /// Nothing to check.
        func check() {}
    }

    /// rc_pingpong's `-t`, `-j`, `-N` and `-U`, listed after `-c` and hidden: SoftRoCE has no
    /// counterpart for them, and refuses them when run.
    struct RefusedOptions: PingPongToolOptions {
        @Flag(name: [.customShort("t"), .long], help: .hidden)
        var ts = false

        @Flag(name: [.customShort("j"), .long], help: .hidden)
        var dm = false

        @Flag(name: [.customShort("N"), .customLong("new_send")], help: .hidden)
        var newSend = false

        @Flag(name: [.customShort("U"), .customLong("allow-cc-unprotected")], help: .hidden)
        var allowCCUnprotected = false

        /// What the first of them given prints before the command exits with 1; nil for none.
        var refusal: String? {
            if ts { "-t/--ts: completion timestamps are not supported by the SoftRoCE device" }
            else if dm { "-j/--dm: the SoftRoCE device has no device memory" }
            else if newSend { "-N/--new_send: the new post-send API (ibv_wr_*) is not supported; the default ibv_post_send path is used without -N" }
            else if allowCCUnprotected { "-U/--allow-cc-unprotected: CoCo unprotected memory is not supported" }
            else { nil }
        }

        /// Nothing to check (they are refused when run).
        func check() {}
    }

    /// `-m`.
    typealias OptionsAfterSize = PathMTUOption
    /// `-o`, `-O`, `-P`.
    typealias OptionsAfterGIDIndex = OnDemandOptions
    /// `-t`, `-j`, `-N`, `-U`.
    typealias OptionsAfterValidation = RefusedOptions

    /// rc_pingpong's `-s` default.
    static let defaultSize = 4096
    /// The help of `-l`.
    static let serviceLevelHelp = "Service level."
}
