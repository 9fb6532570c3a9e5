/// What a pingpong run reports while it runs, in order: the lines rc_pingpong prints and the
/// moment the server starts listening.
public enum PingPongEvent: Hashable, Sendable {
    /// A line for standard output (without its newline).
    case standardOutput(String)
    /// A warning line for standard error (without its newline); the run continues.
    case standardError(String)
    /// The server listens on this TCP port and waits for a client to connect.
    case listening(port: UInt16)
}
