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

    @OptionGroup var options: PingPongOptions<UDPingPongCommand>

    func run() throws {
        var configuration = UDPingPongConfiguration(role: .server)
        configuration.session = options.sessionConfiguration
        try options.run(activeMTU: Self.activeMTU) { device throws(PingPongError) in
            try UDPingPong(configuration).run(on: device, events: printPingPongEvent)
        }
    }
}

extension UDPingPongCommand: PingPongTool {
    /// ud_pingpong has no options of its own.
    typealias OptionsAfterSize = NoPingPongToolOptions
    /// ud_pingpong has no options of its own.
    typealias OptionsAfterGIDIndex = NoPingPongToolOptions
    /// ud_pingpong has no options of its own.
    typealias OptionsAfterValidation = NoPingPongToolOptions
    /// ud_pingpong's `-s` default.
    static let defaultSize = 1024
    /// The help of `-l`.
    static let serviceLevelHelp = "Send messages with this service level."
}
