/// The queue pair state machine of `ibv_modify_qp`: which transitions exist, and which attributes each
/// requires and allows, per transport.
///
/// The table is the Linux kernel's `qp_state_table` and the check is `ib_modify_qp_is_ok`
/// (drivers/infiniband/core/verbs.c), restricted to RC and UD. Choices beyond the kernel:
/// - RESET → ERR is rejected, as in the kernel's table (whose RESET row lists only RESET and INIT),
///   although IBTA draws "any state → Error"; every other state may move to RESET and ERR.
/// - ``QueuePairAttributes/currentState`` must equal the actual state (IBTA's "invalid current QP state"
///   error); the kernel would trust it instead.
/// - Value ranges the type system does not already enforce are checked: `retryCount` and `rnrRetry`
///   0…7, port number ≥ 1, flow label ≤ 20 bits. Device limits (port count, P_Key table size,
///   `max_qp_rd_atom`) are left to the device.
public enum QueuePairStateMachine {
    /// The attributes one transition requires and additionally allows (``QueuePairAttributeMask/state``
    /// is always allowed).
    public struct Rule: Hashable, Sendable {
        /// Attributes that must be set.
        public let required: QueuePairAttributeMask
        /// Attributes that may be set.
        public let optional: QueuePairAttributeMask

        /// Creates a rule.
        public init(required: QueuePairAttributeMask = [], optional: QueuePairAttributeMask = []) {
            self.required = required
            self.optional = optional
        }
    }

    /// The rule of the transition `from` → `to` for a `type` QP, or `nil` if the transition does not
    /// exist. Corresponds to the kernel's `qp_state_table[from][to]`.
    public static func rule(type: QueuePairType, from: QueuePairState, to: QueuePairState) -> Rule? {
        switch (from, to) {
        case (.reset, .reset), (.error, .reset), (.error, .error):
            return Rule()
        case (.initialized, .reset), (.initialized, .error), (.readyToReceive, .reset), (.readyToReceive, .error),
            (.readyToSend, .reset), (.readyToSend, .error), (.sendQueueDrained, .reset),
            (.sendQueueDrained, .error), (.sendQueueError, .reset), (.sendQueueError, .error):
            return Rule()
        case (.reset, .initialized):
            switch type {
            case .ud: return Rule(required: [.pkeyIndex, .portNumber, .qkey])
            case .rc: return Rule(required: [.pkeyIndex, .portNumber, .accessFlags])
            }
        case (.initialized, .initialized):
            switch type {
            case .ud: return Rule(optional: [.pkeyIndex, .portNumber, .qkey])
            case .rc: return Rule(optional: [.pkeyIndex, .portNumber, .accessFlags])
            }
        case (.initialized, .readyToReceive):
            switch type {
            case .ud:
                return Rule(optional: [.pkeyIndex, .qkey])
            case .rc:
                return Rule(
                    required: [.addressVector, .pathMTU, .destQPNumber, .rqPSN, .maxDestReadAtomic, .minRNRTimer],
                    optional: [.alternatePath, .accessFlags, .pkeyIndex]
                )
            }
        case (.readyToReceive, .readyToSend):
            switch type {
            case .ud:
                return Rule(required: [.sqPSN], optional: [.currentState, .qkey])
            case .rc:
                return Rule(
                    required: [.timeout, .retryCount, .rnrRetry, .sqPSN, .maxReadAtomic],
                    optional: [.currentState, .alternatePath, .accessFlags, .minRNRTimer, .pathMigrationState]
                )
            }
        case (.readyToSend, .readyToSend):
            switch type {
            case .ud:
                return Rule(optional: [.currentState, .qkey])
            case .rc:
                return Rule(
                    optional: [.currentState, .accessFlags, .alternatePath, .pathMigrationState, .minRNRTimer]
                )
            }
        case (.readyToSend, .sendQueueDrained):
            return Rule(optional: [.notifySendQueueDrained])
        case (.sendQueueDrained, .readyToSend):
            switch type {
            case .ud:
                return Rule(optional: [.currentState, .qkey])
            case .rc:
                return Rule(
                    optional: [.currentState, .alternatePath, .accessFlags, .minRNRTimer, .pathMigrationState]
                )
            }
        case (.sendQueueDrained, .sendQueueDrained):
            switch type {
            case .ud:
                return Rule(optional: [.pkeyIndex, .qkey])
            case .rc:
                return Rule(
                    optional: [
                        .portNumber, .addressVector, .timeout, .retryCount, .rnrRetry, .maxReadAtomic,
                        .maxDestReadAtomic, .alternatePath, .accessFlags, .pkeyIndex, .minRNRTimer,
                        .pathMigrationState,
                    ]
                )
            }
        case (.sendQueueError, .readyToSend):
            switch type {
            case .ud: return Rule(optional: [.currentState, .qkey])
            case .rc: return Rule()
            }
        default:
            return nil
        }
    }

