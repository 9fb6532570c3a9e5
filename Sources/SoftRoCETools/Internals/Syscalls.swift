@preconcurrency import Glibc

/// The C library calls of SoftRoCETools, and the only file of the module that imports Glibc:
/// TCP sockets for the pingpong tools' out-of-band exchange, `printf`-style number formatting and
/// unbuffered writes to the standard streams. Calls retry `EINTR` and report `errno` as a value;
/// the public types over them (``TCPConnection``, ``TCPListener``, ``StandardStreams``) throw.
enum Syscalls {
    /// One address `getaddrinfo` returned: what `socket` and `connect`/`bind` take.
    struct ResolvedAddress {
        var family: Int32
        var socketType: Int32
        var protocolNumber: Int32
        /// The `sockaddr` bytes (`ai_addr`, `ai_addrlen` long).
        var socketAddress: [UInt8]
    }

    /// A failed call's `errno` (or `getaddrinfo`'s `EAI_*` code).
    struct Failure: Error {
        var number: Int32
        init(_ number: Int32) { self.number = number }
    }

    /// `POLLIN`: readable.
    static let readableEvent = Int16(POLLIN)
    /// `ETIMEDOUT`: what ``connect(_:to:timeoutMilliseconds:)`` reports when its time is up.
    static let timedOutError = ETIMEDOUT
    /// `EBADF`: an operation on a closed socket.
    static let badDescriptorError = EBADF

    /// `strerror(code)`.
    static func errorText(_ code: Int32) -> String { String(cString: strerror(code)) }

    /// `gai_strerror(code)`.
    static func addressErrorText(_ code: Int32) -> String { String(cString: gai_strerror(code)) }

    // MARK: Sockets

    /// Resolves `host` (nil: the wildcard address, `AI_PASSIVE`) and `service` for TCP with
    /// `AF_UNSPEC`, in the order `getaddrinfo` gives, as rdma-core's pingpong examples do.
    /// The corresponding C call is `getaddrinfo(3)`; a failure is its `EAI_*` code.
    static func resolve(host: String?, service: String, passive: Bool) -> Result<[ResolvedAddress], Syscalls.Failure> {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        if passive { hints.ai_flags = AI_PASSIVE }
        var list: UnsafeMutablePointer<addrinfo>?
        let status: Int32
        if let host {
            status = getaddrinfo(host, service, &hints, &list)
        } else {
            status = getaddrinfo(nil, service, &hints, &list)
        }
        guard status == 0 else { return .failure(Failure(status)) }
        defer { freeaddrinfo(list) }
        var addresses: [ResolvedAddress] = []
        var entry = list
        while let current = entry {
            let info = current.pointee
            var bytes: [UInt8] = []
            if let address = info.ai_addr {
                bytes = Array(UnsafeRawBufferPointer(start: address, count: Int(info.ai_addrlen)))
            }
            addresses.append(ResolvedAddress(
                family: info.ai_family, socketType: info.ai_socktype, protocolNumber: info.ai_protocol, socketAddress: bytes))
            entry = info.ai_next
        }
        return .success(addresses)
    }

    /// Opens a socket. The corresponding C call is `socket(2)` (with `SOCK_CLOEXEC`).
    static func socket(_ address: ResolvedAddress) -> Result<Int32, Syscalls.Failure> {
        let fd = Glibc.socket(address.family, address.socketType | Int32(SOCK_CLOEXEC.rawValue), address.protocolNumber)
        return fd >= 0 ? .success(fd) : .failure(Failure(errno))
    }

    /// Sets `SO_REUSEADDR`, as the pingpong servers do before `bind`. The corresponding C call is
    /// `setsockopt(2)`.
    static func setReuseAddress(_ fd: Int32) {
        var one: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    /// The corresponding C call is `bind(2)`.
    static func bind(_ fd: Int32, to address: ResolvedAddress) -> Result<Void, Syscalls.Failure> {
        let status = address.socketAddress.withUnsafeBytes { raw in
            Glibc.bind(fd, raw.baseAddress?.assumingMemoryBound(to: sockaddr.self), socklen_t(raw.count))
        }
        return status == 0 ? .success(()) : .failure(Failure(errno))
    }

    /// The corresponding C call is `listen(2)`.
    static func listen(_ fd: Int32, backlog: Int32) -> Result<Void, Syscalls.Failure> {
        Glibc.listen(fd, backlog) == 0 ? .success(()) : .failure(Failure(errno))
    }

    /// The port a bound socket has (the ephemeral one after binding port 0). The corresponding C
    /// call is `getsockname(2)`.
    static func localPort(_ fd: Int32) -> UInt16? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let status = withUnsafeMutablePointer(to: &storage) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard status == 0 else { return nil }
        switch Int32(storage.ss_family) {
        case AF_INET:
            return withUnsafeBytes(of: &storage) { UInt16(bigEndian: $0.load(fromByteOffset: 2, as: UInt16.self)) }
        case AF_INET6:
            return withUnsafeBytes(of: &storage) { UInt16(bigEndian: $0.load(fromByteOffset: 2, as: UInt16.self)) }
        default:
            return nil
        }
    }

