import SoftRoCEMemory
import Synchronization

/// The engines pinned to one CPU. An engine alone on its CPU (with its own fault workers) owns
/// it and polls without yielding while idle; engines pinned to the same CPU (two devices of one
/// process) yield to each other, as they would to any thread.
final class PinnedCPU: Sendable {
    private static let registry = LockedValue<[Int: PinnedCPU]>([:])
    private let engines = Atomic<Int>(0)

    private init() {}

    /// Counts one more engine on `cpu`; call ``leave()`` when it stops.
    static func join(_ cpu: Int) -> PinnedCPU {
        let share = registry.withLockedValue { registry in
            if let share = registry[cpu] { return share }
            let share = PinnedCPU()
            registry[cpu] = share
            return share
        }
        share.engines.add(1, ordering: .relaxed)
        return share
    }

    func leave() { engines.subtract(1, ordering: .relaxed) }

    /// Whether another engine is pinned to this CPU too.
    var isShared: Bool { engines.load(ordering: .relaxed) > 1 }
}
