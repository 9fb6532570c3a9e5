import SoftRoCE
import Testing

/// One row of the expected state table, written out independently of the implementation from the kernel's
/// `qp_state_table` (drivers/infiniband/core/verbs.c), with `IBV_QP_*` names minus the prefix.
struct ExpectedTransition: Sendable, CustomTestStringConvertible {
    let type: QueuePairType
    let from: QueuePairState
    let to: QueuePairState
    let required: QueuePairAttributeMask
    let optional: QueuePairAttributeMask

    var testDescription: String { "\(type) \(from)→\(to)" }
}

/// Parses `"PKEY_INDEX|PORT"` into a mask through the `IBV_QP_*` names.
private func mask(_ names: String) -> QueuePairAttributeMask {
    names.split(separator: "|").reduce(into: QueuePairAttributeMask()) { mask, name in
        let verbsName = "IBV_QP_" + name.trimmingCharacters(in: " ")
        guard let entry = QueuePairAttributeMask.allAttributes.first(where: { $0.verbsName == verbsName }) else {
            fatalError("unknown attribute \(verbsName)")
        }
        mask.formUnion(entry.attribute)
    }
}

extension StringProtocol {
    fileprivate func trimmingCharacters(in set: Character) -> String {
        String(filter { $0 != set })
    }
}

private let R = QueuePairState.reset
private let I = QueuePairState.initialized
private let RTR = QueuePairState.readyToReceive
private let RTS = QueuePairState.readyToSend
private let SQD = QueuePairState.sendQueueDrained
private let SQE = QueuePairState.sendQueueError
private let E = QueuePairState.error

private func row(
    _ type: QueuePairType,
    _ from: QueuePairState,
    _ to: QueuePairState,
    required: String = "",
    optional: String = ""
) -> ExpectedTransition {
    ExpectedTransition(type: type, from: from, to: to, required: mask(required), optional: mask(optional))
}

/// The kernel's table for RC and UD. Every pair not listed is invalid.
let kernelTable: [ExpectedTransition] = {
    var rows: [ExpectedTransition] = []
    for type in QueuePairType.allCases {
        rows.append(row(type, R, R))
        for from in [I, RTR, RTS, SQD, SQE, E] {
            rows.append(row(type, from, R))
            rows.append(row(type, from, E))
        }
        rows.append(row(type, RTS, SQD, optional: "EN_SQD_ASYNC_NOTIFY"))
    }
    rows += [
        row(.rc, R, I, required: "PKEY_INDEX|PORT|ACCESS_FLAGS"),
        row(.ud, R, I, required: "PKEY_INDEX|PORT|QKEY"),
        row(.rc, I, I, optional: "PKEY_INDEX|PORT|ACCESS_FLAGS"),
        row(.ud, I, I, optional: "PKEY_INDEX|PORT|QKEY"),
        row(
            .rc,
            I,
            RTR,
            required: "AV|PATH_MTU|DEST_QPN|RQ_PSN|MAX_DEST_RD_ATOMIC|MIN_RNR_TIMER",
            optional: "ALT_PATH|ACCESS_FLAGS|PKEY_INDEX"
        ),
        row(.ud, I, RTR, optional: "PKEY_INDEX|QKEY"),
        row(
            .rc,
            RTR,
            RTS,
            required: "TIMEOUT|RETRY_CNT|RNR_RETRY|SQ_PSN|MAX_QP_RD_ATOMIC",
            optional: "CUR_STATE|ALT_PATH|ACCESS_FLAGS|MIN_RNR_TIMER|PATH_MIG_STATE"
        ),
        row(.ud, RTR, RTS, required: "SQ_PSN", optional: "CUR_STATE|QKEY"),
        row(.rc, RTS, RTS, optional: "CUR_STATE|ACCESS_FLAGS|ALT_PATH|PATH_MIG_STATE|MIN_RNR_TIMER"),
        row(.ud, RTS, RTS, optional: "CUR_STATE|QKEY"),
        row(.rc, SQD, RTS, optional: "CUR_STATE|ALT_PATH|ACCESS_FLAGS|MIN_RNR_TIMER|PATH_MIG_STATE"),
        row(.ud, SQD, RTS, optional: "CUR_STATE|QKEY"),
        row(
            .rc,
            SQD,
            SQD,
            optional: "PORT|AV|TIMEOUT|RETRY_CNT|RNR_RETRY|MAX_QP_RD_ATOMIC|MAX_DEST_RD_ATOMIC|"
                + "ALT_PATH|ACCESS_FLAGS|PKEY_INDEX|MIN_RNR_TIMER|PATH_MIG_STATE"
        ),
        row(.ud, SQD, SQD, optional: "PKEY_INDEX|QKEY"),
        row(.rc, SQE, RTS),
        row(.ud, SQE, RTS, optional: "CUR_STATE|QKEY"),
    ]
    return rows
}()

