/// The BTH opcode: the transport in the top three bits and the operation in the low five
/// (IBTA Vol. 1, 9.2, Table 38).
///
/// An open set: every byte is representable, so decoding an unknown opcode never traps. ``isSupported``
/// tells whether this codec knows the opcode's layout; the statics name the RC and UD opcodes that Linux
/// rxe implements (`include/rdma/ib_pack.h`).
public struct Opcode: RawRepresentable, Hashable, Sendable {
    /// The opcode byte as it appears in the first byte of the BTH.
    public var rawValue: UInt8

    /// Wraps an opcode byte; any value is accepted.
    public init(rawValue: UInt8) {
        self.rawValue = rawValue
    }

    // MARK: RC (transport 0b000)

    /// RC SEND First (0x00).
    public static let rcSendFirst = Opcode(rawValue: 0x00)
    /// RC SEND Middle (0x01).
    public static let rcSendMiddle = Opcode(rawValue: 0x01)
    /// RC SEND Last (0x02).
    public static let rcSendLast = Opcode(rawValue: 0x02)
    /// RC SEND Last with Immediate (0x03): carries an ImmDt.
    public static let rcSendLastWithImmediate = Opcode(rawValue: 0x03)
    /// RC SEND Only (0x04).
    public static let rcSendOnly = Opcode(rawValue: 0x04)
    /// RC SEND Only with Immediate (0x05): carries an ImmDt.
    public static let rcSendOnlyWithImmediate = Opcode(rawValue: 0x05)
    /// RC RDMA WRITE First (0x06): carries a RETH.
    public static let rcRDMAWriteFirst = Opcode(rawValue: 0x06)
    /// RC RDMA WRITE Middle (0x07).
    public static let rcRDMAWriteMiddle = Opcode(rawValue: 0x07)
    /// RC RDMA WRITE Last (0x08).
    public static let rcRDMAWriteLast = Opcode(rawValue: 0x08)
    /// RC RDMA WRITE Last with Immediate (0x09): carries an ImmDt.
    public static let rcRDMAWriteLastWithImmediate = Opcode(rawValue: 0x09)
    /// RC RDMA WRITE Only (0x0A): carries a RETH.
    public static let rcRDMAWriteOnly = Opcode(rawValue: 0x0A)
    /// RC RDMA WRITE Only with Immediate (0x0B): carries a RETH and an ImmDt.
    public static let rcRDMAWriteOnlyWithImmediate = Opcode(rawValue: 0x0B)
    /// RC RDMA READ Request (0x0C): carries a RETH, no payload.
    public static let rcRDMAReadRequest = Opcode(rawValue: 0x0C)
    /// RC RDMA READ Response First (0x0D): carries an AETH.
    public static let rcRDMAReadResponseFirst = Opcode(rawValue: 0x0D)
    /// RC RDMA READ Response Middle (0x0E).
    public static let rcRDMAReadResponseMiddle = Opcode(rawValue: 0x0E)
    /// RC RDMA READ Response Last (0x0F): carries an AETH.
    public static let rcRDMAReadResponseLast = Opcode(rawValue: 0x0F)
    /// RC RDMA READ Response Only (0x10): carries an AETH.
    public static let rcRDMAReadResponseOnly = Opcode(rawValue: 0x10)
    /// RC Acknowledge (0x11): carries an AETH, no payload.
    public static let rcAcknowledge = Opcode(rawValue: 0x11)
    /// RC ATOMIC Acknowledge (0x12): carries an AETH and an AtomicAckETH, no payload.
    public static let rcAtomicAcknowledge = Opcode(rawValue: 0x12)
    /// RC CmpSwap (0x13): carries an AtomicETH, no payload.
    public static let rcCompareSwap = Opcode(rawValue: 0x13)
    /// RC FetchAdd (0x14): carries an AtomicETH, no payload.
    public static let rcFetchAdd = Opcode(rawValue: 0x14)
    /// RC SEND Last with Invalidate (0x16): carries an IETH.
    public static let rcSendLastWithInvalidate = Opcode(rawValue: 0x16)
    /// RC SEND Only with Invalidate (0x17): carries an IETH.
    public static let rcSendOnlyWithInvalidate = Opcode(rawValue: 0x17)

    // MARK: UD (transport 0b011)

    /// UD SEND Only (0x64): carries a DETH.
    public static let udSendOnly = Opcode(rawValue: 0x64)
    /// UD SEND Only with Immediate (0x65): carries a DETH and an ImmDt.
    public static let udSendOnlyWithImmediate = Opcode(rawValue: 0x65)

    /// Every opcode this codec supports, in opcode order.
    public static let allSupported: [Opcode] = [
        .rcSendFirst, .rcSendMiddle, .rcSendLast, .rcSendLastWithImmediate, .rcSendOnly, .rcSendOnlyWithImmediate,
        .rcRDMAWriteFirst, .rcRDMAWriteMiddle, .rcRDMAWriteLast, .rcRDMAWriteLastWithImmediate, .rcRDMAWriteOnly,
        .rcRDMAWriteOnlyWithImmediate, .rcRDMAReadRequest, .rcRDMAReadResponseFirst, .rcRDMAReadResponseMiddle,
        .rcRDMAReadResponseLast, .rcRDMAReadResponseOnly, .rcAcknowledge, .rcAtomicAcknowledge, .rcCompareSwap,
        .rcFetchAdd, .rcSendLastWithInvalidate, .rcSendOnlyWithInvalidate, .udSendOnly, .udSendOnlyWithImmediate,
    ]
}
