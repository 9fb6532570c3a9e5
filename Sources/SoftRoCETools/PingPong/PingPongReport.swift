/// The result of a ping-pong run (``RCPingPong``, ``UDPingPong``): what rc_pingpong and
/// ud_pingpong print after their loop (the same lines), and the counts behind it.
public struct PingPongReport: Hashable, Sendable {
    /// This side's address, as sent to the peer.
    public var local: PingPongDestination
    /// The peer's address, as received.
    public var remote: PingPongDestination
    /// The message size in bytes (`-s`).
    public var size: Int
    /// The exchanges run (`-n`).
    public var iterations: Int
    /// SEND completions polled (`scnt`).
    public var sendCompletions: Int
    /// Receive completions polled (`rcnt`).
    public var receiveCompletions: Int
    /// Completion events waited for (`num_cq_events`; 0 without `-e`).
    public var completionEvents: Int
    /// The loop's duration in whole microseconds, as the tools compute it from two
    /// `gettimeofday` readings (here from the monotonic clock).
    public var elapsedMicroseconds: Int64
    /// The pages whose first byte did not hold the value the client wrote (`-c` on the server:
    /// one "invalid data in page %d" line each); nil when this side did not validate (a client,
    /// or no `-c`).
    public var invalidPages: [Int]?

    /// Creates a report.
    public init(
        local: PingPongDestination, remote: PingPongDestination, size: Int, iterations: Int, sendCompletions: Int,
        receiveCompletions: Int, completionEvents: Int, elapsedMicroseconds: Int64, invalidPages: [Int]?
    ) {
        self.local = local
        self.remote = remote
        self.size = size
        self.iterations = iterations
        self.sendCompletions = sendCompletions
        self.receiveCompletions = receiveCompletions
        self.completionEvents = completionEvents
        self.elapsedMicroseconds = elapsedMicroseconds
        self.invalidPages = invalidPages
    }

    /// Bytes moved both ways: `(long long) size * iters * 2`.
    public var bytes: Int64 { Int64(size) * Int64(iterations) * 2 }

    /// Whether the server's buffer validated (`-c`): nil when not checked.
    public var isValidated: Bool? { invalidPages.map(\.isEmpty) }

    /// The tools' `float usec`: the elapsed microseconds in single precision, as its
    /// arithmetic uses them.
    public var microseconds: Float { Float(elapsedMicroseconds) }

    /// The elapsed time in seconds (`usec / 1000000.`).
    public var seconds: Double { Double(microseconds) / 1_000_000 }

    /// `"%lld bytes in %.2f seconds = %.2f Mbit/sec"`.
    public var throughputLine: String {
        "\(bytes) bytes in \(Self.fixed(seconds)) seconds = \(Self.fixed(Double(bytes) * 8 / Double(microseconds))) Mbit/sec"
    }

    /// `"%d iters in %.2f seconds = %.2f usec/iter"` (`usec / iters` in single precision).
    public var latencyLine: String {
        "\(iterations) iters in \(Self.fixed(seconds)) seconds = \(Self.fixed(Double(microseconds / Float(iterations)))) usec/iter"
    }

    /// The lines the tools print after their loop, in order: ``throughputLine``,
    /// ``latencyLine``, then `"invalid data in page %d"` for each invalid page.
    public var lines: [String] {
        [throughputLine, latencyLine] + (invalidPages ?? []).map { "invalid data in page \($0)" }
    }

    /// `printf("%.2f", value)`.
    static func fixed(_ value: Double) -> String { Syscalls.formatFixed(value, decimals: 2) }
}
