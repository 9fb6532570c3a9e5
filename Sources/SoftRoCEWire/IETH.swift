/// The Invalidate Extended Transport Header of the "with Invalidate" SEND opcodes (4 bytes; rxe's `rxe_ieth`).
public struct IETH: Hashable, Sendable {
    /// The encoded length, 4 bytes.
    public static let byteCount = 4

    /// The remote key the responder invalidates when the message completes.
    public var remoteKey: UInt32

    /// Creates an IETH.
    public init(remoteKey: UInt32) {
        self.remoteKey = remoteKey
    }

    /// Reads an IETH from the 4 bytes at `offset`.
    ///
    /// - Returns: the header, or `nil` if fewer than 4 bytes follow `offset`.
    public static func decode(from bytes: Span<UInt8>, at offset: Int = 0) -> IETH? {
        guard bytes.containsBytes(at: offset, length: byteCount) else { return nil }
        return IETH(remoteKey: bytes.bigEndianUInt32(at: offset))
    }

    /// Appends the 4 encoded bytes to `buffer`.
    ///
    /// - Returns: the number of bytes written, 4.
    @discardableResult
    public func encode(into buffer: inout [UInt8]) -> Int {
        buffer.appendBigEndian(remoteKey)
        return Self.byteCount
    }
}
