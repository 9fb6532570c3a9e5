import SoftRoCEWire
import Testing

/// One row of Linux rxe's `rxe_opcode[]` table, written out independently of the library.
struct OpcodeRow: Sendable, CustomTestStringConvertible {
    var opcode: Opcode
    var headers: ExtensionHeaders
    var length: Int
    var position: Position
    var role: Role
    var payload: Bool

    enum Position: Sendable { case first, middle, last, only }
    enum Role: Sendable { case request, response }

    var testDescription: String { opcode.description }

    init(
        _ opcode: Opcode,
        _ headers: ExtensionHeaders,
        _ length: Int,
        _ position: Position,
        _ role: Role,
        payload: Bool
    ) {
        self.opcode = opcode
        self.headers = headers
        self.length = length
        self.position = position
        self.role = role
        self.payload = payload
    }

    static let rxeTable: [OpcodeRow] = [
        OpcodeRow(.rcSendFirst, [], 12, .first, .request, payload: true),
        OpcodeRow(.rcSendMiddle, [], 12, .middle, .request, payload: true),
        OpcodeRow(.rcSendLast, [], 12, .last, .request, payload: true),
        OpcodeRow(.rcSendLastWithImmediate, .immDt, 16, .last, .request, payload: true),
        OpcodeRow(.rcSendOnly, [], 12, .only, .request, payload: true),
        OpcodeRow(.rcSendOnlyWithImmediate, .immDt, 16, .only, .request, payload: true),
        OpcodeRow(.rcRDMAWriteFirst, .reth, 28, .first, .request, payload: true),
        OpcodeRow(.rcRDMAWriteMiddle, [], 12, .middle, .request, payload: true),
        OpcodeRow(.rcRDMAWriteLast, [], 12, .last, .request, payload: true),
        OpcodeRow(.rcRDMAWriteLastWithImmediate, .immDt, 16, .last, .request, payload: true),
        OpcodeRow(.rcRDMAWriteOnly, .reth, 28, .only, .request, payload: true),
        OpcodeRow(.rcRDMAWriteOnlyWithImmediate, [.reth, .immDt], 32, .only, .request, payload: true),
        OpcodeRow(.rcRDMAReadRequest, .reth, 28, .only, .request, payload: false),
        OpcodeRow(.rcRDMAReadResponseFirst, .aeth, 16, .first, .response, payload: true),
        OpcodeRow(.rcRDMAReadResponseMiddle, [], 12, .middle, .response, payload: true),
        OpcodeRow(.rcRDMAReadResponseLast, .aeth, 16, .last, .response, payload: true),
        OpcodeRow(.rcRDMAReadResponseOnly, .aeth, 16, .only, .response, payload: true),
        OpcodeRow(.rcAcknowledge, .aeth, 16, .only, .response, payload: false),
        OpcodeRow(.rcAtomicAcknowledge, [.aeth, .atomicAckETH], 24, .only, .response, payload: false),
        OpcodeRow(.rcCompareSwap, .atomicETH, 40, .only, .request, payload: false),
        OpcodeRow(.rcFetchAdd, .atomicETH, 40, .only, .request, payload: false),
        OpcodeRow(.rcSendLastWithInvalidate, .ieth, 16, .last, .request, payload: true),
        OpcodeRow(.rcSendOnlyWithInvalidate, .ieth, 16, .only, .request, payload: true),
        OpcodeRow(.udSendOnly, .deth, 20, .only, .request, payload: true),
        OpcodeRow(.udSendOnlyWithImmediate, [.deth, .immDt], 24, .only, .request, payload: true),
    ]
}

@Suite("Opcode")
struct OpcodeTests {
    @Test("raw values follow IBTA Table 38")
    func rawValues() {
        #expect(Opcode.rcSendFirst.rawValue == 0x00)
        #expect(Opcode.rcRDMAWriteFirst.rawValue == 0x06)
        #expect(Opcode.rcRDMAReadRequest.rawValue == 0x0C)
        #expect(Opcode.rcAcknowledge.rawValue == 0x11)
        #expect(Opcode.rcFetchAdd.rawValue == 0x14)
        #expect(Opcode.rcSendLastWithInvalidate.rawValue == 0x16)
        #expect(Opcode.rcSendOnlyWithInvalidate.rawValue == 0x17)
        #expect(Opcode.udSendOnly.rawValue == 0x64)
        #expect(Opcode.udSendOnlyWithImmediate.rawValue == 0x65)
        #expect(Opcode.allSupported.map(\.rawValue) == OpcodeRow.rxeTable.map(\.opcode.rawValue))
        #expect(Set(Opcode.allSupported).count == 25)
    }

