import SoftRoCEWire
import SystemPackage

#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// A UDP socket over IPv4 bound to one local address and port: the RoCEv2 port of a
/// ``UDPLink``. A thin wrapper over the POSIX calls, with failures as `Errno`.
///
/// Datagrams leave with the IPv4 "don't fragment" bit set (`IP_PMTUDISC_DO`), as Linux rxe sends
/// them; with that bit set the kernel writes identification 0 into the IPv4 header of a datagram
/// sent on an unconnected socket (`ip_select_ident_segs`), which is what the ICRC of each packet
/// is computed over.
final class UDPSocket: Sendable {
    /// The file descriptor; valid until the socket is deinitialised.
    let descriptor: Int32
    /// The local address and port the socket is bound to.
    let address: IPv4Address
    let port: UInt16

    /// Opens a socket and binds it to `address:port`.
    ///
    /// - Parameters:
    ///   - receiveBufferBytes: the kernel receive buffer to ask for (`SO_RCVBUF`), in bytes.
    ///   - receiveTimeout: how long one receive may block (`SO_RCVTIMEO`): the receive thread
    ///     checks for a stop request at least this often.
    /// - Throws: the `Errno` of `socket`, `setsockopt` or `bind` (`EADDRINUSE` if another socket
    ///   holds the address and port, `EADDRNOTAVAIL` if the address is not local).
    init(binding address: IPv4Address, port: UInt16, receiveBufferBytes: Int, receiveTimeout: Duration) throws(Errno) {
        let descriptor = socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw Errno(rawValue: errno) }
        if let error = Self.configure(descriptor, address: address, port: port, receiveBufferBytes: receiveBufferBytes, receiveTimeout: receiveTimeout) {
            close(descriptor)
            throw error
        }
        self.descriptor = descriptor
        self.address = address
        self.port = port
    }

    deinit { close(descriptor) }

    /// Sends one datagram to `destination:port`.
    ///
    /// - Returns: nil when the kernel took the datagram, else the `Errno` (`ENOBUFS`/`EAGAIN`
    ///   when its buffers are full, `EMSGSIZE` beyond the path MTU, `ECONNREFUSED` echoing an
    ///   earlier ICMP error).
    func send(_ bytes: UnsafeRawBufferPointer, to destination: IPv4Address, port: UInt16) -> Errno? {
        let sent = sockaddr_in(destination, port: port).withSocketAddress {
            sendto(descriptor, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL), $0, $1)
        }
        return sent < 0 ? Errno(rawValue: errno) : nil
    }

    /// One datagram received: its length (the whole datagram's, even when it did not fit), and
    /// where it came from.
    struct Received {
        var byteCount: Int
        var source: IPv4Address
        var sourcePort: UInt16
    }

    /// Waits up to the receive timeout for one datagram and copies it into `buffer`.
    ///
    /// - Returns: the datagram (`byteCount` larger than `buffer.count` means it was truncated),
    ///   or `EAGAIN` when the timeout passed, `EINTR`, or the error the socket reports.
    func receive(into buffer: UnsafeMutableRawBufferPointer) -> Result<Received, Errno> {
        var remote = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let count = withUnsafeMutablePointer(to: &remote) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                recvfrom(descriptor, buffer.baseAddress, buffer.count, Int32(MSG_TRUNC), $0, &length)
            }
        }
        guard count >= 0 else { return .failure(Errno(rawValue: errno)) }
        return .success(Received(byteCount: count, source: remote.ipv4Address, sourcePort: UInt16(bigEndian: remote.sin_port)))
    }

    /// Wakes a receive blocked on the socket (`shutdown(SHUT_RDWR)`, which Linux honours on an
    /// unconnected UDP socket although it reports `ENOTCONN`).
    func wakeReceivers() { _ = shutdown(descriptor, Int32(SHUT_RDWR)) }

    /// Sets the socket's options and binds it; the first failure's `Errno`, or nil.
    private static func configure(
        _ descriptor: Int32, address: IPv4Address, port: UInt16, receiveBufferBytes: Int, receiveTimeout: Duration
    ) -> Errno? {
        guard set(descriptor, Int32(IPPROTO_IP), IP_MTU_DISCOVER, Int32(IP_PMTUDISC_DO)),
            set(descriptor, SOL_SOCKET, SO_RCVBUF, Int32(clamping: receiveBufferBytes)),
            set(descriptor, SOL_SOCKET, SO_SNDBUF, Int32(clamping: receiveBufferBytes))
        else { return Errno(rawValue: errno) }
        let (seconds, attoseconds) = receiveTimeout.components
        var timeout = timeval(tv_sec: Int(seconds), tv_usec: Int(attoseconds / 1_000_000_000_000))
        if setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size)) != 0 {
            return Errno(rawValue: errno)
        }
        let bound = sockaddr_in(address, port: port).withSocketAddress { bind(descriptor, $0, $1) }
        return bound == 0 ? nil : Errno(rawValue: errno)
    }

    private static func set(_ descriptor: Int32, _ level: Int32, _ option: Int32, _ value: Int32) -> Bool {
        var value = value
        return setsockopt(descriptor, level, option, &value, socklen_t(MemoryLayout<Int32>.size)) == 0
    }
}
