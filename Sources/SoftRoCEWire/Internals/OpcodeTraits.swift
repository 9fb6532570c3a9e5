/// The per-opcode bits of Linux rxe's `rxe_opcode[].mask` (`drivers/infiniband/sw/rxe/rxe_opcode.c`):
/// which extension headers follow the BTH and what the packet does.
struct OpcodeTraits: OptionSet, Sendable {
    var rawValue: UInt32

    // Extension headers: the low byte holds an ``ExtensionHeaders`` value.
    static let deth = OpcodeTraits(rawValue: UInt32(ExtensionHeaders.deth.rawValue))
    static let reth = OpcodeTraits(rawValue: UInt32(ExtensionHeaders.reth.rawValue))
    static let atomicETH = OpcodeTraits(rawValue: UInt32(ExtensionHeaders.atomicETH.rawValue))
    static let aeth = OpcodeTraits(rawValue: UInt32(ExtensionHeaders.aeth.rawValue))
    static let atomicAckETH = OpcodeTraits(rawValue: UInt32(ExtensionHeaders.atomicAckETH.rawValue))
    static let immDt = OpcodeTraits(rawValue: UInt32(ExtensionHeaders.immDt.rawValue))
    static let ieth = OpcodeTraits(rawValue: UInt32(ExtensionHeaders.ieth.rawValue))

    /// `RXE_PAYLOAD_MASK`: the packet may carry payload bytes.
    static let payload = OpcodeTraits(rawValue: 1 << 8)
    /// `RXE_REQ_MASK`: sent by a requester.
    static let request = OpcodeTraits(rawValue: 1 << 9)
    /// `RXE_ACK_MASK`: sent by a responder (ACK, READ response, ATOMIC ACK).
    static let response = OpcodeTraits(rawValue: 1 << 10)
    /// `RXE_SEND_MASK`.
    static let send = OpcodeTraits(rawValue: 1 << 11)
    /// `RXE_WRITE_MASK`.
    static let write = OpcodeTraits(rawValue: 1 << 12)
    /// `RXE_READ_MASK`.
    static let read = OpcodeTraits(rawValue: 1 << 13)
    /// `RXE_ATOMIC_MASK`.
    static let atomic = OpcodeTraits(rawValue: 1 << 14)
    /// `RXE_RWR_MASK`: consumes a receive WQE at the responder.
    static let receiveWorkRequest = OpcodeTraits(rawValue: 1 << 15)
    /// `RXE_COMP_MASK`: completes a receive WQE at the responder.
    static let completion = OpcodeTraits(rawValue: 1 << 16)
    /// `RXE_START_MASK`: the first packet of a message.
    static let start = OpcodeTraits(rawValue: 1 << 17)
    /// `RXE_MIDDLE_MASK`.
    static let middle = OpcodeTraits(rawValue: 1 << 18)
    /// `RXE_END_MASK`: the last packet of a message.
    static let end = OpcodeTraits(rawValue: 1 << 19)
    /// Set for every opcode in the table.
    static let supported = OpcodeTraits(rawValue: 1 << 31)

    /// The extension headers in this mask.
    var extensionHeaders: ExtensionHeaders {
        ExtensionHeaders(rawValue: UInt8(truncatingIfNeeded: rawValue))
    }

    /// The traits of `opcode`; empty for an opcode rxe does not implement.
    @inline(__always)
    static func of(_ opcode: Opcode) -> OpcodeTraits {
        OpcodeTraits(rawValue: table[Int(opcode.rawValue)])
    }

