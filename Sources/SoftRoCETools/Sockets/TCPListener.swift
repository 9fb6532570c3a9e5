import Synchronization

/// A listening TCP socket on every local address, as `pp_server_exch_dest` opens it:
/// `getaddrinfo(NULL, port, AI_PASSIVE)`, `SO_REUSEADDR`, `bind` to the first address that takes
/// it, `listen(fd, 1)`.
public final class TCPListener: Sendable {
    /// The port listened on (the kernel's choice when created with port 0).
    public let port: UInt16
    private let descriptor: Atomic<Int32>

    /// Binds and listens.
    /// - Parameter port: the TCP port; 0 lets the kernel choose one (see ``port``).
    /// - Throws: ``SocketError`` `.addressResolution`, or `.system` when no address could be bound
    ///   (`EADDRINUSE`, `EACCES`) or `listen` failed.
    public init(port: Int) throws(SocketError) {
        let operation = "listen on port \(port)"
        let addresses: [Syscalls.ResolvedAddress]
        switch Syscalls.resolve(host: nil, service: String(port), passive: true) {
        case .success(let resolved): addresses = resolved
        case .failure(let code): throw SocketError(.addressResolution, operation: operation, systemCode: code.number)
        }
        var bound: Int32?
        var lastError = SocketError(.addressResolution, operation: operation, systemCode: 0)
        for address in addresses {
            guard case .success(let fd) = Syscalls.socket(address) else { continue }
            Syscalls.setReuseAddress(fd)
            switch Syscalls.bind(fd, to: address) {
            case .success:
                bound = fd
            case .failure(let code):
                Syscalls.close(fd)
                lastError = SocketError(.system, operation: operation, systemCode: code.number)
            }
            if bound != nil { break }
        }
        guard let fd = bound else { throw lastError }
        if case .failure(let code) = Syscalls.listen(fd, backlog: 1) {
            Syscalls.close(fd)
            throw SocketError(.system, operation: operation, systemCode: code.number)
        }
        guard let actual = Syscalls.localPort(fd) else {
            Syscalls.close(fd)
            throw SocketError(.system, operation: operation, systemCode: Syscalls.badDescriptorError)
        }
        self.port = actual
        self.descriptor = Atomic(fd)
    }

    deinit { close() }

    /// Waits for one connection.
    /// - Parameter timeout: how long to wait (nil: until a peer connects).
    /// - Throws: ``SocketError`` `.timedOut`, or `.system` for a failed `accept`.
    public func accept(timeout: Duration? = nil) throws(SocketError) -> TCPConnection {
        let fd = descriptor.load(ordering: .acquiring)
        guard fd >= 0 else { throw SocketError(.system, operation: "accept", systemCode: Syscalls.badDescriptorError) }
        switch Syscalls.poll(fd, events: Syscalls.readableEvent, timeoutMilliseconds: TCPConnection.milliseconds(timeout)) {
        case .failure(let code): throw SocketError(.system, operation: "accept", systemCode: code.number)
        case .success(false): throw SocketError(.timedOut, operation: "accept")
        case .success(true): break
        }
        switch Syscalls.accept(fd) {
        case .success(let connection): return TCPConnection(descriptor: connection)
        case .failure(let code): throw SocketError(.system, operation: "accept", systemCode: code.number)
        }
    }

    /// Stops listening; later calls do nothing.
    public func close() {
        let fd = descriptor.exchange(-1, ordering: .acquiringAndReleasing)
        if fd >= 0 { Syscalls.close(fd) }
    }
}
