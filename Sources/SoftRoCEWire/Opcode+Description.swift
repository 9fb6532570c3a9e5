extension Opcode: CustomStringConvertible {
    /// The IBTA name, e.g. "RC RDMA WRITE First"; "opcode 0x1c" for an unsupported opcode.
    public var description: String {
        let operation: String
        switch self {
        case .rcSendFirst: operation = "SEND First"
        case .rcSendMiddle: operation = "SEND Middle"
        case .rcSendLast: operation = "SEND Last"
        case .rcSendLastWithImmediate: operation = "SEND Last with Immediate"
        case .rcSendOnly, .udSendOnly: operation = "SEND Only"
        case .rcSendOnlyWithImmediate, .udSendOnlyWithImmediate: operation = "SEND Only with Immediate"
        case .rcRDMAWriteFirst: operation = "RDMA WRITE First"
        case .rcRDMAWriteMiddle: operation = "RDMA WRITE Middle"
        case .rcRDMAWriteLast: operation = "RDMA WRITE Last"
        case .rcRDMAWriteLastWithImmediate: operation = "RDMA WRITE Last with Immediate"
        case .rcRDMAWriteOnly: operation = "RDMA WRITE Only"
        case .rcRDMAWriteOnlyWithImmediate: operation = "RDMA WRITE Only with Immediate"
        case .rcRDMAReadRequest: operation = "RDMA READ Request"
        case .rcRDMAReadResponseFirst: operation = "RDMA READ Response First"
        case .rcRDMAReadResponseMiddle: operation = "RDMA READ Response Middle"
        case .rcRDMAReadResponseLast: operation = "RDMA READ Response Last"
        case .rcRDMAReadResponseOnly: operation = "RDMA READ Response Only"
        case .rcAcknowledge: operation = "Acknowledge"
        case .rcAtomicAcknowledge: operation = "ATOMIC Acknowledge"
        case .rcCompareSwap: operation = "CmpSwap"
        case .rcFetchAdd: operation = "FetchAdd"
        case .rcSendLastWithInvalidate: operation = "SEND Last with Invalidate"
        case .rcSendOnlyWithInvalidate: operation = "SEND Only with Invalidate"
        default: return "opcode " + hexString(rawValue, digits: 2)
        }
        return "\(transport) \(operation)"
    }
}
