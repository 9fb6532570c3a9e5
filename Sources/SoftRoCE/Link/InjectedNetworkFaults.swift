import Synchronization

/// Loss, duplication and reordering a link applies to what it sends on purpose (`--loss`,
/// `--duplicate`, `--reorder`): what a real network may do, for the device's retransmission to
/// recover from. Each rate is a probability per run or datagram, 0 ... 1. The in-process fabric
/// uses the loss; the UDP link all three.
package final class InjectedNetworkFaults: Sendable {
    /// What to do with one datagram.
    package enum Fate {
        /// Send it.
        case send
        /// Drop it.
        case drop
        /// Send it twice.
        case duplicate
        /// Hold it back and send it after the next datagram (or when the link is idle).
        case holdBack
    }

    private let loss = Atomic<UInt64>(0)
    private let duplication = Atomic<UInt64>(0)
    private let reordering = Atomic<UInt64>(0)
    private let random: Atomic<UInt64>
    /// Sends dropped, duplicated and held back so far.
    package let dropped = Atomic<Int>(0)
    package let duplicated = Atomic<Int>(0)
    package let reordered = Atomic<Int>(0)

    /// No faults yet; `seed` starts the random draws.
    package init(seed: UInt64) { random = Atomic(seed) }

    package var lossRate: Double {
        get { Self.rate(loss) }
        set { Self.set(loss, to: newValue) }
    }

    package var duplicationRate: Double {
        get { Self.rate(duplication) }
        set { Self.set(duplication, to: newValue) }
    }

    package var reorderingRate: Double {
        get { Self.rate(reordering) }
        set { Self.set(reordering, to: newValue) }
    }

    /// Draws the fate of the next datagram (and counts it).
    package func nextFate() -> Fate {
        if happens(loss) {
            dropped.add(1, ordering: .relaxed)
            return .drop
        }
        if happens(reordering) {
            reordered.add(1, ordering: .relaxed)
            return .holdBack
        }
        if happens(duplication) {
            duplicated.add(1, ordering: .relaxed)
            return .duplicate
        }
        return .send
    }

    /// Whether an event of probability `threshold / 2^64` happens (splitmix64 draws).
    private func happens(_ threshold: borrowing Atomic<UInt64>) -> Bool {
        let limit = threshold.load(ordering: .relaxed)
        guard limit > 0 else { return false }
        var z = random.wrappingAdd(0x9E37_79B9_7F4A_7C15, ordering: .relaxed).newValue
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return limit == .max || z ^ (z >> 31) < limit
    }

    private static func rate(_ threshold: borrowing Atomic<UInt64>) -> Double {
        Double(threshold.load(ordering: .relaxed)) / 0x1p64
    }

    private static func set(_ threshold: borrowing Atomic<UInt64>, to rate: Double) {
        let clamped = max(0, min(1, rate.isNaN ? 0 : rate))
        threshold.store(clamped >= 1 ? .max : UInt64(clamped * 0x1p64), ordering: .relaxed)
    }
}
