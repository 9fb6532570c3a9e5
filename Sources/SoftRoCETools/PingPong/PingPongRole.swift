/// Which side of a pingpong tool's exchange a process is: rdma-core's examples are the server
/// without a host argument and a client with one.
public enum PingPongRole: Hashable, Sendable {
    /// Waits for a client on the configuration's TCP port (no server argument).
    case server
    /// Connects to the server at this host name or address (the `<host>` argument).
    case client(serverName: String)

    /// Whether this side connects to a server (rdma-core's `servername != NULL`).
    public var isClient: Bool {
        if case .client = self { return true }
        return false
    }
}