/// Every (type, from, to) the table does not list.
let invalidTransitions: [ExpectedTransition] = QueuePairType.allCases.flatMap { type in
    QueuePairState.allCases.flatMap { from in
        QueuePairState.allCases.compactMap { to in
            kernelTable.contains { $0.type == type && $0.from == from && $0.to == to }
                ? nil : ExpectedTransition(type: type, from: from, to: to, required: [], optional: [])
        }
    }
}

/// Attributes ``QueuePairAttributes`` can set (it has no alternate path or path migration state).
let settableAttributes: [QueuePairAttributeMask] = [
    .currentState, .notifySendQueueDrained, .accessFlags, .pkeyIndex, .portNumber, .qkey, .addressVector,
    .pathMTU, .timeout, .retryCount, .rnrRetry, .rqPSN, .maxReadAtomic, .minRNRTimer, .sqPSN,
    .maxDestReadAtomic, .capabilities, .destQPNumber,
]

/// Sets `attribute` to a valid value; `currentState` is set to the QP's actual state.
func set(_ attribute: QueuePairAttributeMask, on attributes: inout QueuePairAttributes, current: QueuePairState) {
    switch attribute {
    case .currentState: attributes.currentState = current
    case .notifySendQueueDrained: attributes.notifySendQueueDrained = true
    case .accessFlags: attributes.accessFlags = [.remoteWrite, .remoteRead]
    case .pkeyIndex: attributes.pkeyIndex = 0
    case .portNumber: attributes.portNumber = 1
    case .qkey: attributes.qkey = 0x1111_1111
    case .addressVector: attributes.addressVector = AddressVector(destinationGID: GID(ipv4: 0x7F00_0001))
    case .pathMTU: attributes.pathMTU = .mtu1024
    case .timeout: attributes.timeout = AckTimeout(code: 14)
    case .retryCount: attributes.retryCount = 7
    case .rnrRetry: attributes.rnrRetry = 7
    case .rqPSN: attributes.rqPSN = 0x12_3456
    case .maxReadAtomic: attributes.maxReadAtomic = 1
    case .minRNRTimer: attributes.minRNRTimer = RNRTimer(code: 12)
    case .sqPSN: attributes.sqPSN = 0x65_4321
    case .maxDestReadAtomic: attributes.maxDestReadAtomic = 1
    case .capabilities: attributes.capabilities = QueuePairCapabilities(maxSendWR: 1, maxReceiveWR: 1)
    case .destQPNumber: attributes.destQPNumber = 0x11
    default: Issue.record("attribute \(attribute) cannot be set")
    }
}

/// Attributes moving to `to` with every settable attribute of `mask` set.
func attributes(
    to: QueuePairState?,
    current: QueuePairState,
    setting mask: QueuePairAttributeMask
)
    -> QueuePairAttributes
{
    var attributes = QueuePairAttributes(state: to)
    for attribute in settableAttributes where mask.contains(attribute) {
        set(attribute, on: &attributes, current: current)
    }
    return attributes
}