    /// Checks one `ibv_modify_qp` call and returns the state the QP ends in.
    ///
    /// In order: ``QueuePairAttributes/currentState`` must match `currentState` and may only be given from
    /// RTR, RTS, SQD or SQE; the transition must exist; every required attribute must be set; no attribute
    /// outside the rule may be set; the values must be in range.
    /// - Parameters:
    ///   - type: the QP's transport.
    ///   - currentState: the QP's actual state.
    ///   - attributes: the modification; a `nil` ``QueuePairAttributes/state`` keeps `currentState`.
    /// - Returns: the new state (``QueuePairAttributes/state``, or `currentState` when that is `nil`).
    /// - Throws: ``VerbsError`` with ``VerbsError/Code/currentStateMismatch``,
    ///   ``VerbsError/Code/invalidStateTransition``, ``VerbsError/Code/missingRequiredAttribute``,
    ///   ``VerbsError/Code/attributeNotAllowed`` or ``VerbsError/Code/invalidAttributeValue``; the last
    ///   three carry the offending attribute in ``VerbsError/attribute``.
    ///   Corresponds to `EINVAL` from `ibv_modify_qp` (the kernel's `ib_modify_qp_is_ok` returning false).
    @discardableResult
    public static func validate(
        type: QueuePairType,
        currentState: QueuePairState,
        attributes: QueuePairAttributes
    ) throws(VerbsError) -> QueuePairState {
        let mask = attributes.mask
        let next = attributes.state ?? currentState
        let transition = "\(type) QP \(currentState) → \(next)"

        if let claimed = attributes.currentState {
            guard claimed == currentState else {
                throw VerbsError(
                    .currentStateMismatch,
                    attribute: .currentState,
                    "currentState \(claimed) given, but the QP is in \(currentState)"
                )
            }
            let claimable: Set<QueuePairState> = [
                .readyToReceive, .readyToSend, .sendQueueDrained, .sendQueueError,
            ]
            guard claimable.contains(claimed) else {
                throw VerbsError(
                    .attributeNotAllowed,
                    attribute: .currentState,
                    "\(transition) does not accept \(QueuePairAttributeMask.currentState)"
                )
            }
        }
        guard let rule = rule(type: type, from: currentState, to: next) else {
            throw VerbsError(.invalidStateTransition, "\(transition) is not a valid transition")
        }
        if let missing = rule.required.subtracting(mask).first {
            throw VerbsError(.missingRequiredAttribute, attribute: missing, "\(transition) requires \(missing)")
        }
        if let extra = mask.subtracting(rule.required).subtracting(rule.optional).subtracting(.state).first {
            throw VerbsError(.attributeNotAllowed, attribute: extra, "\(transition) does not accept \(extra)")
        }
        try checkValues(attributes)
        return next
    }

    private static func checkValues(_ attributes: QueuePairAttributes) throws(VerbsError) {
        if let retryCount = attributes.retryCount, retryCount > QueuePairAttributes.maximumRetryCount {
            throw VerbsError(
                .invalidAttributeValue,
                attribute: .retryCount,
                "retryCount \(retryCount) is not in 0...7"
            )
        }
        if let rnrRetry = attributes.rnrRetry, rnrRetry > QueuePairAttributes.maximumRetryCount {
            throw VerbsError(.invalidAttributeValue, attribute: .rnrRetry, "rnrRetry \(rnrRetry) is not in 0...7")
        }
        if attributes.portNumber == 0 {
            throw VerbsError(.invalidAttributeValue, attribute: .portNumber, "port numbers start at 1")
        }
        if let addressVector = attributes.addressVector, addressVector.flowLabel > AddressVector.maximumFlowLabel {
            throw VerbsError(
                .invalidAttributeValue,
                attribute: .addressVector,
                "flow label 0x\(String(addressVector.flowLabel, radix: 16)) exceeds 20 bits"
            )
        }
    }
}
