import Synchronization

/// A connected TCP stream socket: the out-of-band channel the pingpong tools exchange their
/// queue pair addresses over. Writes never raise `SIGPIPE` (a vanished peer is an error), and
/// every wait takes an optional time limit, so a silent or vanished peer cannot hang the caller.
/// The descriptor is closed by ``close()`` or when the connection is released.
public final class TCPConnection: Sendable {
    private let descriptor: Atomic<Int32>

    init(descriptor: Int32) {
        self.descriptor = Atomic(descriptor)
    }

    deinit { close() }

    /// Connects to `host`:`port`, trying each address `getaddrinfo` returns (IPv4 and IPv6, in
    /// its order) until one accepts, as `pp_client_exch_dest` does.
    ///
    /// - Parameters:
    ///   - host: a host name or numeric address.
    ///   - port: the TCP port.
    ///   - timeout: how long each connection attempt may take (nil: as long as the kernel tries).
    /// - Throws: ``SocketError`` `.addressResolution` when the name does not resolve; the last
    ///   attempt's `.system` error (`ECONNREFUSED`, `ENETUNREACH`, ...) or `.timedOut` otherwise.
    public static func connect(host: String, port: Int, timeout: Duration? = nil) throws(SocketError) -> TCPConnection {
        let operation = "connect \(host):\(port)"
        let addresses: [Syscalls.ResolvedAddress]
        switch Syscalls.resolve(host: host, service: String(port), passive: false) {
        case .success(let resolved): addresses = resolved
        case .failure(let code): throw SocketError(.addressResolution, operation: operation, systemCode: code.number)
        }
        var lastError = SocketError(.addressResolution, operation: operation, systemCode: 0)
        for address in addresses {
            let fd: Int32
            switch Syscalls.socket(address) {
            case .success(let opened): fd = opened
            case .failure(let code):
                lastError = SocketError(.system, operation: operation, systemCode: code.number)
                continue
            }
            switch Syscalls.connect(fd, to: address, timeoutMilliseconds: Self.milliseconds(timeout)) {
            case .success:
                return TCPConnection(descriptor: fd)
            case .failure(let code):
                Syscalls.close(fd)
                lastError = code.number == Syscalls.timedOutError && timeout != nil
                    ? SocketError(.timedOut, operation: operation)
                    : SocketError(.system, operation: operation, systemCode: code.number)
            }
        }
        throw lastError
    }

    /// Sends all of `bytes`.
    /// - Throws: ``SocketError`` `.system` (`EPIPE`, `ECONNRESET` when the peer is gone).
    public func send(_ bytes: [UInt8]) throws(SocketError) {
        let fd = descriptor.load(ordering: .acquiring)
        guard fd >= 0 else { throw SocketError(.system, operation: "write", systemCode: Syscalls.badDescriptorError) }
        if case .failure(let code) = Syscalls.send(fd, bytes) {
            throw SocketError(.system, operation: "write", systemCode: code.number)
        }
    }

    /// Receives `count` bytes, or fewer if the peer closes the stream first (then the result is
    /// what arrived before the end).
    /// - Parameters:
    ///   - count: the bytes wanted.
    ///   - timeout: the time limit for all of them (nil: none).
    /// - Throws: ``SocketError`` `.timedOut`, or `.system` for a failed read.
    public func receive(count: Int, timeout: Duration? = nil) throws(SocketError) -> [UInt8] {
        let fd = descriptor.load(ordering: .acquiring)
        guard fd >= 0 else { throw SocketError(.system, operation: "read", systemCode: Syscalls.badDescriptorError) }
        let deadline = timeout.map { ContinuousClock.now + $0 }
        var bytes: [UInt8] = []
        while bytes.count < count {
            var wait: Int32 = -1
            if let deadline {
                let left = deadline - ContinuousClock.now
                guard left > .zero else { throw SocketError(.timedOut, operation: "read") }
                wait = Self.milliseconds(left)
            }
            switch Syscalls.poll(fd, events: Syscalls.readableEvent, timeoutMilliseconds: wait) {
            case .failure(let code): throw SocketError(.system, operation: "read", systemCode: code.number)
            case .success(false): throw SocketError(.timedOut, operation: "read")
            case .success(true): break
            }
            switch Syscalls.read(fd, count: count - bytes.count) {
            case .failure(let code): throw SocketError(.system, operation: "read", systemCode: code.number)
            case .success(let piece):
                if piece.isEmpty { return bytes }
                bytes += piece
            }
        }
        return bytes
    }

    /// Closes the socket; later calls do nothing.
    public func close() {
        let fd = descriptor.exchange(-1, ordering: .acquiringAndReleasing)
        if fd >= 0 { Syscalls.close(fd) }
    }

    /// A time limit in whole milliseconds for `poll` (-1: none), rounded up so a short limit
    /// still waits.
    static func milliseconds(_ duration: Duration?) -> Int32 {
        guard let duration else { return -1 }
        let (seconds, attoseconds) = duration.components
        guard seconds >= 0 else { return 0 }
        let total = seconds.multipliedReportingOverflow(by: 1000)
        guard !total.overflow, total.partialValue < Int64(Int32.max) - 1 else { return Int32.max }
        return Int32(total.partialValue + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000)
    }
}
