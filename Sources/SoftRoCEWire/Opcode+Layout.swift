extension Opcode {
    /// Whether this codec knows the opcode's layout (the RC and UD opcodes Linux rxe implements).
    ///
    /// ``RoCEPacket`` rejects packets with other opcodes as ``RoCEPacketError/unsupportedOpcode(_:)``.
    public var isSupported: Bool { traits.contains(.supported) }

    /// The transport service, from the top three bits.
    public var transport: Transport { Transport(self) }

    /// The extension headers that follow the BTH; empty for an unsupported opcode.
    public var extensionHeaders: ExtensionHeaders { traits.extensionHeaders }

    /// The length of the BTH plus the extension headers, in bytes (rxe's `rxe_opcode[].length`).
    ///
    /// For an unsupported opcode this is the BTH alone, 12 bytes.
    public var headerLength: Int { BTH.byteCount + extensionHeaders.byteCount }

    /// Whether the packet may carry payload bytes (SEND, RDMA WRITE, READ responses).
    public var hasPayload: Bool { traits.contains(.payload) }

    /// Whether a requester sends it (SEND, RDMA WRITE, RDMA READ request, atomics).
    public var isRequest: Bool { traits.contains(.request) }

    /// Whether a responder sends it (ACK/NAK, RDMA READ response, ATOMIC ACK).
    public var isResponse: Bool { traits.contains(.response) }

    /// Whether it is a SEND packet, of any position.
    public var isSend: Bool { traits.contains(.send) }

    /// Whether it is an RDMA WRITE packet, of any position.
    public var isRDMAWrite: Bool { traits.contains(.write) }

    /// Whether it is an RDMA READ request.
    public var isRDMARead: Bool { traits.contains(.read) }

    /// Whether it is an RDMA READ response packet, of any position.
    public var isReadResponse: Bool { isResponse && hasPayload }

    /// Whether it is an atomic request (CmpSwap or FetchAdd).
    public var isAtomic: Bool { traits.contains(.atomic) }

    /// Whether the responder consumes a receive WQE for it (rxe's `RXE_RWR_MASK`): SEND First/Only and the
    /// RDMA WRITE with Immediate opcodes that end a message.
    public var requiresReceiveWorkRequest: Bool { traits.contains(.receiveWorkRequest) }

    /// Whether the responder completes the receive WQE on it (rxe's `RXE_COMP_MASK`).
    public var completesReceiveWorkRequest: Bool { traits.contains(.completion) }

    /// Whether it begins a message (First or Only).
    public var startsMessage: Bool { traits.contains(.start) }

    /// Whether it ends a message (Last or Only).
    public var endsMessage: Bool { traits.contains(.end) }

    /// Whether it is the First packet of a multi-packet message.
    public var isFirst: Bool { startsMessage && !endsMessage }

    /// Whether it is a Middle packet of a multi-packet message.
    public var isMiddle: Bool { traits.contains(.middle) }

    /// Whether it is the Last packet of a multi-packet message.
    public var isLast: Bool { endsMessage && !startsMessage }

    /// Whether it is a single-packet message (Only, READ request, ACK, atomics).
    public var isOnly: Bool { startsMessage && endsMessage }

    /// The rxe mask bits of this opcode.
    var traits: OpcodeTraits { OpcodeTraits.of(self) }
}