    /// Connects `fd`, waiting at most `timeoutMilliseconds` (-1: as long as the kernel tries).
    /// A timeout is `ETIMEDOUT`. The corresponding C calls are `connect(2)` on a non-blocking
    /// socket, `poll(2)` and `getsockopt(SO_ERROR)`.
    static func connect(_ fd: Int32, to address: ResolvedAddress, timeoutMilliseconds: Int32) -> Result<Void, Syscalls.Failure> {
        let flags = fcntl(fd, F_GETFL)
        _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
        defer { _ = fcntl(fd, F_SETFL, flags) }
        let status = address.socketAddress.withUnsafeBytes { raw in
            Glibc.connect(fd, raw.baseAddress?.assumingMemoryBound(to: sockaddr.self), socklen_t(raw.count))
        }
        let code = status == 0 ? 0 : errno
        if status == 0 { return .success(()) }
        guard code == EINPROGRESS || code == EINTR else { return .failure(Failure(code)) }
        switch poll(fd, events: Int16(POLLOUT), timeoutMilliseconds: timeoutMilliseconds) {
        case .failure(let failure): return .failure(failure)
        case .success(false): return .failure(Failure(ETIMEDOUT))
        case .success(true): break
        }
        var error: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) == 0 else { return .failure(Failure(errno)) }
        return error == 0 ? .success(()) : .failure(Failure(error))
    }

    /// Waits until `fd` has `events` or `timeoutMilliseconds` pass (-1: no limit); `false` on
    /// timeout. Error and hang-up conditions count as ready (the next call reports them).
    /// The corresponding C call is `poll(2)`.
    static func poll(_ fd: Int32, events: Int16, timeoutMilliseconds: Int32) -> Result<Bool, Syscalls.Failure> {
        var entry = pollfd(fd: fd, events: events, revents: 0)
        while true {
            let status = Glibc.poll(&entry, 1, timeoutMilliseconds)
            if status >= 0 { return .success(status > 0) }
            let code = errno
            if code != EINTR { return .failure(Failure(code)) }
        }
    }

    /// Accepts one connection. The corresponding C calls are `accept(2)` and `fcntl(FD_CLOEXEC)`.
    static func accept(_ fd: Int32) -> Result<Int32, Syscalls.Failure> {
        while true {
            let connection = Glibc.accept(fd, nil, nil)
            if connection >= 0 {
                _ = fcntl(connection, F_SETFD, FD_CLOEXEC)
                return .success(connection)
            }
            let code = errno
            if code != EINTR { return .failure(Failure(code)) }
        }
    }

    /// Reads up to `count` bytes; an empty result is the end of the stream. The corresponding C
    /// call is `read(2)`.
    static func read(_ fd: Int32, count: Int) -> Result<[UInt8], Syscalls.Failure> {
        var bytes = [UInt8](repeating: 0, count: count)
        while true {
            let received = bytes.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, count) }
            if received >= 0 { return .success(Array(bytes.prefix(received))) }
            let code = errno
            if code != EINTR { return .failure(Failure(code)) }
        }
    }

    /// Writes all of `bytes` to a socket without raising `SIGPIPE` when the peer is gone (the
    /// failure is `EPIPE`). The corresponding C call is `send(2)` with `MSG_NOSIGNAL`.
    static func send(_ fd: Int32, _ bytes: [UInt8]) -> Result<Void, Syscalls.Failure> {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes.withUnsafeBytes { raw in
                Glibc.send(fd, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
            }
            if sent < 0 {
                let code = errno
                if code == EINTR { continue }
                return .failure(Failure(code))
            }
            offset += sent
        }
        return .success(())
    }

    /// The corresponding C call is `close(2)`.
    static func close(_ fd: Int32) { _ = Glibc.close(fd) }

    // MARK: Scheduling, standard streams and formatting

    /// Lets another runnable thread of this CPU run. The corresponding C call is `sched_yield(2)`.
    static func yield() { _ = sched_yield() }


    /// Writes all of `bytes` to `fd` (1: standard output, 2: standard error), unbuffered.
    /// The corresponding C call is `write(2)`.
    static func write(_ fd: Int32, _ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { raw in Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset) }
            if written < 0 {
                if errno == EINTR { continue }
                return
            }
            offset += written
        }
    }

    /// `value` as C's `printf("%.<decimals>f")` writes it (round-half-even on the exact binary
    /// value, `nan`/`inf` spelled as glibc does). The corresponding C call is `vsnprintf(3)`.
    static func formatFixed(_ value: Double, decimals: Int32) -> String {
        var buffer = [CChar](repeating: 0, count: 512)
        let written = withVaList([decimals, value]) { arguments in
            buffer.withUnsafeMutableBufferPointer { vsnprintf($0.baseAddress, $0.count, "%.*f", arguments) }
        }
        // 512 bytes hold any Double at %.2f (at most 309 integer digits).
        guard written >= 0, Int(written) < buffer.count else { return String(value) }
        return String(decoding: buffer.prefix(Int(written)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
