/// An error of a pingpong run (`softroce rc-pingpong`, `softroce ud-pingpong`). ``message`` is
/// what rdma-core's `ibv_rc_pingpong` or `ibv_ud_pingpong` prints to standard error for the same
/// failure (one or more lines); ``detail`` says why, when SoftRoCE knows more (the verbs error,
/// `strerror`, ...).
public struct PingPongError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What failed. An open set: new codes do not break a caller's `switch`.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        /// The code's name.
        public let name: String
        private init(_ name: String) { self.name = name }
        /// The code's name.
        public var description: String { name }

        /// An option SoftRoCE does not support, or a combination rc_pingpong refuses.
        public static let unsupportedOption = Code("unsupportedOption")
        /// `-d` names another device ("IB device %s not found").
        public static let deviceNotFound = Code("deviceNotFound")
        /// Creating the PD, buffer, MR, CQ or QP, or moving the QP to INIT, failed; or (UD) the
        /// port does not exist or a message does not fit its MTU.
        public static let setupFailed = Code("setupFailed")
        /// Fewer receives than `rx_depth` could be posted.
        public static let postReceiveFailed = Code("postReceiveFailed")
        /// The port or GID index does not exist.
        public static let addressQueryFailed = Code("addressQueryFailed")
        /// The server name did not resolve, or no address of it accepted the connection.
        public static let connectFailed = Code("connectFailed")
        /// The server could not listen on its port, or `accept` failed.
        public static let listenFailed = Code("listenFailed")
        /// Reading or writing the exchange failed: the peer closed early, or a write failed.
        public static let exchangeFailed = Code("exchangeFailed")
        /// The peer's address message is not `%04x:%06x:%06x:<32 hex digits>`.
        public static let malformedMessage = Code("malformedMessage")
        /// Moving the QP to RTR or RTS failed, or (UD) creating the address handle of the peer.
        public static let connectQueuePairFailed = Code("connectQueuePairFailed")
        /// Posting a SEND failed.
        public static let postSendFailed = Code("postSendFailed")
        /// A work completion failed, or carried an unknown `wr_id`.
        public static let completionFailed = Code("completionFailed")
        /// Waiting for a completion event failed, or the completion queue overflowed.
        public static let completionQueueFailed = Code("completionQueueFailed")
        /// The peer did not answer within the configured time limit (exchange or completions).
        public static let timedOut = Code("timedOut")
    }

    /// What failed.
    public let code: Code
    /// rdma-core's standard-error text for the failure (lines separated by newlines).
    public let message: String
    /// More about the cause, if known.
    public let detail: String?

    /// Creates an error.
    public init(_ code: Code, _ message: String, detail: String? = nil) {
        self.code = code
        self.message = message
        self.detail = detail
    }

    /// ``message``, then ``detail`` in parentheses on its own line.
    public var description: String { detail.map { "\(message)\n(\($0))" } ?? message }
}
