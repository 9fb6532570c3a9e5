/// A local key (lkey): names a memory region in a scatter/gather element of this process's own work
/// requests. Corresponds to `ibv_mr.lkey`.
public struct LocalKey: MemoryKey {
    /// The key's 32-bit value.
    public let rawValue: UInt32

    /// Creates a key from its 32-bit value.
    public init(rawValue: UInt32) {
        self.rawValue = rawValue
    }
}
