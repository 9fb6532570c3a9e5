import SystemPackage
import Synchronization

/// A pinned umem: memory locked with `mlock(2)` at registration and accounted against a
/// ``MemlockAccount`` (by default the process's `RLIMIT_MEMLOCK`), like the kernel's `ib_umem_get`.
///
/// Accesses never fault: the pages stay resident until ``release()`` (or deinit) unlocks them
/// and returns them to the account, exactly once. The application must keep the memory mapped
/// while it is registered, as with any pinned RDMA registration.
public final class PinnedUmem: Umem, Sendable {
    public let range: Range<UInt64>
    public let isWritable: Bool
    public var isOnDemand: Bool { false }
    /// The host-page aligned range that is locked and accounted.
    public let lockedRange: Range<UInt64>
    /// The account the pages are charged to.
    public let account: MemlockAccount
    private let released = Atomic<Bool>(false)
    private let gate = AccessGate()

    /// Locks `[address, address + length)` and charges its pages to `account`.
    ///
    /// - Throws: ``MemoryError`` `.misaligned` for an empty or wrapping range;
    ///   `.memlockLimitExceeded` when the pages do not fit in the budget; `.notMapped` when part
    ///   of the range is not mapped; `.lockFailed` when `mlock` fails otherwise. On any error
    ///   nothing stays locked or accounted. Corresponds to `ib_umem_get` + `mlock`.
    public init(address: UInt64, length: UInt64, writable: Bool, account: MemlockAccount = .process) throws(MemoryError) {
        let end = address.addingReportingOverflow(length)
        guard length > 0, !end.overflow else { throw MemoryError(.misaligned, address: address) }
        let page = UInt64(HostMemory.pageSize)
        let start = address & ~(page - 1)
        let stop = (end.partialValue + page - 1) & ~(page - 1)
        let pages = (stop - start) / page
        try account.charge(pages, address: address)
        if case .failure(let errno) = HostMemory.lock(start, length: Int(stop - start)) {
            account.uncharge(pages)
            _ = HostMemory.unlock(start, length: Int(stop - start))
            throw MemoryError(errno == .noMemory ? .notMapped : .lockFailed, address: address, errno: errno)
        }
        self.range = address..<end.partialValue
        self.lockedRange = start..<stop
        self.isWritable = writable
        self.account = account
    }

    deinit { release() }

    /// Stops device access (accesses already running are waited for), unlocks the pages and
    /// returns them to the account; later calls do nothing. Corresponds to `ib_umem_release`.
    public func release() {
        guard !released.exchange(true, ordering: .acquiringAndReleasing) else { return }
        gate.synchronize()
        _ = HostMemory.unlock(lockedRange.lowerBound, length: lockedRange.count)
        account.uncharge(UInt64(lockedRange.count / HostMemory.pageSize))
    }

    /// Whether ``release()`` has run.
    public var isReleased: Bool { released.load(ordering: .acquiring) }

    public func withBytes<R>(
        _ range: Range<UInt64>, access: PageAccess, _ body: (MappedBytes) throws -> R
    ) throws -> R {
        switch try self.access(range, access: access, body) {
        case .completed(let result): return result
        case .pageFault(let fault): preconditionFailure("pinned memory reported a page fault at \(fault.address)")
        }
    }

    public func accessIfMapped(
        _ range: Range<UInt64>, access: PageAccess, _ body: (MappedBytes) -> Void
    ) throws(MemoryError) -> PageFault? {
        try validate(range, access)
        try gate.section(unlessReleased: released, address: range.lowerBound) { () throws(MemoryError) in
            body(MappedBytes(base: UnsafeMutableRawPointer(bitPattern: UInt(range.lowerBound)), count: range.count))
        }
        return nil
    }
}
