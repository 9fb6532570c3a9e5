/// The Datagram Extended Transport Header of UD packets (8 bytes; rxe's `rxe_deth`).
///
/// ```
/// bytes 0-3   Q_Key
/// byte 4      reserved
/// bytes 5-7   SrcQP (24 bits)
/// ```
public struct DETH: Hashable, Sendable {
    /// The encoded length, 8 bytes.
    public static let byteCount = 8

    /// The queue key the receiving UD QP checks.
    public var queueKey: UInt32
    /// The reserved byte (senders write 0), kept so a decoded header re-encodes to the same bytes.
    public var reserved: UInt8
    /// The sending queue pair.
    public var sourceQueuePair: QueuePairNumber

    /// Creates a DETH.
    public init(queueKey: UInt32, sourceQueuePair: QueuePairNumber, reserved: UInt8 = 0) {
        self.queueKey = queueKey
        self.reserved = reserved
        self.sourceQueuePair = sourceQueuePair
    }

    /// Reads a DETH from the 8 bytes at `offset`.
    ///
    /// - Returns: the header, or `nil` if fewer than 8 bytes follow `offset`.
    public static func decode(from bytes: Span<UInt8>, at offset: Int = 0) -> DETH? {
        guard bytes.containsBytes(at: offset, length: byteCount) else { return nil }
        return DETH(
            queueKey: bytes.bigEndianUInt32(at: offset),
            sourceQueuePair: QueuePairNumber(rawValue: bytes.bigEndianUInt24(at: offset + 5)),
            reserved: bytes[offset + 4]
        )
    }

    /// Appends the 8 encoded bytes to `buffer`.
    ///
    /// - Returns: the number of bytes written, 8.
    @discardableResult
    public func encode(into buffer: inout [UInt8]) -> Int {
        buffer.appendBigEndian(queueKey)
        buffer.append(reserved)
        buffer.appendBigEndianUInt24(sourceQueuePair.rawValue)
        return Self.byteCount
    }
}
