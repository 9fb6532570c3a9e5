import SoftRoCE
import Testing

@Suite("SendWorkRequest and ReceiveWorkRequest")
struct WorkRequestTests {
    static let lkey = LocalKey(index: 1, variant: 0)
    static let rkey = RemoteKey(index: 2, variant: 0)
    static let caps = QueuePairCapabilities(
        maxSendWR: 16,
        maxReceiveWR: 16,
        maxSendSGE: 2,
        maxReceiveSGE: 3,
        maxInlineData: 64
    )
    static let destination = DatagramDestination(
        addressHandle: AddressHandle(addressVector: AddressVector(destinationGID: GID(ipv4: 0x7F00_0001))),
        remoteQPNumber: 0x12,
        remoteQKey: 0x1111_1111
    )

    static func sge(_ length: UInt32, at address: UInt64 = 0x1000) -> ScatterGatherElement {
        ScatterGatherElement(address: address, length: length, lkey: lkey)
    }

    @Test(
        "opcode raw values are libibverbs' ibv_wr_opcode",
        arguments: [
            (SendWorkRequest.Opcode.rdmaWrite, UInt8(0)), (.rdmaWriteWithImmediate, 1), (.send, 2),
            (.sendWithImmediate, 3), (.rdmaRead, 4), (.atomicCompareAndSwap, 5), (.atomicFetchAndAdd, 6),
        ]
    )
    func opcodeRawValues(opcode: SendWorkRequest.Opcode, raw: UInt8) {
        #expect(opcode.rawValue == raw)
    }

    @Test("send flags are libibverbs' ibv_send_flags")
    func flagRawValues() {
        #expect(SendWorkRequest.Flags.fence.rawValue == 1)
        #expect(SendWorkRequest.Flags.signaled.rawValue == 2)
        #expect(SendWorkRequest.Flags.solicited.rawValue == 4)
        #expect(SendWorkRequest.Flags.inline.rawValue == 8)
    }

    @Test("factories choose the immediate variants and fill the operands")
    func factories() {
        #expect(SendWorkRequest.send(id: 1, scatterGatherList: []).opcode == .send)
        let sendImm = SendWorkRequest.send(id: 1, scatterGatherList: [], immediateData: 0xABCD)
        #expect(sendImm.opcode == .sendWithImmediate)
        #expect(sendImm.immediateData == 0xABCD)
        let write = SendWorkRequest.rdmaWrite(
            id: 2,
            scatterGatherList: [Self.sge(8)],
            remoteAddress: 0x2000,
            rkey: Self.rkey,
            immediateData: 5
        )
        #expect(write.opcode == .rdmaWriteWithImmediate)
        #expect(write.remoteAddress == 0x2000)
        #expect(write.rkey == Self.rkey)
        let cas = SendWorkRequest.atomicCompareAndSwap(
            id: 3,
            result: Self.sge(8),
            remoteAddress: 0x3000,
            rkey: Self.rkey,
            compare: 10,
            swap: 20
        )
        #expect(cas.opcode == .atomicCompareAndSwap)
        #expect(cas.compareAdd == 10)
        #expect(cas.swap == 20)
        let faa = SendWorkRequest.atomicFetchAndAdd(
            id: 4,
            result: Self.sge(8),
            remoteAddress: 0x3000,
            rkey: Self.rkey,
            add: 7
        )
        #expect(faa.compareAdd == 7)
        let ud = SendWorkRequest.datagramSend(id: 5, scatterGatherList: [Self.sge(8)], destination: Self.destination)
        #expect(ud.datagram == Self.destination)
        #expect(ud.flags == .signaled)
    }

    @Test(
        "valid requests pass",
        arguments: [
            SendWorkRequest.send(id: 1, scatterGatherList: [sge(100), sge(200)]),
            .rdmaWrite(
                id: 2,
                scatterGatherList: [sge(64)],
                remoteAddress: 0x10,
                rkey: rkey,
                flags: [.signaled, .inline]
            ),
            .rdmaRead(id: 3, scatterGatherList: [sge(1 << 20)], remoteAddress: 0x10, rkey: rkey),
            .atomicFetchAndAdd(id: 4, result: sge(8), remoteAddress: 0x1_0008, rkey: rkey, add: 1),
            SendWorkRequest(
                id: 5,
                opcode: .atomicCompareAndSwap,
                scatterGatherList: [sge(4), sge(4)],
                remoteAddress: 8
            ),
            .send(id: 6, scatterGatherList: []),
        ]
    )
    func validRC(request: SendWorkRequest) throws {
        try request.validate(for: .rc, capabilities: Self.caps)
    }

