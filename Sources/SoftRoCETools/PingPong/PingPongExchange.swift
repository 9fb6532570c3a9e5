/// The pingpong tools' out-of-band TCP exchange, byte for byte and in rdma-core's order
/// (libibverbs/examples/rc_pingpong.c; ud_pingpong.c's `pp_client_exch_dest` and
/// `pp_server_exch_dest` are the same), so either side can be the real `ibv_rc_pingpong` or
/// `ibv_ud_pingpong`:
///
/// - client (`pp_client_exch_dest`): connect; write its 52-byte address message; read the
///   server's; write `"done"` with its NUL (5 bytes); close; then decode the server's message.
/// - server (`pp_server_exch_dest`): listen (``TCPListener``); accept one client and stop
///   listening; read the client's message and decode it; connect its QP to the client's
///   (RTR, RTS) before it answers; write its own message; read the client's 5-byte `"done"`;
///   close.
///
/// Each step can be given a time limit; without one it waits as rc_pingpong does. rc_pingpong
/// reads each message with one `read`; these reads also take a message that arrives in pieces.
/// Where rc_pingpong only counts the bytes of `"done"`, the server here also checks them.
public enum PingPongExchange {
    /// `"done"` and its NUL, `sizeof "done"` bytes: the client's last write.
    public static let doneMessage: [UInt8] = Array("done".utf8) + [0]

    /// The exchange for `role`: a client connects to its server (``client(serverName:port:local:timeout:)``);
    /// a server listens on `port`, calls `listening` with the bound port, then serves one client
    /// (``server(listener:local:timeout:connect:)``).
    /// - Parameters:
    ///   - role: this side.
    ///   - port: the server's TCP port (0 on a server: the kernel chooses).
    ///   - local: this side's address.
    ///   - timeout: the limit for each step (nil: none).
    ///   - listening: told the port the server listens on, before it waits for a client.
    ///   - connect: the server's `pp_connect_ctx`, called with the client's address before it
    ///     answers.
    /// - Returns: the peer's address.
    /// - Throws: ``PingPongError`` as the two sides' functions, and `.listenFailed` ("Couldn't
    ///   listen to port %d") when the server cannot bind.
    public static func exchange(
        role: PingPongRole, port: Int, local: PingPongDestination, timeout: Duration? = nil,
        listening: (UInt16) -> Void = { _ in }, connect: (PingPongDestination) throws(PingPongError) -> Void
    ) throws(PingPongError) -> PingPongDestination {
        switch role {
        case .client(let serverName):
            return try client(serverName: serverName, port: port, local: local, timeout: timeout)
        case .server:
            let listener: TCPListener
            do {
                listener = try TCPListener(port: port)
            } catch {
                throw PingPongError(.listenFailed, "Couldn't listen to port \(port)", detail: error.description)
            }
            listening(listener.port)
            return try server(listener: listener, local: local, timeout: timeout, connect: connect)
        }
    }