@Suite("QueuePairStateMachine")
struct QueuePairStateMachineTests {
    @Test("the rule table matches the kernel's qp_state_table for every RC and UD pair")
    func ruleTableMatchesKernel() {
        var checked = 0
        for type in QueuePairType.allCases {
            for from in QueuePairState.allCases {
                for to in QueuePairState.allCases {
                    let expected = kernelTable.first { $0.type == type && $0.from == from && $0.to == to }
                    let actual = QueuePairStateMachine.rule(type: type, from: from, to: to)
                    #expect(actual?.required == expected?.required, "\(type) \(from)→\(to) required")
                    #expect(actual?.optional == expected?.optional, "\(type) \(from)→\(to) optional")
                    checked += 1
                }
            }
        }
        #expect(checked == 98)
        #expect(kernelTable.count == 2 * (1 + 12 + 1) + 16)
    }

    @Test("every legal transition succeeds with just its required attributes", arguments: kernelTable)
    func legalWithRequired(transition: ExpectedTransition) throws {
        let request = attributes(to: transition.to, current: transition.from, setting: transition.required)
        let next = try QueuePairStateMachine.validate(
            type: transition.type,
            currentState: transition.from,
            attributes: request
        )
        #expect(next == transition.to)
    }

    @Test("every legal transition also accepts all of its optional attributes", arguments: kernelTable)
    func legalWithOptional(transition: ExpectedTransition) throws {
        let request = attributes(
            to: transition.to,
            current: transition.from,
            setting: transition.required.union(transition.optional)
        )
        let next = try QueuePairStateMachine.validate(
            type: transition.type,
            currentState: transition.from,
            attributes: request
        )
        #expect(next == transition.to)
    }

