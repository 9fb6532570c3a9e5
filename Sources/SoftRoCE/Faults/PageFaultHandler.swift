import NIOConcurrencyHelpers
import SoftRoCEMemory
import Synchronization

/// A QP's page-fault handler (the seed's `mlx5_ib_qp` fault fields): four contexts, each holding
/// at most one outstanding fault, and a switch that enables faults while the QP can move traffic
/// and disables them when it goes to RESET or ERR or is destroyed.
///
/// Disabling does not wait; ``drain()`` then waits until the contexts' outstanding faults have
/// finished (the seed's `mlx5_ib_qp_disable_pagefaults` followed by a workqueue flush). Queued
/// faults of a disabled handler are skipped by the workqueue rather than resolved.
final class PageFaultHandler: Sendable {
    /// Bits 0...3: the context with that raw value holds a fault; bit 4: faults enabled.
    private let state = ConditionLock(value: 0)
    /// The same bits, readable while `state` is locked (its own getter takes the lock).
    private let bits = Atomic<Int>(0)
    private static let enabledBit = 1 << PageFaultContext.allCases.count

    private func update<R>(_ body: (inout Int) -> R) -> R {
        state.lock()
        var value = bits.load(ordering: .relaxed)
        let result = body(&value)
        bits.store(value, ordering: .relaxed)
        state.unlock(withValue: value)
        return result
    }

    /// Whether faults may be raised now.
    var isEnabled: Bool { update { $0 & Self.enabledBit != 0 } }

    /// Whether `context` has an outstanding fault.
    func isBusy(_ context: PageFaultContext) -> Bool { update { $0 & (1 << context.rawValue) != 0 } }

    /// What ``claim(_:)`` found.
    enum Claim {
        /// The context is now the caller's: queue the fault.
        case claimed
        /// The context already holds a fault: its resolution will resume the data path.
        case busy
        /// Faults are disabled (the QP is leaving the traffic states).
        case disabled
    }

    /// Claims `context` for a new fault. Each context holds at most one.
    func claim(_ context: PageFaultContext) -> Claim {
        update { value in
            let bit = 1 << context.rawValue
            guard value & Self.enabledBit != 0 else { return .disabled }
            guard value & bit == 0 else { return .busy }
            value |= bit
            return .claimed
        }
    }

    /// Releases `context` once its fault finished (resolved, failed or skipped).
    func release(_ context: PageFaultContext) { update { $0 &= ~(1 << context.rawValue) } }

    /// Enables faults (the QP entered RTR or RTS).
    func enable() { update { $0 |= Self.enabledBit } }

    /// Disables faults: later claims fail; outstanding ones still finish.
    func disable() { update { $0 &= ~Self.enabledBit } }

    /// Disables faults and waits until no context holds one. Call without any lock of the QP
    /// held: resolutions take them.
    func disableAndDrain() {
        disable()
        state.lock(whenValue: 0)
        state.unlock()
    }
}