    /// The client's side: sends `local`, returns the server's address.
    /// - Parameters:
    ///   - serverName: the server's host name or address.
    ///   - port: the server's TCP port.
    ///   - local: this side's address.
    ///   - timeout: the limit for connecting and for the read (nil: none).
    /// - Throws: ``PingPongError`` `.connectFailed` ("Couldn't connect to %s:%d", or
    ///   gai_strerror's text "for %s:%d"), `.exchangeFailed` ("Couldn't send local address",
    ///   "Couldn't read/write remote address"), `.timedOut`, `.malformedMessage`.
    public static func client(
        serverName: String, port: Int, local: PingPongDestination, timeout: Duration? = nil
    ) throws(PingPongError) -> PingPongDestination {
        let connection: TCPConnection
        do {
            connection = try TCPConnection.connect(host: serverName, port: port, timeout: timeout)
        } catch {
            if error.code == .addressResolution {
                throw PingPongError(.connectFailed, "\(error.reason) for \(serverName):\(port)")
            }
            throw PingPongError(
                error.code == .timedOut ? .timedOut : .connectFailed, "Couldn't connect to \(serverName):\(port)", detail: error.description)
        }
        defer { connection.close() }
        do {
            try connection.send(local.message)
        } catch {
            throw PingPongError(.exchangeFailed, "Couldn't send local address", detail: error.description)
        }
        let failed = "Couldn't read/write remote address"
        let message: [UInt8]
        do {
            message = try connection.receive(count: PingPongDestination.messageSize, timeout: timeout)
        } catch {
            throw PingPongError(error.code == .timedOut ? .timedOut : .exchangeFailed, failed, detail: error.description)
        }
        guard message.count == PingPongDestination.messageSize else {
            throw PingPongError(
                .exchangeFailed, failed,
                detail: "the server closed the connection after \(message.count) of \(PingPongDestination.messageSize) bytes")
        }
        do {
            try connection.send(doneMessage)
        } catch {
            throw PingPongError(.exchangeFailed, failed, detail: error.description)
        }
        return try PingPongDestination(message: message)
    }

    /// The server's side on a listening socket: accepts one client, reads its address, calls
    /// `connect` with it (rc_pingpong moves its QP to RTR and RTS here, before it answers),
    /// sends `local` and waits for the client's `"done"`. Closes `listener` once a client is
    /// accepted (or waiting failed).
    /// - Parameters:
    ///   - listener: the socket listening on the exchange port.
    ///   - local: this side's address.
    ///   - timeout: the limit for the accept and for each read (nil: none).
    ///   - connect: connects the QP to the client's address; its error ends the exchange.
    /// - Throws: ``PingPongError`` `.listenFailed` ("accept() failed"), `.exchangeFailed`
    ///   ("%d/%d: Couldn't read remote address", "Couldn't send/recv local address"), `.timedOut`,
    ///   `.malformedMessage`, or what `connect` throws (followed by "Couldn't connect to remote QP").
    public static func server(
        listener: TCPListener, local: PingPongDestination, timeout: Duration? = nil,
        connect: (PingPongDestination) throws(PingPongError) -> Void
    ) throws(PingPongError) -> PingPongDestination {
        let connection: TCPConnection
        do {
            defer { listener.close() }
            connection = try listener.accept(timeout: timeout)
        } catch {
            throw PingPongError(error.code == .timedOut ? .timedOut : .listenFailed, "accept() failed", detail: error.description)
        }
        defer { connection.close() }
        let message: [UInt8]
        do {
            message = try connection.receive(count: PingPongDestination.messageSize, timeout: timeout)
        } catch {
            throw PingPongError(
                error.code == .timedOut ? .timedOut : .exchangeFailed,
                "-1/\(PingPongDestination.messageSize): Couldn't read remote address", detail: error.description)
        }
        guard message.count == PingPongDestination.messageSize else {
            throw PingPongError(
                .exchangeFailed, "\(message.count)/\(PingPongDestination.messageSize): Couldn't read remote address",
                detail: "the client closed the connection after \(message.count) bytes")
        }
        let remote = try PingPongDestination(message: message)
        do {
            try connect(remote)
        } catch {
            throw PingPongError(error.code, error.message + "\nCouldn't connect to remote QP", detail: error.detail)
        }
        let failed = "Couldn't send/recv local address"
        let done: [UInt8]
        do {
            try connection.send(local.message)
            done = try connection.receive(count: doneMessage.count, timeout: timeout)
        } catch {
            throw PingPongError(error.code == .timedOut ? .timedOut : .exchangeFailed, failed, detail: error.description)
        }
        guard done == doneMessage else {
            let shown = done.map { PingPongDestination.hex(UInt32($0), width: 2) }.joined(separator: " ")
            throw PingPongError(.exchangeFailed, failed, detail: "the client sent [\(shown)] instead of \"done\" and its NUL")
        }
        return remote
    }
}
