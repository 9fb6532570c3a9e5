import ArgumentParser

/// The `softroce` command: tools for the SoftRoCE user-space RDMA device.
@main
struct SoftRoCECommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "softroce",
        abstract: "A user-space software RDMA device with on-demand paging.",
        subcommands: [
            DeviceInfoCommand.self, WriteBandwidth.self, ReadBandwidth.self, SendBandwidth.self, AtomicBandwidth.self,
            WriteLatency.self, ReadLatency.self, SendLatency.self, AtomicLatency.self, MemoryBench.self,
            RCPingPongCommand.self, UDPingPongCommand.self,
        ]
    )
}
