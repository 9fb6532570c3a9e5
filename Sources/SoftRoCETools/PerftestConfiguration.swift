public import SoftRoCE

/// Which RDMA operation a perftest-style test measures.
public enum PerftestOperation: String, Sendable, CaseIterable {
    case write, read, send, atomic
}

/// Bandwidth (`*_bw`) or latency (`*_lat`).
public enum PerftestMode: String, Sendable, CaseIterable {
    case bandwidth = "bw"
    case latency = "lat"
}

/// How the test's buffers are registered.
public enum OnDemandMode: String, Sendable, CaseIterable {
    /// Pinned (`mlock` + `RLIMIT_MEMLOCK` accounting).
    case none
    /// Explicit ODP regions over the buffers.
    case explicit
    /// One implicit ODP region covering the address space.
    case implicit
}

/// Everything a perftest-style run needs; the `softroce {write,read,send,atomic}-{bw,lat}`
/// options map onto it (DESIGN.md §6).
public struct PerftestConfiguration: Sendable {
    /// The operation and the kind of test.
    public var operation: PerftestOperation
    public var mode: PerftestMode
    /// Message sizes in bytes, one report each (`-s`, or every power of two with `-a`).
    public var sizes: [Int]
    /// Iterations per size (`-n`).
    public var iterations: Int
    /// Run each size for this long instead of a fixed count (`-D`).
    public var duration: Duration?
    /// Queue pairs the bandwidth is spread over (`-q`).
    public var queuePairs: Int
    /// Registration mode (`--odp`, `--implicit-odp`).
    public var onDemand: OnDemandMode
    /// Prefetch the regions before measuring (`--prefetch`).
    public var prefetch: Bool
    /// Make every iteration fault (`--cold`).
    public var cold: Bool
    /// Check every destination byte after the run (`--verify`).
    public var verify: Bool
    /// Path MTU (`-m`); the port's active MTU when nil.
    public var mtu: PathMTU?
    /// Outstanding work requests per QP for bandwidth tests (perftest's `-t`, default 128).
    public var transmitDepth: Int
    /// Run the two sides on two device instances instead of one.
    public var twoDevices: Bool
    /// Pin the calling thread to the first allowed CPU and the device engines (with their fault
    /// workqueues) to the last, when the process may use two or more: the application and the
    /// engine each keep a core and its caches, as one pins perftest with `taskset`. The calling
    /// thread stays pinned afterwards, so this is for a thread the tool owns (the CLI's).
    public var pinThreads: Bool

    /// A configuration with perftest's defaults: 65536 bytes, 5000 iterations (1000 for latency).
    public init(
        operation: PerftestOperation, mode: PerftestMode, sizes: [Int] = [65536], iterations: Int? = nil,
        duration: Duration? = nil, queuePairs: Int = 1, onDemand: OnDemandMode = .none, prefetch: Bool = false,
        cold: Bool = false, verify: Bool = false, mtu: PathMTU? = nil, transmitDepth: Int = 128, twoDevices: Bool = false,
        pinThreads: Bool = false
    ) {
        self.operation = operation
        self.mode = mode
        self.sizes = sizes
        self.iterations = iterations ?? (mode == .bandwidth ? 5000 : 1000)
        self.duration = duration
        self.queuePairs = queuePairs
        self.onDemand = onDemand
        self.prefetch = prefetch
        self.cold = cold
        self.verify = verify
        self.mtu = mtu
        self.transmitDepth = transmitDepth
        self.twoDevices = twoDevices
        self.pinThreads = pinThreads
    }

    /// The test's name as perftest spells it: `write_bw`, `read_lat`, …
    public var testName: String { "\(operation.rawValue)_\(mode.rawValue)" }

    /// perftest's `-a` sizes: 2 B … 8 MiB (atomics: 8 B only).
    public static func allSizes(for operation: PerftestOperation) -> [Int] {
        operation == .atomic ? [8] : (1...23).map { 1 << $0 }
    }
}
