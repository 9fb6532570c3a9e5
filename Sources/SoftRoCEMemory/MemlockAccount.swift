import Synchronization

/// Pinned-page accounting against a locked-memory budget: the kernel's `mm->pinned_vm` checked
/// against `RLIMIT_MEMLOCK` in `ib_umem_get`, the accounting seed 000 fixes.
///
/// ``process`` is the account every registration uses by default; its limit is the process's
/// `RLIMIT_MEMLOCK` soft limit when first used. Tests and tools make their own accounts (or set
/// ``limitBytes``) instead of changing the process's rlimit.
public final class MemlockAccount: Sendable {
    /// The account of this process, limited by `RLIMIT_MEMLOCK`.
    public static let process = MemlockAccount(limitBytes: MemlockAccount.processLimit())

    private let pinned = Atomic<UInt64>(0)
    private let limit: Atomic<UInt64>

    /// Creates an account with a budget of `limitBytes` (`nil` = unlimited).
    public init(limitBytes: UInt64?) {
        limit = Atomic(limitBytes ?? .max)
    }

    /// The budget in bytes (`nil` = unlimited); settable at any time, in whole host pages.
    public var limitBytes: UInt64? {
        get {
            let value = limit.load(ordering: .relaxed)
            return value == .max ? nil : value
        }
        set { limit.store(newValue ?? .max, ordering: .relaxed) }
    }

    /// Host pages currently accounted (4 KiB each on x86-64).
    public var pinnedPages: UInt64 { pinned.load(ordering: .acquiring) }

    /// Bytes currently accounted.
    public var pinnedBytes: UInt64 { pinnedPages * UInt64(HostMemory.pageSize) }

    /// Accounts `pages` if they fit in the budget; on failure nothing changes.
    /// - Throws: ``MemoryError`` `.memlockLimitExceeded` at `address`.
    func charge(_ pages: UInt64, address: UInt64) throws(MemoryError) {
        let limitPages = limit.load(ordering: .relaxed) / UInt64(HostMemory.pageSize)
        var current = pinned.load(ordering: .relaxed)
        while true {
            let (total, overflow) = current.addingReportingOverflow(pages)
            if overflow || total > limitPages { throw MemoryError(.memlockLimitExceeded, address: address) }
            let (exchanged, original) = pinned.weakCompareExchange(
                expected: current, desired: total, ordering: .acquiringAndReleasing)
            if exchanged { return }
            current = original
        }
    }

    /// Returns `pages` to the budget.
    func uncharge(_ pages: UInt64) {
        let old = pinned.wrappingSubtract(pages, ordering: .acquiringAndReleasing).oldValue
        precondition(old >= pages, "memlock account underflow")
    }

    private static func processLimit() -> UInt64? {
        switch HostMemory.memlockSoftLimit() {
        case .success(let bytes): return bytes
        case .failure: return 64 * 1024
        }
    }
}
