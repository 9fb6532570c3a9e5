/// One buffer of a work request's scatter/gather list: `length` bytes at `address` inside the memory
/// region named by `lkey`. Corresponds to `ibv_sge`.
public struct ScatterGatherElement: Hashable, Sendable {
    /// The buffer's start: a virtual address (or an offset, in a zero-based region). Corresponds to `addr`.
    public var address: UInt64
    /// The buffer's length in bytes. Corresponds to `length`.
    public var length: UInt32
    /// The local key of the memory region holding the buffer. Corresponds to `lkey`.
    public var lkey: LocalKey

    /// Creates a scatter/gather element.
    /// - Parameters:
    ///   - address: the buffer's start address.
    ///   - length: the buffer's length in bytes.
    ///   - lkey: the local key of the memory region that holds it.
    public init(address: UInt64, length: UInt32, lkey: LocalKey) {
        self.address = address
        self.length = length
        self.lkey = lkey
    }
}

extension Collection<ScatterGatherElement> {
    /// The sum of the elements' lengths in bytes (64-bit, so it cannot overflow).
    public var totalLength: UInt64 {
        reduce(0) { $0 + UInt64($1.length) }
    }
}
