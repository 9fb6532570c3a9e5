import NIOConcurrencyHelpers
import Synchronization

/// Counters of a device (atomic; read with ``Device/counters``).
final class DeviceStatistics: Sendable {
    let rnrNaksSent = Atomic<Int>(0)
    let rnrNaksReceived = Atomic<Int>(0)
    let retransmits = Atomic<Int>(0)
    let duplicatePackets = Atomic<Int>(0)
    let droppedPackets = Atomic<Int>(0)
    let completionQueueOverflows = Atomic<Int>(0)
}

/// A snapshot of a device's counters.
public struct DeviceCounters: Hashable, Sendable {
    /// RNR NAKs this device's responders sent / its requesters received.
    public var rnrNaksSent: Int
    public var rnrNaksReceived: Int
    /// Retransmissions (timeouts, PSN sequence NAKs, lost READ responses).
    public var retransmits: Int
    /// Duplicate requests answered again.
    public var duplicatePackets: Int
    /// Packets dropped (wrong state, wrong Q_Key, no UD receive, unknown QP).
    public var droppedPackets: Int
    /// Completions that found their CQ full.
    public var completionQueueOverflows: Int
    /// ODP totals over the device's live regions.
    public var pageFaults: Int
    public var faultedPages: Int
    public var invalidations: Int
    public var invalidatedPages: Int
}
