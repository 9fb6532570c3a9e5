import CSoftRoCEShims

/// An integer one thread publishes and another polls in a tight loop, alone on its cache line.
///
/// An `Atomic` stored in an object shares a line with the object's reference count and its other
/// fields, so every retain of the object by the publishing thread evicts the line from the
/// polling core (and which neighbours share it depends on where the allocator put the object).
/// The value lives in its own 128-byte, 64-byte-aligned allocation instead.
public final class PolledCounter: @unchecked Sendable {
    // @unchecked: the storage is only accessed with atomic acquire loads and release stores.
    private let storage: UnsafeMutableRawPointer

    /// Creates the counter holding `value`.
    public init(_ value: Int = 0) {
        storage = .allocate(byteCount: 128, alignment: 64)
        storage.initializeMemory(as: Int64.self, repeating: 0, count: 16)
        store(value)
    }

    deinit { storage.deallocate() }

    /// The value (acquire ordering).
    @inline(__always)
    public func load() -> Int { Int(c_softroce_load_acquire_i64(storage.assumingMemoryBound(to: Int64.self))) }

    /// Publishes `value` (release ordering).
    @inline(__always)
    public func store(_ value: Int) { c_softroce_store_release_i64(storage.assumingMemoryBound(to: Int64.self), Int64(value)) }
}