    /// ``derive(_:)`` for all 256 opcode bytes, written out as literals so the compiler lays the
    /// table out statically: the per-packet lookup is one load, with no lazy initialisation to
    /// check first. (A test checks it against ``derive(_:)``.)
    static let table: [UInt32] = [
        0x80028B00, 0x80040B00, 0x80090B00, 0x80090B20, 0x800B8B00, 0x800B8B20, 0x80021302, 0x80041300,
        0x80081300, 0x80099320, 0x800A1302, 0x800B9322, 0x800A2202, 0x80020508, 0x80040500, 0x80080508,
        0x800A0508, 0x800A0408, 0x800A0418, 0x800A4204, 0x800A4204, 0x0, 0x80090B40, 0x800B8B40,
        0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0,
        0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0,
        0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0,
        0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0,
        0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0,
        0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0,
        0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0,
        0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0,
        0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0,
        0x0, 0x0, 0x0, 0x0, 0x800B8B01, 0x800B8B21, 0x0, 0x0,
        0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0,
        0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0,
        0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0,
        0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0,
        0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0,
        0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0,
        0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0,
        0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0,
        0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0,
        0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0,
        0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0,
        0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0,
        0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0,
        0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0,
        0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0,
        0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0,
        0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0,
        0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0,
        0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0,
    ]

    /// The rxe table entry for `opcode`: what ``table`` holds.
    static func derive(_ opcode: Opcode) -> OpcodeTraits {
        let sendFirst: OpcodeTraits = [.supported, .payload, .request, .receiveWorkRequest, .send, .start]
        let sendMiddle: OpcodeTraits = [.supported, .payload, .request, .send, .middle]
        let sendLast: OpcodeTraits = [.supported, .payload, .request, .completion, .send, .end]
        let sendOnly: OpcodeTraits = [
            .supported, .payload, .request, .completion, .receiveWorkRequest, .send, .start, .end,
        ]
        let writeFirst: OpcodeTraits = [.supported, .reth, .payload, .request, .write, .start]
        let writeMiddle: OpcodeTraits = [.supported, .payload, .request, .write, .middle]
        let writeLast: OpcodeTraits = [.supported, .payload, .request, .write, .end]
        let writeOnly: OpcodeTraits = [.supported, .reth, .payload, .request, .write, .start, .end]
        let atomicRequest: OpcodeTraits = [.supported, .atomicETH, .request, .atomic, .start, .end]

        switch opcode {
        case .rcSendFirst: return sendFirst
        case .rcSendMiddle: return sendMiddle
        case .rcSendLast: return sendLast
        case .rcSendLastWithImmediate: return sendLast.union(.immDt)
        case .rcSendOnly: return sendOnly
        case .rcSendOnlyWithImmediate: return sendOnly.union(.immDt)
        case .rcRDMAWriteFirst: return writeFirst
        case .rcRDMAWriteMiddle: return writeMiddle
        case .rcRDMAWriteLast: return writeLast
        case .rcRDMAWriteLastWithImmediate: return writeLast.union([.immDt, .completion, .receiveWorkRequest])
        case .rcRDMAWriteOnly: return writeOnly
        case .rcRDMAWriteOnlyWithImmediate: return writeOnly.union([.immDt, .completion, .receiveWorkRequest])
        case .rcRDMAReadRequest: return [.supported, .reth, .request, .read, .start, .end]
        case .rcRDMAReadResponseFirst: return [.supported, .aeth, .payload, .response, .start]
        case .rcRDMAReadResponseMiddle: return [.supported, .payload, .response, .middle]
        case .rcRDMAReadResponseLast: return [.supported, .aeth, .payload, .response, .end]
        case .rcRDMAReadResponseOnly: return [.supported, .aeth, .payload, .response, .start, .end]
        case .rcAcknowledge: return [.supported, .aeth, .response, .start, .end]
        case .rcAtomicAcknowledge: return [.supported, .aeth, .atomicAckETH, .response, .start, .end]
        case .rcCompareSwap, .rcFetchAdd: return atomicRequest
        case .rcSendLastWithInvalidate: return sendLast.union(.ieth)
        case .rcSendOnlyWithInvalidate: return sendOnly.union(.ieth)
        case .udSendOnly: return sendOnly.union(.deth)
        case .udSendOnlyWithImmediate: return sendOnly.union([.deth, .immDt])
        default: return []
        }
    }
}
