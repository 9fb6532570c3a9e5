import ArgumentParser
import SoftRoCE
import SoftRoCEUDP
import SoftRoCEWire

/// Opens the device the network commands (`rc-pingpong`, `ud-pingpong`) run on: RoCEv2 over UDP.
///
/// With `localIP` the link binds that address. Without it, the first address that binds among:
/// the one the host routes from toward `server` (a client), the host's non-loopback addresses,
/// then 127.0.0.1 ... 127.0.0.9 — so two processes on one host each find an address of their own.
///
/// - Throws: `ValidationError` when no address binds (port 4791 taken on each, e.g. by the
///   kernel's rdma_rxe).
func openNetworkDevice(localIP: String?, server: String? = nil, activeMTU: PathMTU) throws -> Device {
    if let localIP {
        do {
            return Device(link: try UDPLink(localAddress: localIP), activeMTU: activeMTU)
        } catch {
            throw ValidationError("\(error)")
        }
    }
    var candidates: [IPv4Address] = []
    if let server, let remote = LocalAddresses.resolve(server), let source = LocalAddresses.source(toward: remote) {
        candidates.append(source)
    }
    candidates += LocalAddresses.ipv4().filter { $0.octets.0 != 127 }
    candidates += (1...9).map { IPv4Address(127, 0, 0, $0) }
    var failures: [String] = []
    for candidate in candidates {
        do {
            return Device(link: try UDPLink(localAddress: candidate.description), activeMTU: activeMTU)
        } catch {
            failures.append("\(error)")
        }
    }
    throw ValidationError("no local address for RoCEv2 over UDP: \(failures.joined(separator: "; "))")
}

/// The counters of `device`'s link when it is RoCEv2 over UDP (for `devinfo`), by name.
func linkCounters(of device: Device) -> [(name: String, value: Int)] {
    guard let link = device.link as? UDPLink else { return [] }
    let c = link.counters
    return [
        ("udp_sent_packets", c.sentPackets), ("udp_received_packets", c.receivedPackets), ("udp_send_errors", c.sendErrors),
        ("udp_malformed_packets", c.malformedPackets), ("udp_icrc_errors", c.icrcErrors),
        ("udp_unroutable_packets", c.unroutablePackets),
    ]
}
