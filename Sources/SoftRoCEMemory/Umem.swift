/// Registered user memory as the device sees it: pinned (``PinnedUmem``) or on demand
/// (``OnDemandUmem``). The kernel's `struct ib_umem`.
public protocol Umem: AnyObject, Sendable {
    /// The registered virtual address range `[address, address + length)`, in bytes.
    var range: Range<UInt64> { get }
    /// Whether the registration allows the device to write (the MR has a write access flag).
    var isWritable: Bool { get }
    /// Whether pages are resolved on demand (ODP) rather than pinned at registration.
    var isOnDemand: Bool { get }

    /// Ends device access: accesses already running finish, later ones fail with `.released`,
    /// pinned pages are unlocked and un-accounted. Later calls do nothing.
    func release()

    /// Runs `body` on the bytes of `range` if the device may access them now without a fault and
    /// returns nil; otherwise returns the page fault and does not run `body`. Never makes a system
    /// call and never blocks: the check the device's data path performs before every access.
    /// Pinned memory never faults. Not generic, so the data path pays no generic-metadata lookup.
    ///
    /// - Throws: ``MemoryError`` `.outsideRegion`, `.accessNotRegistered`, `.released`.
    func accessIfMapped(
        _ range: Range<UInt64>, access: PageAccess, _ body: (MappedBytes) -> Void
    ) throws(MemoryError) -> PageFault?

    /// Runs `body` on the bytes of `range` with `access` guaranteed for its whole duration,
    /// resolving any page fault synchronously first.
    ///
    /// - Throws: ``MemoryError`` `.outsideRegion` when `range` is not inside ``range``,
    ///   `.accessNotRegistered` for a write to a read-only registration, and for ODP the
    ///   resolution errors of ``OnDemandUmem/map(_:access:)``; or what `body` throws.
    func withBytes<R>(
        _ range: Range<UInt64>, access: PageAccess, _ body: (MappedBytes) throws -> R
    ) throws -> R
}

extension Umem {
    /// Runs `body` on the bytes of `range` if the device may access them now without a fault;
    /// otherwise reports the page fault and does not run `body` (``accessIfMapped(_:access:_:)``
    /// returning the closure's result).
    ///
    /// - Throws: ``MemoryError`` `.outsideRegion`, `.accessNotRegistered`, `.released`; or what
    ///   `body` throws.
    public func access<R>(
        _ range: Range<UInt64>, access: PageAccess, _ body: (MappedBytes) throws -> R
    ) throws -> UmemAccess<R> {
        var result: Result<R, any Error>?
        if let fault = try accessIfMapped(range, access: access, { bytes in result = Result { try body(bytes) } }) {
            return .pageFault(fault)
        }
        return .completed(try result!.get())
    }

    /// Checks that `range` lies in the registration and that `access` is allowed by it.
    @inline(__always)
    func validate(_ range: Range<UInt64>, _ access: PageAccess) throws(MemoryError) {
        guard range.lowerBound >= self.range.lowerBound, range.upperBound <= self.range.upperBound else {
            throw MemoryError(.outsideRegion, address: range.lowerBound)
        }
        if access.contains(.write), !isWritable {
            throw MemoryError(.accessNotRegistered, address: range.lowerBound)
        }
    }
}
