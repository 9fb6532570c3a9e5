/// The RDMA Extended Transport Header: the remote buffer of an RDMA WRITE or READ (16 bytes; rxe's `rxe_reth`).
///
/// Carried by RDMA WRITE First/Only (with or without Immediate) and RDMA READ Request.
public struct RETH: Hashable, Sendable {
    /// The encoded length, 16 bytes.
    public static let byteCount = 16

    /// The remote virtual address of the first byte, in the responder's address space.
    public var virtualAddress: UInt64
    /// The remote key of the memory region that holds the buffer.
    public var remoteKey: UInt32
    /// The length of the whole RDMA operation in bytes (not just this packet's payload).
    public var dmaLength: UInt32

    /// Creates a RETH.
    public init(virtualAddress: UInt64, remoteKey: UInt32, dmaLength: UInt32) {
        self.virtualAddress = virtualAddress
        self.remoteKey = remoteKey
        self.dmaLength = dmaLength
    }

    /// Reads a RETH from the 16 bytes at `offset`.
    ///
    /// - Returns: the header, or `nil` if fewer than 16 bytes follow `offset`.
    public static func decode(from bytes: Span<UInt8>, at offset: Int = 0) -> RETH? {
        guard bytes.containsBytes(at: offset, length: byteCount) else { return nil }
        return RETH(
            virtualAddress: bytes.bigEndianUInt64(at: offset),
            remoteKey: bytes.bigEndianUInt32(at: offset + 8),
            dmaLength: bytes.bigEndianUInt32(at: offset + 12)
        )
    }

    /// Appends the 16 encoded bytes to `buffer`.
    ///
    /// - Returns: the number of bytes written, 16.
    @discardableResult
    public func encode(into buffer: inout [UInt8]) -> Int {
        buffer.appendBigEndian(virtualAddress)
        buffer.appendBigEndian(remoteKey)
        buffer.appendBigEndian(dmaLength)
        return Self.byteCount
    }
}
