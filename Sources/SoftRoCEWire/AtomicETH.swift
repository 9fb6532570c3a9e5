/// The Atomic Extended Transport Header of CmpSwap and FetchAdd (28 bytes; rxe's `rxe_atmeth`).
public struct AtomicETH: Hashable, Sendable {
    /// The encoded length, 28 bytes.
    public static let byteCount = 28

    /// The remote virtual address of the 8-byte, 8-byte-aligned target.
    public var virtualAddress: UInt64
    /// The remote key of the memory region that holds the target.
    public var remoteKey: UInt32
    /// The value to store (CmpSwap) or to add (FetchAdd).
    public var swapOrAddData: UInt64
    /// The value to compare with (CmpSwap); ignored by FetchAdd.
    public var compareData: UInt64

    /// Creates an AtomicETH.
    public init(virtualAddress: UInt64, remoteKey: UInt32, swapOrAddData: UInt64, compareData: UInt64) {
        self.virtualAddress = virtualAddress
        self.remoteKey = remoteKey
        self.swapOrAddData = swapOrAddData
        self.compareData = compareData
    }

    /// Reads an AtomicETH from the 28 bytes at `offset`.
    ///
    /// - Returns: the header, or `nil` if fewer than 28 bytes follow `offset`.
    public static func decode(from bytes: Span<UInt8>, at offset: Int = 0) -> AtomicETH? {
        guard bytes.containsBytes(at: offset, length: byteCount) else { return nil }
        return AtomicETH(
            virtualAddress: bytes.bigEndianUInt64(at: offset),
            remoteKey: bytes.bigEndianUInt32(at: offset + 8),
            swapOrAddData: bytes.bigEndianUInt64(at: offset + 12),
            compareData: bytes.bigEndianUInt64(at: offset + 20)
        )
    }

    /// Appends the 28 encoded bytes to `buffer`.
    ///
    /// - Returns: the number of bytes written, 28.
    @discardableResult
    public func encode(into buffer: inout [UInt8]) -> Int {
        buffer.appendBigEndian(virtualAddress)
        buffer.appendBigEndian(remoteKey)
        buffer.appendBigEndian(swapOrAddData)
        buffer.appendBigEndian(compareData)
        return Self.byteCount
    }
}