    @Test("layout and traits match rxe's opcode table", arguments: OpcodeRow.rxeTable)
    func matchesRxeTable(_ row: OpcodeRow) {
        let opcode = row.opcode
        #expect(opcode.isSupported)
        #expect(opcode.extensionHeaders == row.headers)
        #expect(opcode.headerLength == row.length)
        #expect(opcode.headerLength == BTH.byteCount + opcode.extensionHeaders.byteCount)
        #expect(opcode.hasPayload == row.payload)
        #expect(opcode.isRequest == (row.role == .request))
        #expect(opcode.isResponse == (row.role == .response))
        #expect(opcode.isFirst == (row.position == .first))
        #expect(opcode.isMiddle == (row.position == .middle))
        #expect(opcode.isLast == (row.position == .last))
        #expect(opcode.isOnly == (row.position == .only))
        #expect(opcode.startsMessage == (row.position == .first || row.position == .only))
        #expect(opcode.endsMessage == (row.position == .last || row.position == .only))
        #expect(opcode.transport == (opcode.rawValue < 0x20 ? .reliableConnection : .unreliableDatagram))
        let kinds = [opcode.isSend, opcode.isRDMAWrite, opcode.isRDMARead, opcode.isReadResponse, opcode.isAtomic]
        #expect(kinds.filter { $0 }.count == (row.role == .request || opcode.isReadResponse ? 1 : 0))
    }

    @Test("receive WQE use follows rxe's RWR and COMP masks")
    func receiveWorkRequests() {
        let consumes: Set<Opcode> = [
            .rcSendFirst, .rcSendOnly, .rcSendOnlyWithImmediate, .rcRDMAWriteLastWithImmediate,
            .rcRDMAWriteOnlyWithImmediate, .rcSendOnlyWithInvalidate, .udSendOnly, .udSendOnlyWithImmediate,
        ]
        let completes: Set<Opcode> = [
            .rcSendLast, .rcSendLastWithImmediate, .rcSendOnly, .rcSendOnlyWithImmediate,
            .rcRDMAWriteLastWithImmediate, .rcRDMAWriteOnlyWithImmediate, .rcSendLastWithInvalidate,
            .rcSendOnlyWithInvalidate, .udSendOnly, .udSendOnlyWithImmediate,
        ]
        for opcode in Opcode.allSupported {
            #expect(opcode.requiresReceiveWorkRequest == consumes.contains(opcode), "\(opcode)")
            #expect(opcode.completesReceiveWorkRequest == completes.contains(opcode), "\(opcode)")
        }
    }

    @Test("every other byte is an unsupported opcode with no layout", arguments: 0...255)
    func unsupported(_ raw: Int) {
        let opcode = Opcode(rawValue: UInt8(raw))
        #expect(opcode.transport.rawValue == UInt8(raw) >> 5)
        guard !Opcode.allSupported.contains(opcode) else { return }
        #expect(!opcode.isSupported)
        #expect(opcode.extensionHeaders.isEmpty)
        #expect(opcode.headerLength == BTH.byteCount)
        #expect(!opcode.hasPayload && !opcode.isRequest && !opcode.isResponse)
        #expect(!opcode.startsMessage && !opcode.endsMessage && !opcode.isMiddle)
        #expect(opcode.description.hasPrefix("opcode 0x"))
    }

    @Test("descriptions use IBTA names")
    func descriptions() {
        #expect(Opcode.rcRDMAWriteFirst.description == "RC RDMA WRITE First")
        #expect(Opcode.udSendOnlyWithImmediate.description == "UD SEND Only with Immediate")
        #expect(Opcode.rcAtomicAcknowledge.description == "RC ATOMIC Acknowledge")
        #expect(Opcode(rawValue: 0x1C).description == "opcode 0x1c")
        #expect(Opcode(rawValue: 0x81).transport == .congestionNotification)
        #expect(ExtensionHeaders([.immDt, .reth]).description == "[RETH, ImmDt]")
        #expect(ExtensionHeaders([.deth, .immDt]).byteCount == 12)
    }
}
