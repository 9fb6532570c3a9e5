/// Unbuffered writes to the standard streams, for tools whose lines must appear as they happen
/// (the pingpong tools print their local address before they wait for the peer).
public enum StandardStreams {
    /// Writes `line` and a newline to standard output at once (no stdio buffering).
    public static func printLine(_ line: String) { Syscalls.write(1, Array((line + "\n").utf8)) }

    /// Writes `line` and a newline to standard error.
    public static func printError(_ line: String) { Syscalls.write(2, Array((line + "\n").utf8)) }
}
