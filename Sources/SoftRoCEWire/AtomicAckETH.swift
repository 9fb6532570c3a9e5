/// The Atomic Acknowledge Extended Transport Header of ATOMIC Acknowledge (8 bytes; rxe's `rxe_atmack`).
public struct AtomicAckETH: Hashable, Sendable {
    /// The encoded length, 8 bytes.
    public static let byteCount = 8

    /// The value the target held before the atomic operation.
    public var originalRemoteData: UInt64

    /// Creates an AtomicAckETH.
    public init(originalRemoteData: UInt64) {
        self.originalRemoteData = originalRemoteData
    }

    /// Reads an AtomicAckETH from the 8 bytes at `offset`.
    ///
    /// - Returns: the header, or `nil` if fewer than 8 bytes follow `offset`.
    public static func decode(from bytes: Span<UInt8>, at offset: Int = 0) -> AtomicAckETH? {
        guard bytes.containsBytes(at: offset, length: byteCount) else { return nil }
        return AtomicAckETH(originalRemoteData: bytes.bigEndianUInt64(at: offset))
    }

    /// Appends the 8 encoded bytes to `buffer`.
    ///
    /// - Returns: the number of bytes written, 8.
    @discardableResult
    public func encode(into buffer: inout [UInt8]) -> Int {
        buffer.appendBigEndian(originalRemoteData)
        return Self.byteCount
    }
}
