import SoftRoCEMemory
import Synchronization
import NIOConcurrencyHelpers
import SoftRoCEWire

extension QueuePair {
    /// Modifies the QP: moves it through RESET → INIT → RTR → RTS (SQD, ERR) and sets the
    /// attributes of each transition, with the rules of `ibv_modify_qp`.
    ///
    /// Entering RTR arms the responder (expected PSN = `rqPSN`), entering RTS the requester
    /// (`sqPSN`, retry counters). Entering ERR flushes both queues with `WR_FLUSH_ERR`; entering
    /// RESET empties them without completions.
    /// - Throws: ``VerbsError`` (`invalidStateTransition`, `missingRequiredAttribute`,
    ///   `attributeNotAllowed`, `invalidAttributeValue`, `currentStateMismatch`); on error nothing
    ///   changes. Corresponds to `ibv_modify_qp`.
    public func modify(_ change: QueuePairAttributes) throws {
        try modifyLock.withLock {
            let current = state
            let next = try QueuePairStateMachine.validate(type: type, currentState: current, attributes: change)
            if let mtu = change.pathMTU, mtu.bytes > device.port.maxMTU.bytes {
                throw VerbsError(.invalidAttributeValue, attribute: .pathMTU, "path MTU \(mtu) exceeds the port's \(device.port.maxMTU)")
            }
            if let port = change.portNumber, port != device.port.number {
                throw VerbsError(.invalidAttributeValue, attribute: .portNumber, "port \(port) does not exist (the device has port \(device.port.number))")
            }
            if let path = change.addressVector {
                guard path.portNumber == device.port.number else {
                    throw VerbsError(.invalidAttributeValue, attribute: .addressVector, "the path's port \(path.portNumber) does not exist")
                }
                guard Int(path.sourceGIDIndex) < device.port.gidTableLength else {
                    throw VerbsError(
                        .invalidAttributeValue, attribute: .addressVector,
                        "source GID index \(path.sourceGIDIndex) is beyond the GID table (\(device.port.gidTableLength) entries)")
                }
            }
            let merged = attributes.withLockedValue { attributes -> QueuePairAttributes in
                attributes.merge(change)
                return attributes
            }
            let path = PathParameters(merged, type: type, device: device)
            sendSide.withLockedValue { $0.path = path }
            responderSide.withLockedValue { $0.path = path }
            if current != next {
                enter(next, from: current, attributes: merged)
            }
        }
    }

    /// Moves the QP to ERR outside `modify` (a completion error or destruction).
    func moveToError() {
        modifyLock.withLock {
            let current = state
            if current != .error { enter(.error, from: current, attributes: attributes.withLockedValue { $0 }) }
        }
    }

    private func enter(_ next: QueuePairState, from current: QueuePairState, attributes: QueuePairAttributes) {
        switch next {
        case .reset:
            stateValue.store(next.rawValue, ordering: .releasing)
            // A batch of runs on its way stops at its next run.
            requesterRewinds.wrappingAdd(1, ordering: .releasing)
            faultHandler.disableAndDrain()
            sendSide.withLockedValue { side in
                side = SendSide(capacity: capabilities.maxSendWR)
                side.path = PathParameters(attributes, type: type, device: device)
                sendInbox.reset()
            }
            responderSide.withLockedValue { side in side = ResponderSide(); side.path = PathParameters(attributes, type: type, device: device) }
            _ = receiveRing.withLockedValue { $0.removeAll() }
        case .readyToReceive:
            responderSide.withLockedValue { side in
                side.expectedPSN = PacketSequenceNumber(rawValue: attributes.rqPSN?.rawValue ?? 0)
                side.msn = MessageSequenceNumber(rawValue: 0)
                side.message = nil
                side.nakSequenceSent = false
            }
            faultHandler.enable()
            stateValue.store(next.rawValue, ordering: .releasing)
        case .readyToSend where current == .readyToReceive:
            sendSide.withLockedValue { side in
                let psn = PacketSequenceNumber(rawValue: attributes.sqPSN?.rawValue ?? 0)
                side.nextPSN = psn
                side.lastAckedPSN = psn - 1
                side.retryRemaining = side.path.retryCount
                side.rnrRemaining = side.path.rnrRetry
            }
            stateValue.store(next.rawValue, ordering: .releasing)
        case .error:
            stateValue.store(next.rawValue, ordering: .releasing)
            requesterRewinds.wrappingAdd(1, ordering: .releasing)
            faultHandler.disableAndDrain()
            flushInboundMessage()
            sendSide.withLockedValue { $0.flushPending = true }
            flushReceiveQueue()
            device.engine.schedule(self)
        default:
            stateValue.store(next.rawValue, ordering: .releasing)
            device.engine.schedule(self)
        }
    }

    /// Completes every posted receive with `WR_FLUSH_ERR`.
    func flushReceiveQueue() {
        guard sharedReceiveQueue == nil else { return }
        let flushed = receiveRing.withLockedValue { $0.removeAll() }
        for request in flushed {
            _ = receiveCompletionQueue.push(.flushed(wrID: request.id, opcode: .receive, qpNumber: number))
        }
    }
}

extension PathParameters {
    init(_ attributes: QueuePairAttributes, type: QueuePairType, device: Device) {
        self.init()
        mtu = attributes.pathMTU?.bytes ?? (type == .ud ? device.port.activeMTU.bytes : 1024)
        if let destination = attributes.destQPNumber { destinationQP = QueuePairNumber(rawValue: destination.rawValue) }
        if let vector = attributes.addressVector { destinationGID = vector.destinationGID }
        if let timeout = attributes.timeout { self.timeout = timeout.duration }
        if let retry = attributes.retryCount { retryCount = Int(retry) }
        if let rnr = attributes.rnrRetry { rnrRetry = Int(rnr) }
        if let timer = attributes.minRNRTimer { minRNRTimer = SoftRoCEWire.RNRTimer(rawValue: timer.code) }
        if let maxReadAtomic = attributes.maxReadAtomic { self.maxReadAtomic = max(1, Int(maxReadAtomic)) }
        if let qkey = attributes.qkey { self.qkey = qkey.rawValue }
        if let access = attributes.accessFlags { self.access = access }
    }
}
