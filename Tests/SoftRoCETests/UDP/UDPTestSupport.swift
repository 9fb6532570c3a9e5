import SoftRoCE
import SoftRoCEUDP
import SoftRoCEWire

#if canImport(Glibc)
import Glibc
#endif

/// A loopback address of its own for each link a test opens (all of 127.0.0.0/8 is local on
/// Linux), so tests running in parallel never share an address and port 4791.
func uniqueLoopbackAddress() -> String {
    "127.\(Int.random(in: 100...199)).\(Int.random(in: 0...255)).\(Int.random(in: 1...254))"
}

/// Opens a link on a fresh loopback address (retrying if another test drew the same one).
func openLoopbackLink() throws -> UDPLink {
    var attempts = 0
    while true {
        do {
            return try UDPLink(localAddress: uniqueLoopbackAddress())
        } catch {
            attempts += 1
            if attempts == 8 { throw error }
        }
    }
}

/// Two connected RC endpoints, each on its own device and its own RoCEv2/UDP link.
func udpPair(
    onDemand: Bool = false, mtu: PathMTU = .mtu1024, bufferSize: Int = 1 << 20, timeout: UInt8 = 14
) throws -> (client: Endpoint, server: Endpoint, links: (UDPLink, UDPLink)) {
    let links = (try openLoopbackLink(), try openLoopbackLink())
    let client = try Endpoint(device: Device(name: "softroce-udp-a", link: links.0), bufferSize: bufferSize, onDemand: onDemand)
    let server = try Endpoint(device: Device(name: "softroce-udp-b", link: links.1), bufferSize: bufferSize, onDemand: onDemand)
    try client.connect(to: server, mtu: mtu, timeout: timeout)
    try server.connect(to: client, mtu: mtu, timeout: timeout)
    return (client, server, links)
}

/// A plain UDP socket for tests that play the other end of a link by hand: send it arbitrary
/// bytes, or capture the datagrams it sends.
final class PlainUDPSocket {
    let descriptor: Int32
    let address: IPv4Address

    init(address: IPv4Address, port: UInt16 = UDPHeader.roceV2Port) throws {
        descriptor = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        self.address = address
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var local = Self.socketAddress(address, port: port)
        let rc = withUnsafePointer(to: &local) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else {
            close(descriptor)
            throw PlainSocketError(errno: errno)
        }
    }

    deinit { close(descriptor) }

    struct PlainSocketError: Error { var errno: Int32 }

    /// Sends `bytes` to `destination:4791`.
    func send(_ bytes: [UInt8], to destination: IPv4Address) {
        var remote = Self.socketAddress(destination, port: UDPHeader.roceV2Port)
        _ = bytes.withUnsafeBytes { raw in
            withUnsafePointer(to: &remote) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(descriptor, raw.baseAddress, raw.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        }
    }

    /// The next datagram (waits up to 5 s), with its source port; nil on timeout.
    func receive() -> (bytes: [UInt8], sourcePort: UInt16)? {
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        var remote = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let count = buffer.withUnsafeMutableBytes { raw in
            withUnsafeMutablePointer(to: &remote) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(descriptor, raw.baseAddress, raw.count, 0, $0, &length) }
            }
        }
        guard count >= 0 else { return nil }
        return (Array(buffer[0..<count]), UInt16(bigEndian: remote.sin_port))
    }

    static func socketAddress(_ address: IPv4Address, port: UInt16) -> sockaddr_in {
        var result = sockaddr_in()
        result.sin_family = sa_family_t(AF_INET)
        result.sin_port = port.bigEndian
        result.sin_addr.s_addr = address.rawValue.bigEndian
        return result
    }
}

/// A packet socket (`AF_PACKET`, `SOCK_DGRAM`: IP packets without the link header) that sees every
/// IPv4 packet of the host's interfaces, the loopback one included, headers as on the wire.
/// Needs `CAP_NET_RAW`.
final class PacketCapture {
    let descriptor: Int32

    /// Whether this process may open one (root or `CAP_NET_RAW`).
    static var isPermitted: Bool { (try? PacketCapture()) != nil }

    init() throws {
        let ethernetIP = UInt16(0x0800)
        descriptor = socket(AF_PACKET, Int32(SOCK_DGRAM.rawValue), Int32(ethernetIP.bigEndian))
        guard descriptor >= 0 else { throw PlainUDPSocket.PlainSocketError(errno: errno) }
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(descriptor) }

    /// The next IPv4 packet from `source` to UDP port 4791 (waits up to 5 s per packet seen).
    func nextRoCEPacket(from source: IPv4Address) -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { return nil }
            let packet = Array(buffer[0..<count])
            guard let ip = IPv4Header.decode(from: packet.span), ip.source == source, ip.protocolNumber == IPv4Header.udpProtocol,
                let udp = UDPHeader.decode(from: packet.span, at: ip.headerLength), udp.destinationPort == UDPHeader.roceV2Port
            else { continue }
            return packet
        }
    }
}

/// Whether a sanitizer runtime (ThreadSanitizer or AddressSanitizer) is linked into the tests.
/// Their allocators, quarantines and shadow memory take kernel page faults on every thread by
/// design, so a count of the data path's kernel faults means nothing under them.
let sanitizerRuntimeActive: Bool = dlsym(nil, "__tsan_init") != nil || dlsym(nil, "__asan_init") != nil