    @Test("a UD send with a destination passes")
    func validUD() throws {
        try SendWorkRequest.datagramSend(id: 1, scatterGatherList: [Self.sge(8)], destination: Self.destination)
            .validate(for: .ud, capabilities: Self.caps)
    }

    @Test(
        "invalid requests are rejected with a typed error",
        arguments: [
            (
                SendWorkRequest.rdmaWrite(id: 1, scatterGatherList: [], remoteAddress: 0, rkey: rkey), QueuePairType.ud,
                VerbsError.Code.opcodeNotSupported
            ),
            (.rdmaRead(id: 1, scatterGatherList: [], remoteAddress: 0, rkey: rkey), .ud, .opcodeNotSupported),
            (.atomicFetchAndAdd(id: 1, result: sge(8), remoteAddress: 0, rkey: rkey, add: 1), .ud, .opcodeNotSupported),
            (.send(id: 1, scatterGatherList: [sge(1), sge(1), sge(1)]), .rc, .tooManyScatterGatherElements),
            (.send(id: 1, scatterGatherList: [sge(UInt32.max), sge(2)]), .rc, .messageTooLong),
            (
                .atomicFetchAndAdd(id: 1, result: sge(4), remoteAddress: 8, rkey: rkey, add: 1), .rc,
                .invalidAtomicLength
            ),
            (
                .atomicCompareAndSwap(id: 1, result: sge(16), remoteAddress: 8, rkey: rkey, compare: 0, swap: 1), .rc,
                .invalidAtomicLength
            ),
            (
                .atomicCompareAndSwap(id: 1, result: sge(8), remoteAddress: 0x1004, rkey: rkey, compare: 0, swap: 1),
                .rc,
                .misalignedAtomicAddress
            ),
            (
                .atomicFetchAndAdd(id: 1, result: sge(8), remoteAddress: 1, rkey: rkey, add: 1), .rc,
                .misalignedAtomicAddress
            ),
            (
                .rdmaRead(id: 1, scatterGatherList: [sge(8)], remoteAddress: 0, rkey: rkey, flags: .inline), .rc,
                .inlineNotSupported
            ),
            (.send(id: 1, scatterGatherList: [sge(65)], flags: .inline), .rc, .inlineDataTooLong),
            (.send(id: 1, scatterGatherList: [sge(8)]), .ud, .missingDatagramDestination),
        ] as [(SendWorkRequest, QueuePairType, VerbsError.Code)]
    )
    func invalid(request: SendWorkRequest, type: QueuePairType, code: VerbsError.Code) {
        let error = #expect(throws: VerbsError.self) {
            try request.validate(for: type, capabilities: Self.caps)
        }
        #expect(error?.code == code)
    }

    @Test("exactly 2^31 bytes is allowed, one more is not")
    func messageLengthBoundary() throws {
        let half = UInt32(1 << 30)
        try SendWorkRequest.send(id: 1, scatterGatherList: [Self.sge(half), Self.sge(half)])
            .validate(for: .rc, capabilities: Self.caps)
        let error = #expect(throws: VerbsError.self) {
            try SendWorkRequest.send(id: 1, scatterGatherList: [Self.sge(half), Self.sge(half + 1)])
                .validate(for: .rc, capabilities: Self.caps)
        }
        #expect(error?.code == .messageTooLong)
    }

    @Test("inline data up to max_inline_data passes")
    func inlineBoundary() throws {
        try SendWorkRequest.send(id: 1, scatterGatherList: [Self.sge(64)], flags: .inline)
            .validate(for: .rc, capabilities: Self.caps)
    }

    @Test("receive requests check max_recv_sge and the message limit")
    func receive() throws {
        let ok = ReceiveWorkRequest(id: 9, scatterGatherList: [Self.sge(10), Self.sge(20), Self.sge(30)])
        try ok.validate(capabilities: Self.caps)
        #expect(ok.totalLength == 60)
        let tooMany = ReceiveWorkRequest(id: 9, scatterGatherList: Array(repeating: Self.sge(1), count: 4))
        let error = #expect(throws: VerbsError.self) { try tooMany.validate(capabilities: Self.caps) }
        #expect(error?.code == .tooManyScatterGatherElements)
        let tooLong = ReceiveWorkRequest(id: 9, scatterGatherList: [Self.sge(UInt32.max), Self.sge(UInt32.max)])
        let error2 = #expect(throws: VerbsError.self) { try tooLong.validate(capabilities: Self.caps) }
        #expect(error2?.code == .messageTooLong)
    }
}
