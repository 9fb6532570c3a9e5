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
    @inlinable
    public init(rawValue: UInt8) {
        self.rawValue = rawValue
    }

    // MARK: RC (transport 0b000)

    /// RC SEND First (0x00).
    @inlinable public static var rcSendFirst: Opcode { Opcode(rawValue: 0x00) }
    /// RC SEND Middle (0x01).
    @inlinable public static var rcSendMiddle: Opcode { Opcode(rawValue: 0x01) }
    /// RC SEND Last (0x02).
    @inlinable public static var rcSendLast: Opcode { Opcode(rawValue: 0x02) }
    /// RC SEND Last with Immediate (0x03): carries an ImmDt.
    @inlinable public static var rcSendLastWithImmediate: Opcode { Opcode(rawValue: 0x03) }
    /// RC SEND Only (0x04).
    @inlinable public static var rcSendOnly: Opcode { Opcode(rawValue: 0x04) }
    /// RC SEND Only with Immediate (0x05): carries an ImmDt.
    @inlinable public static var rcSendOnlyWithImmediate: Opcode { Opcode(rawValue: 0x05) }
    /// RC RDMA WRITE First (0x06): carries a RETH.
    @inlinable public static var rcRDMAWriteFirst: Opcode { Opcode(rawValue: 0x06) }
    /// RC RDMA WRITE Middle (0x07).
    @inlinable public static var rcRDMAWriteMiddle: Opcode { Opcode(rawValue: 0x07) }
    /// RC RDMA WRITE Last (0x08).
    @inlinable public static var rcRDMAWriteLast: Opcode { Opcode(rawValue: 0x08) }
    /// RC RDMA WRITE Last with Immediate (0x09): carries an ImmDt.
    @inlinable public static var rcRDMAWriteLastWithImmediate: Opcode { Opcode(rawValue: 0x09) }
    /// RC RDMA WRITE Only (0x0A): carries a RETH.
    @inlinable public static var rcRDMAWriteOnly: Opcode { Opcode(rawValue: 0x0A) }
    /// RC RDMA WRITE Only with Immediate (0x0B): carries a RETH and an ImmDt.
    @inlinable public static var rcRDMAWriteOnlyWithImmediate: Opcode { Opcode(rawValue: 0x0B) }
    /// RC RDMA READ Request (0x0C): carries a RETH, no payload.
    @inlinable public static var rcRDMAReadRequest: Opcode { Opcode(rawValue: 0x0C) }
    /// RC RDMA READ Response First (0x0D): carries an AETH.
    @inlinable public static var rcRDMAReadResponseFirst: Opcode { Opcode(rawValue: 0x0D) }
    /// RC RDMA READ Response Middle (0x0E).
    @inlinable public static var rcRDMAReadResponseMiddle: Opcode { Opcode(rawValue: 0x0E) }
    /// RC RDMA READ Response Last (0x0F): carries an AETH.
    @inlinable public static var rcRDMAReadResponseLast: Opcode { Opcode(rawValue: 0x0F) }
    /// RC RDMA READ Response Only (0x10): carries an AETH.
    @inlinable public static var rcRDMAReadResponseOnly: Opcode { Opcode(rawValue: 0x10) }
    /// RC Acknowledge (0x11): carries an AETH, no payload.
    @inlinable public static var rcAcknowledge: Opcode { Opcode(rawValue: 0x11) }
    /// RC ATOMIC Acknowledge (0x12): carries an AETH and an AtomicAckETH, no payload.
    @inlinable public static var rcAtomicAcknowledge: Opcode { Opcode(rawValue: 0x12) }
    /// RC CmpSwap (0x13): carries an AtomicETH, no payload.
    @inlinable public static var rcCompareSwap: Opcode { Opcode(rawValue: 0x13) }
    /// RC FetchAdd (0x14): carries an AtomicETH, no payload.
    @inlinable public static var rcFetchAdd: Opcode { Opcode(rawValue: 0x14) }
    /// RC SEND Last with Invalidate (0x16): carries an IETH.
    @inlinable public static var rcSendLastWithInvalidate: Opcode { Opcode(rawValue: 0x16) }
    /// RC SEND Only with Invalidate (0x17): carries an IETH.
    @inlinable public static var rcSendOnlyWithInvalidate: Opcode { Opcode(rawValue: 0x17) }

    // MARK: UD (transport 0b011)

    /// UD SEND Only (0x64): carries a DETH.
    @inlinable public static var udSendOnly: Opcode { Opcode(rawValue: 0x64) }
    /// UD SEND Only with Immediate (0x65): carries a DETH and an ImmDt.
    @inlinable public static var udSendOnlyWithImmediate: Opcode { Opcode(rawValue: 0x65) }

    /// Every opcode this codec supports, in opcode order.
    public static let allSupported: [Opcode] = [
        .rcSendFirst, .rcSendMiddle, .rcSendLast, .rcSendLastWithImmediate, .rcSendOnly, .rcSendOnlyWithImmediate,
        .rcRDMAWriteFirst, .rcRDMAWriteMiddle, .rcRDMAWriteLast, .rcRDMAWriteLastWithImmediate, .rcRDMAWriteOnly,
        .rcRDMAWriteOnlyWithImmediate, .rcRDMAReadRequest, .rcRDMAReadResponseFirst, .rcRDMAReadResponseMiddle,
        .rcRDMAReadResponseLast, .rcRDMAReadResponseOnly, .rcAcknowledge, .rcAtomicAcknowledge, .rcCompareSwap,
        .rcFetchAdd, .rcSendLastWithInvalidate, .rcSendOnlyWithInvalidate, .udSendOnly, .udSendOnlyWithImmediate,
    ]
}