    @Test(
        "leaving out any required attribute fails and names it",
        arguments: kernelTable.filter { !$0.required.isEmpty }
    )
    func missingRequired(transition: ExpectedTransition) {
        for missing in transition.required.attributes {
            let request = attributes(
                to: transition.to,
                current: transition.from,
                setting: transition.required.subtracting(missing)
            )
            let error = #expect(throws: VerbsError.self, "without \(missing)") {
                try QueuePairStateMachine.validate(
                    type: transition.type,
                    currentState: transition.from,
                    attributes: request
                )
            }
            #expect(error?.code == .missingRequiredAttribute)
            #expect(error?.attribute == missing)
        }
    }

    @Test("adding any attribute outside the rule fails and names it", arguments: kernelTable)
    func notAllowed(transition: ExpectedTransition) {
        let allowed = transition.required.union(transition.optional)
        for extra in settableAttributes where !allowed.contains(extra) {
            var request = attributes(to: transition.to, current: transition.from, setting: transition.required)
            set(extra, on: &request, current: transition.from)
            let error = #expect(throws: VerbsError.self, "with \(extra)") {
                try QueuePairStateMachine.validate(
                    type: transition.type,
                    currentState: transition.from,
                    attributes: request
                )
            }
            #expect(error?.code == .attributeNotAllowed, "with \(extra)")
            #expect(error?.attribute == extra, "with \(extra)")
        }
    }

    @Test("transitions outside the table are invalid", arguments: invalidTransitions)
    func invalid(transition: ExpectedTransition) {
        let error = #expect(throws: VerbsError.self) {
            try QueuePairStateMachine.validate(
                type: transition.type,
                currentState: transition.from,
                attributes: QueuePairAttributes(state: transition.to)
            )
        }
        #expect(error?.code == .invalidStateTransition)
        #expect(error?.attribute == nil)
    }

    @Test(
        "well-known illegal transitions",
        arguments: [
            (QueuePairType.rc, R, RTR), (.ud, R, RTR), (.rc, R, RTS), (.rc, I, RTS), (.rc, RTR, RTR), (.rc, RTR, SQD),
            (.rc, RTS, RTR), (.rc, E, RTS), (.ud, SQE, SQD), (.rc, R, E), (.ud, R, E),
        ]
    )
    func wellKnownIllegal(type: QueuePairType, from: QueuePairState, to: QueuePairState) {
        let error = #expect(throws: VerbsError.self) {
            try QueuePairStateMachine.validate(
                type: type,
                currentState: from,
                attributes: QueuePairAttributes(state: to)
            )
        }
        #expect(error?.code == .invalidStateTransition)
        #expect(error?.detail.contains("\(from) → \(to)") == true)
    }

    @Test(
        "RC INIT→RTR without the connection attributes names the missing one",
        arguments: [QueuePairAttributeMask.destQPNumber, .rqPSN, .pathMTU, .addressVector]
    )
    func rcInitToRTRMissing(missing: QueuePairAttributeMask) {
        let all = mask("AV|PATH_MTU|DEST_QPN|RQ_PSN|MAX_DEST_RD_ATOMIC|MIN_RNR_TIMER")
        let request = attributes(to: RTR, current: I, setting: all.subtracting(missing))
        let error = #expect(throws: VerbsError.self) {
            try QueuePairStateMachine.validate(type: .rc, currentState: I, attributes: request)
        }
        #expect(error?.code == .missingRequiredAttribute)
        #expect(error?.attribute == missing)
        #expect(error?.detail.contains(missing.name) == true)
        #expect(error?.detail.contains(missing.verbsName) == true)
    }

    @Test("UD INIT→RTR needs nothing but the state")
    func udInitToRTR() throws {
        let next = try QueuePairStateMachine.validate(
            type: .ud,
            currentState: I,
            attributes: QueuePairAttributes(state: .readyToReceive)
        )
        #expect(next == .readyToReceive)
    }

    @Test("RTR→RTS without sqPSN fails on both transports", arguments: QueuePairType.allCases)
    func rtrToRTSWithoutSQPSN(type: QueuePairType) {
        let required = type == .rc ? mask("TIMEOUT|RETRY_CNT|RNR_RETRY|MAX_QP_RD_ATOMIC") : []
        let error = #expect(throws: VerbsError.self) {
            try QueuePairStateMachine.validate(
                type: type,
                currentState: RTR,
                attributes: attributes(to: RTS, current: RTR, setting: required)
            )
        }
        #expect(error?.code == .missingRequiredAttribute)
        #expect(error?.attribute == .sqPSN)
    }

    @Test("an RC QP takes no Q_Key", arguments: [(R, I), (I, RTR), (RTR, RTS), (RTS, RTS)])
    func rcWithQKey(from: QueuePairState, to: QueuePairState) throws {
        let rule = try #require(QueuePairStateMachine.rule(type: .rc, from: from, to: to))
        var request = attributes(to: to, current: from, setting: rule.required)
        request.qkey = 0x1111_1111
        let error = #expect(throws: VerbsError.self) {
            try QueuePairStateMachine.validate(type: .rc, currentState: from, attributes: request)
        }
        #expect(error?.code == .attributeNotAllowed)
        #expect(error?.attribute == .qkey)
    }

    @Test("a UD QP takes no access flags or destination QPN")
    func udWithRCAttributes() {
        var request = attributes(to: I, current: R, setting: mask("PKEY_INDEX|PORT|QKEY"))
        request.accessFlags = [.remoteWrite]
        let error = #expect(throws: VerbsError.self) {
            try QueuePairStateMachine.validate(type: .ud, currentState: R, attributes: request)
        }
        #expect(error?.attribute == .accessFlags)
        let error2 = #expect(throws: VerbsError.self) {
            try QueuePairStateMachine.validate(
                type: .ud,
                currentState: I,
                attributes: QueuePairAttributes(state: .readyToReceive, destQPNumber: 3)
            )
        }
        #expect(error2?.attribute == .destQPNumber)
    }

    @Test("without a state the QP stays put, so the current→current row applies")
    func noStateChange() throws {
        let next = try QueuePairStateMachine.validate(
            type: .rc,
            currentState: RTS,
            attributes: QueuePairAttributes(accessFlags: [.remoteRead])
        )
        #expect(next == .readyToSend)
        #expect(try QueuePairStateMachine.validate(type: .rc, currentState: I, attributes: QueuePairAttributes()) == I)
        let error = #expect(throws: VerbsError.self) {
            try QueuePairStateMachine.validate(type: .rc, currentState: RTR, attributes: QueuePairAttributes())
        }
        #expect(error?.code == .invalidStateTransition)
    }

    @Test("currentState must match the actual state")
    func currentStateMismatch() {
        var request = attributes(to: RTS, current: RTR, setting: mask("SQ_PSN"))
        request.currentState = .sendQueueDrained
        let error = #expect(throws: VerbsError.self) {
            try QueuePairStateMachine.validate(type: .ud, currentState: RTR, attributes: request)
        }
        #expect(error?.code == .currentStateMismatch)
        #expect(error?.attribute == .currentState)
    }

    @Test("currentState is refused from states before RTR, as the kernel does")
    func currentStateFromInit() {
        let request = QueuePairAttributes(state: .initialized, currentState: .initialized)
        let error = #expect(throws: VerbsError.self) {
            try QueuePairStateMachine.validate(type: .ud, currentState: I, attributes: request)
        }
        #expect(error?.code == .attributeNotAllowed)
        #expect(error?.attribute == .currentState)
    }

    @Test("capabilities can never be modified")
    func capabilities() {
        let request = QueuePairAttributes(capabilities: QueuePairCapabilities(maxSendWR: 8, maxReceiveWR: 8))
        let error = #expect(throws: VerbsError.self) {
            try QueuePairStateMachine.validate(type: .rc, currentState: RTS, attributes: request)
        }
        #expect(error?.code == .attributeNotAllowed)
        #expect(error?.attribute == .capabilities)
    }

    @Test(
        "out-of-range values are rejected and named",
        arguments: [
            (QueuePairAttributeMask.retryCount, UInt8(8)), (.rnrRetry, 8), (.retryCount, 255),
        ]
    )
    func retryRange(attribute: QueuePairAttributeMask, value: UInt8) {
        var request = attributes(
            to: RTS,
            current: RTR,
            setting: mask("TIMEOUT|RETRY_CNT|RNR_RETRY|SQ_PSN|MAX_QP_RD_ATOMIC")
        )
        if attribute == .retryCount { request.retryCount = value } else { request.rnrRetry = value }
        let error = #expect(throws: VerbsError.self) {
            try QueuePairStateMachine.validate(type: .rc, currentState: RTR, attributes: request)
        }
        #expect(error?.code == .invalidAttributeValue)
        #expect(error?.attribute == attribute)
    }

    @Test("port 0 and a flow label above 20 bits are rejected")
    func otherRanges() {
        var request = attributes(to: I, current: R, setting: mask("PKEY_INDEX|PORT|ACCESS_FLAGS"))
        request.portNumber = 0
        let error = #expect(throws: VerbsError.self) {
            try QueuePairStateMachine.validate(type: .rc, currentState: R, attributes: request)
        }
        #expect(error?.attribute == .portNumber)

        var rtr = attributes(
            to: RTR,
            current: I,
            setting: mask("AV|PATH_MTU|DEST_QPN|RQ_PSN|MAX_DEST_RD_ATOMIC|MIN_RNR_TIMER")
        )
        rtr.addressVector?.flowLabel = 0x10_0000
        let error2 = #expect(throws: VerbsError.self) {
            try QueuePairStateMachine.validate(type: .rc, currentState: I, attributes: rtr)
        }
        #expect(error2?.code == .invalidAttributeValue)
        #expect(error2?.attribute == .addressVector)
    }

    @Test("an rc_pingpong-style lifecycle walks RESET→INIT→RTR→RTS→SQD→RTS→ERR→RESET")
    func lifecycle() throws {
        var state = R
        let steps: [(QueuePairState, String)] = [
            (I, "PKEY_INDEX|PORT|ACCESS_FLAGS"),
            (RTR, "AV|PATH_MTU|DEST_QPN|RQ_PSN|MAX_DEST_RD_ATOMIC|MIN_RNR_TIMER"),
            (RTS, "TIMEOUT|RETRY_CNT|RNR_RETRY|SQ_PSN|MAX_QP_RD_ATOMIC"),
            (SQD, "EN_SQD_ASYNC_NOTIFY"),
            (RTS, ""),
            (E, ""),
            (R, ""),
        ]
        for (to, names) in steps {
            state = try QueuePairStateMachine.validate(
                type: .rc,
                currentState: state,
                attributes: attributes(to: to, current: state, setting: mask(names))
            )
            #expect(state == to)
        }
    }
}
