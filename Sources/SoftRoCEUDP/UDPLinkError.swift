import SystemPackage

/// Why a ``UDPLink`` could not be opened.
public enum UDPLinkError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The local address is not an IPv4 address in dotted-quad form.
    case invalidAddress(String)
    /// The system refused the socket: `EADDRNOTAVAIL` (the address is not one of this host's),
    /// `EADDRINUSE` (another socket, e.g. the kernel's rdma_rxe, holds the port), ...
    case socket(address: String, port: UInt16, errno: Errno)

    public var description: String {
        switch self {
        case .invalidAddress(let address): "not an IPv4 address: \(address)"
        case .socket(let address, let port, let errno): "cannot bind UDP \(address):\(port): \(errno)"
        }
    }
}
