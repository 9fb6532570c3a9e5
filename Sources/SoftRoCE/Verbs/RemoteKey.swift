/// A remote key (rkey): names a memory region to a remote peer in RDMA READ, RDMA WRITE and atomic
/// requests (the RETH and AtomicETH `R_Key`). Corresponds to `ibv_mr.rkey`.
public struct RemoteKey: MemoryKey {
    /// The key's 32-bit value.
    public let rawValue: UInt32

    /// Creates a key from its 32-bit value.
    public init(rawValue: UInt32) {
        self.rawValue = rawValue
    }
}
