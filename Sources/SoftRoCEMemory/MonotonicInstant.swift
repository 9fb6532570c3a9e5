#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// A point on the host's monotonic clock (`CLOCK_MONOTONIC`), in nanoseconds: what the engine's
/// deadlines and the fault-latency statistics hold. A plain integer, so the structs that carry
/// deadlines copy and compare without runtime calls (the standard library's
/// `ContinuousClock.Instant` is resilient: every copy of an optional one goes through its value
/// witnesses).
package struct MonotonicInstant: Comparable, Hashable, Sendable {
    /// Nanoseconds since the clock's (arbitrary, boot-time) origin.
    package var nanoseconds: UInt64

    package init(nanoseconds: UInt64) { self.nanoseconds = nanoseconds }

    /// The current instant (`clock_gettime(CLOCK_MONOTONIC)`, answered by the vDSO).
    @inline(__always)
    package static var now: MonotonicInstant {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return MonotonicInstant(nanoseconds: UInt64(time.tv_sec) &* 1_000_000_000 &+ UInt64(time.tv_nsec))
    }

    /// `instant` moved later by `duration` (a negative duration moves it earlier, not below 0).
    @inline(__always)
    package static func + (instant: MonotonicInstant, duration: Duration) -> MonotonicInstant {
        let delta = duration.wholeNanoseconds
        return MonotonicInstant(nanoseconds: delta >= 0
            ? instant.nanoseconds &+ UInt64(delta)
            : instant.nanoseconds - min(instant.nanoseconds, delta.magnitude))
    }

    /// The time from `earlier` to `later` (negative when `later` is earlier).
    @inline(__always)
    package static func - (later: MonotonicInstant, earlier: MonotonicInstant) -> Duration {
        .nanoseconds(Int64(bitPattern: later.nanoseconds &- earlier.nanoseconds))
    }

    @inline(__always)
    package static func < (lhs: MonotonicInstant, rhs: MonotonicInstant) -> Bool { lhs.nanoseconds < rhs.nanoseconds }

    // The other comparisons spelled out: `Comparable`'s defaults go through the type's witness
    // table, which the runtime builds on first use, taking kernel faults on the thread that
    // happens to compare first (the engine, in the middle of its data path).
    @inline(__always)
    package static func <= (lhs: MonotonicInstant, rhs: MonotonicInstant) -> Bool { lhs.nanoseconds <= rhs.nanoseconds }
    @inline(__always)
    package static func > (lhs: MonotonicInstant, rhs: MonotonicInstant) -> Bool { lhs.nanoseconds > rhs.nanoseconds }
    @inline(__always)
    package static func >= (lhs: MonotonicInstant, rhs: MonotonicInstant) -> Bool { lhs.nanoseconds >= rhs.nanoseconds }

    /// The earlier of the two (the standard library's generic `min` needs the witness table).
    @inline(__always)
    package static func earliest(_ a: MonotonicInstant, _ b: MonotonicInstant) -> MonotonicInstant { a < b ? a : b }
}
