import ArgumentParser
import SoftRoCE
import SoftRoCETools

/// Opens the RoCEv2 device of a pingpong command (``openNetworkDevice(localIP:server:activeMTU:)``)
/// and checks `-d`, printing what rdma-core's pingpong tools print when they fail here
/// ("Couldn't get context for %s", "IB device %s not found").
/// - Throws: `ExitCode(1)` after printing the failure.
func openPingPongDevice(ibDevice: String?, localIP: String?, server: String?, activeMTU: PathMTU) throws -> Device {
    let device: Device
    do {
        device = try openNetworkDevice(localIP: localIP, server: server, activeMTU: activeMTU)
    } catch {
        StandardStreams.printError("Couldn't get context for \(ibDevice ?? "softroce0")")
        StandardStreams.printError("(\(error))")
        throw ExitCode(1)
    }
    if let ibDevice, ibDevice != device.name {
        device.close()
        StandardStreams.printError("IB device \(ibDevice) not found")
        throw ExitCode(1)
    }
    return device
}

/// Prints a pingpong run's event as the tools do: lines to standard output or standard error;
/// the server's listening port is not printed.
func printPingPongEvent(_ event: PingPongEvent) {
    switch event {
    case .standardOutput(let line): StandardStreams.printLine(line)
    case .standardError(let line): StandardStreams.printError(line)
    case .listening: break
    }
}

/// The address of a dotted-quad IPv4 string (the `--local-ip` option); nil for anything else.
func ipv4Address(_ text: String) -> UInt32? {
    let parts = text.split(separator: ".", omittingEmptySubsequences: false)
    guard parts.count == 4 else { return nil }
    var address: UInt32 = 0
    for part in parts {
        guard !part.isEmpty, part.count <= 3, part.allSatisfy(\.isASCII), let octet = UInt8(part) else { return nil }
        address = address << 8 | UInt32(octet)
    }
    return address
}
