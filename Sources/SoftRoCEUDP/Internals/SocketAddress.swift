import SoftRoCEWire

#if canImport(Glibc)
@preconcurrency import Glibc
#endif

extension sockaddr_in {
    /// The socket address of `address:port` (both stored in network byte order).
    init(_ address: IPv4Address, port: UInt16) {
        self.init()
        sin_family = sa_family_t(AF_INET)
        sin_port = port.bigEndian
        sin_addr.s_addr = address.rawValue.bigEndian
    }

    /// The IPv4 address it holds.
    var ipv4Address: IPv4Address { IPv4Address(rawValue: UInt32(bigEndian: sin_addr.s_addr)) }

    /// Runs `body` with the address as the `sockaddr` pointer and length the socket calls take.
    func withSocketAddress<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
        withUnsafePointer(to: self) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
    }
}

extension UnsafePointer<sockaddr> {
    /// The IPv4 address of a `sockaddr` known to be `AF_INET`.
    var ipv4Address: IPv4Address { withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.ipv4Address } }
}

extension UnsafeMutablePointer<sockaddr> {
    /// The IPv4 address of a `sockaddr` known to be `AF_INET`.
    var ipv4Address: IPv4Address { UnsafePointer(self).ipv4Address }
}
