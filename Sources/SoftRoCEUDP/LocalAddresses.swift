public import SoftRoCEWire

#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// The host's IPv4 addresses, for choosing the one a ``UDPLink`` binds when none is given.
public enum LocalAddresses {
    /// The IPv4 addresses of the host's interfaces that are up, non-loopback ones first, in the
    /// order `getifaddrs(3)` lists them.
    public static func ipv4() -> [IPv4Address] {
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0, let first = list else { return [] }
        defer { freeifaddrs(first) }
        var external: [IPv4Address] = []
        var loopback: [IPv4Address] = []
        var cursor: UnsafeMutablePointer<ifaddrs>? = first
        while let entry = cursor {
            defer { cursor = entry.pointee.ifa_next }
            guard let address = entry.pointee.ifa_addr, address.pointee.sa_family == sa_family_t(AF_INET),
                entry.pointee.ifa_flags & UInt32(IFF_UP) != 0
            else { continue }
            let ipv4 = address.ipv4Address
            if entry.pointee.ifa_flags & UInt32(IFF_LOOPBACK) != 0 { loopback.append(ipv4) } else { external.append(ipv4) }
        }
        return external + loopback
    }

    /// The local address the host's routing table picks to reach `destination` (a UDP socket
    /// connected to it, then `getsockname`); nil if there is no route.
    public static func source(toward destination: IPv4Address) -> IPv4Address? {
        let descriptor = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        let connected = sockaddr_in(destination, port: UDPHeader.roceV2Port).withSocketAddress { connect(descriptor, $0, $1) }
        guard connected == 0 else { return nil }
        var local = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &local) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        return named == 0 ? local.ipv4Address : nil
    }

    /// Resolves `host` (a name or a dotted quad) to its first IPv4 address (`getaddrinfo(3)`).
    public static func resolve(_ host: String) -> IPv4Address? {
        if let literal = IPv4Address(host) { return literal }
        var hints = addrinfo()
        hints.ai_family = AF_INET
        hints.ai_socktype = Int32(SOCK_DGRAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, nil, &hints, &result) == 0, let first = result else { return nil }
        defer { freeaddrinfo(first) }
        guard let address = first.pointee.ai_addr else { return nil }
        return address.ipv4Address
    }
}
