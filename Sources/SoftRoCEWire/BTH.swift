/// The Base Transport Header: 12 bytes that start every RoCEv2 packet (IBTA Vol. 1, 9.2; rxe's `struct rxe_bth`).
///
/// ```
/// byte 0      opcode
/// byte 1      SE(1) MigReq(1) PadCnt(2) TVer(4)
/// bytes 2-3   P_Key
/// byte 4      FECN(1) BECN(1) reserved(6)        -- masked to ones in the ICRC
/// bytes 5-7   DestQP (24 bits)
/// byte 8      AckReq(1) reserved(7)
/// bytes 9-11  PSN (24 bits)
/// ```
/// Every bit pattern decodes; reserved bits are kept so a decoded header re-encodes to the same bytes.
public struct BTH: Hashable, Sendable {
    /// The encoded length, 12 bytes.
    public static let byteCount = 12

    /// The operation and transport.
    public var opcode: Opcode
    /// Solicited Event: the responder should raise a completion event for this message.
    public var solicitedEvent: Bool
    /// MigReq: the path migration state (1 = migrated); rxe always sends 0.
    public var migrationRequest: Bool
    @usableFromInline var storedPadCount: UInt8
    @usableFromInline var storedTransportVersion: UInt8
    /// The partition key; 0xFFFF on RoCEv2.
    public var partitionKey: PartitionKey
    /// FECN: forward explicit congestion notification.
    public var forwardCongestion: Bool
    /// BECN: backward explicit congestion notification.
    public var backwardCongestion: Bool
    @usableFromInline var storedReserved6: UInt8
    /// The destination queue pair.
    public var destinationQueuePair: QueuePairNumber
    /// AckReq: the requester asks for an acknowledgement of this packet.
    public var acknowledgeRequest: Bool
    @usableFromInline var storedReserved7: UInt8
    /// The packet sequence number.
    public var psn: PacketSequenceNumber

    /// The number of pad bytes (0-3) between the payload and the ICRC; only the low 2 bits are kept.
    public var padCount: UInt8 {
        get { storedPadCount }
        set { storedPadCount = newValue & 0x3 }
    }

    /// TVer, the 4-bit transport header version; IBTA defines only 0. Only the low 4 bits are kept.
    public var transportVersion: UInt8 {
        get { storedTransportVersion }
        set { storedTransportVersion = newValue & 0xF }
    }

    /// The 6 reserved bits of byte 4 (senders write 0); only the low 6 bits are kept.
    public var reserved6: UInt8 {
        get { storedReserved6 }
        set { storedReserved6 = newValue & 0x3F }
    }

    /// The 7 reserved bits of byte 8 (senders write 0); only the low 7 bits are kept.
    public var reserved7: UInt8 {
        get { storedReserved7 }
        set { storedReserved7 = newValue & 0x7F }
    }

    /// Creates a BTH. Defaults are what rxe sends: P_Key 0xFFFF, TVer 0, no flags.
    ///
    /// - Parameters:
    ///   - padCount: pad bytes after the payload (0-3); ``RoCEPacket/encode(headers:payload:network:into:)``
    ///     overwrites it from the payload length.
    @inlinable
    public init(
        opcode: Opcode,
        destinationQueuePair: QueuePairNumber,
        psn: PacketSequenceNumber,
        acknowledgeRequest: Bool = false,
        solicitedEvent: Bool = false,
        migrationRequest: Bool = false,
        padCount: UInt8 = 0,
        transportVersion: UInt8 = 0,
        partitionKey: PartitionKey = .default,
        forwardCongestion: Bool = false,
        backwardCongestion: Bool = false,
        reserved6: UInt8 = 0,
        reserved7: UInt8 = 0
    ) {
        self.opcode = opcode
        self.solicitedEvent = solicitedEvent
        self.migrationRequest = migrationRequest
        self.storedPadCount = padCount & 0x3
        self.storedTransportVersion = transportVersion & 0xF
        self.partitionKey = partitionKey
        self.forwardCongestion = forwardCongestion
        self.backwardCongestion = backwardCongestion
        self.storedReserved6 = reserved6 & 0x3F
        self.destinationQueuePair = destinationQueuePair
        self.acknowledgeRequest = acknowledgeRequest
        self.storedReserved7 = reserved7 & 0x7F
        self.psn = psn
    }

    /// Reads a BTH from the 12 bytes at `offset`.
    ///
    /// - Returns: the header, or `nil` if fewer than 12 bytes follow `offset`.
    public static func decode(from bytes: Span<UInt8>, at offset: Int = 0) -> BTH? {
        guard bytes.containsBytes(at: offset, length: byteCount) else { return nil }
        let flags = bytes[offset + 1]
        let congestion = bytes[offset + 4]
        let acknowledge = bytes[offset + 8]
        return BTH(
            opcode: Opcode(rawValue: bytes[offset]),
            destinationQueuePair: QueuePairNumber(rawValue: bytes.bigEndianUInt24(at: offset + 5)),
            psn: PacketSequenceNumber(rawValue: bytes.bigEndianUInt24(at: offset + 9)),
            acknowledgeRequest: acknowledge & 0x80 != 0,
            solicitedEvent: flags & 0x80 != 0,
            migrationRequest: flags & 0x40 != 0,
            padCount: (flags >> 4) & 0x3,
            transportVersion: flags & 0xF,
            partitionKey: PartitionKey(rawValue: bytes.bigEndianUInt16(at: offset + 2)),
            forwardCongestion: congestion & 0x80 != 0,
            backwardCongestion: congestion & 0x40 != 0,
            reserved6: congestion & 0x3F,
            reserved7: acknowledge & 0x7F
        )
    }

    /// Appends the 12 encoded bytes to `buffer`.
    ///
    /// - Returns: the number of bytes written, 12.
    @discardableResult
    public func encode(into buffer: inout [UInt8]) -> Int {
        buffer.append(opcode.rawValue)
        buffer.append(
            (solicitedEvent ? 0x80 : 0) | (migrationRequest ? 0x40 : 0) | storedPadCount << 4 | storedTransportVersion
        )
        buffer.appendBigEndian(partitionKey.rawValue)
        buffer.append((forwardCongestion ? 0x80 : 0) | (backwardCongestion ? 0x40 : 0) | storedReserved6)
        buffer.appendBigEndianUInt24(destinationQueuePair.rawValue)
        buffer.append((acknowledgeRequest ? 0x80 : 0) | storedReserved7)
        buffer.appendBigEndianUInt24(psn.rawValue)
        return Self.byteCount
    }
}
