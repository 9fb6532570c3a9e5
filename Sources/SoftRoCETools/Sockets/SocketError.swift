/// An error of the TCP sockets the pingpong tools exchange their addresses over.
public struct SocketError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What went wrong.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        /// The code's name.
        public let name: String
        private init(_ name: String) { self.name = name }
        /// The code's name.
        public var description: String { name }

        /// `getaddrinfo` failed: ``SocketError/systemCode`` is its `EAI_*` code.
        public static let addressResolution = Code("addressResolution")
        /// A system call failed: ``SocketError/systemCode`` is its `errno`.
        public static let system = Code("system")
        /// The peer did not answer within the caller's time limit.
        public static let timedOut = Code("timedOut")
    }

    /// What went wrong.
    public let code: Code
    /// The operation, e.g. `connect 10.0.0.2:18515` or `read`.
    public let operation: String
    /// The `errno` (``Code/system``) or `EAI_*` code (``Code/addressResolution``); nil otherwise.
    public let systemCode: Int32?

    /// Creates an error.
    public init(_ code: Code, operation: String, systemCode: Int32? = nil) {
        self.code = code
        self.operation = operation
        self.systemCode = systemCode
    }

    /// The system's text for the failure (`strerror`, `gai_strerror`), or "timed out".
    public var reason: String {
        switch code {
        case .addressResolution: Syscalls.addressErrorText(systemCode ?? 0)
        case .system: Syscalls.errorText(systemCode ?? 0)
        default: "timed out"
        }
    }

    /// The operation and the reason, e.g. `connect 10.0.0.2:18515: Connection refused`.
    public var description: String { "\(operation): \(reason)" }
}
