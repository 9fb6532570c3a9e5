import SoftRoCEWire

/// The attributes of one queue pair modification: each non-`nil` property is set (its bit is in
/// ``mask``), each `nil` one is left alone. Corresponds to `ibv_qp_attr` together with its `attr_mask`.
///
/// ``QueuePairStateMachine/validate(type:currentState:attributes:)`` checks a modification against the
/// state table before a device applies it.
public struct QueuePairAttributes: Hashable, Sendable {
    /// The state to move to; `nil` keeps the current state (and then the table's "current → current" row
    /// applies). Corresponds to `qp_state` (`IBV_QP_STATE`).
    public var state: QueuePairState?
    /// The state the caller believes the QP is in; must match the actual state, and is only accepted from
    /// RTR, RTS, SQD and SQE (into RTS). Corresponds to `cur_qp_state` (`IBV_QP_CUR_STATE`).
    public var currentState: QueuePairState?
    /// The path MTU (RC, INIT → RTR). Corresponds to `path_mtu` (`IBV_QP_PATH_MTU`).
    public var pathMTU: PathMTU?
    /// The Q_Key of a UD QP: checked on incoming datagrams, sent when a WR's Q_Key is controlled.
    /// Corresponds to `qkey` (`IBV_QP_QKEY`).
    public var qkey: QKey?
    /// The PSN the responder expects next (RC, INIT → RTR). Corresponds to `rq_psn` (`IBV_QP_RQ_PSN`).
    public var rqPSN: PacketSequenceNumber?
    /// The PSN of the first packet the requester sends (RTR → RTS). Corresponds to `sq_psn` (`IBV_QP_SQ_PSN`).
    public var sqPSN: PacketSequenceNumber?
    /// The remote RC QP this QP is connected to (INIT → RTR). Corresponds to `dest_qp_num` (`IBV_QP_DEST_QPN`).
    public var destQPNumber: QueuePairNumber?
    /// What remote peers may do to memory through this RC QP (``AccessFlags/remoteWrite``,
    /// ``AccessFlags/remoteRead``, ``AccessFlags/remoteAtomic``). Corresponds to `qp_access_flags`
    /// (`IBV_QP_ACCESS_FLAGS`).
    public var accessFlags: AccessFlags?
    /// The local port (1-based). Corresponds to `port_num` (`IBV_QP_PORT`).
    public var portNumber: UInt8?
    /// Index into the port's P_Key table (RoCE has only the default P_Key 0xFFFF at index 0).
    /// Corresponds to `pkey_index` (`IBV_QP_PKEY_INDEX`).
    public var pkeyIndex: UInt16?
    /// The path to the remote port (RC, INIT → RTR). Corresponds to `ah_attr` (`IBV_QP_AV`).
    public var addressVector: AddressVector?
    /// The local ACK timeout (RC, RTR → RTS). Corresponds to `timeout` (`IBV_QP_TIMEOUT`).
    public var timeout: AckTimeout?
    /// How many times a request is retransmitted after a timeout or sequence NAK before
    /// `IBV_WC_RETRY_EXC_ERR`: 0…7 (RC, RTR → RTS). Corresponds to `retry_cnt` (`IBV_QP_RETRY_CNT`).
    public var retryCount: UInt8?
    /// How many times a request is retried after an RNR NAK before `IBV_WC_RNR_RETRY_EXC_ERR`: 0…7, where
    /// 7 means retry forever (RC, RTR → RTS). Corresponds to `rnr_retry` (`IBV_QP_RNR_RETRY`).
    public var rnrRetry: UInt8?
    /// The RNR NAK delay this QP asks requesters to wait when it has no receive posted or must fault a
    /// page in (RC, INIT → RTR). Corresponds to `min_rnr_timer` (`IBV_QP_MIN_RNR_TIMER`).
    public var minRNRTimer: RNRTimer?
    /// How many RDMA READs and atomics this QP may have outstanding as requester (RC, RTR → RTS).
    /// Corresponds to `max_rd_atomic` (`IBV_QP_MAX_QP_RD_ATOMIC`).
    public var maxReadAtomic: UInt8?
    /// How many RDMA READs and atomics this QP accepts outstanding as responder (RC, INIT → RTR).
    /// Corresponds to `max_dest_rd_atomic` (`IBV_QP_MAX_DEST_RD_ATOMIC`).
    public var maxDestReadAtomic: UInt8?
    /// New queue sizes. No transition of the state table accepts them (a QP's sizes are fixed at
    /// creation), so setting this always fails validation, as in the kernel.
    /// Corresponds to `cap` (`IBV_QP_CAP`).
    public var capabilities: QueuePairCapabilities?
    /// Whether to raise the "send queue drained" async event when RTS → SQD finishes draining.
    /// Corresponds to `en_sqd_async_notify` (`IBV_QP_EN_SQD_ASYNC_NOTIFY`).
    public var notifySendQueueDrained: Bool?

    /// Creates attributes; every property defaults to `nil` (not set).
    public init(
        state: QueuePairState? = nil,
        currentState: QueuePairState? = nil,
        pathMTU: PathMTU? = nil,
        qkey: QKey? = nil,
        rqPSN: PacketSequenceNumber? = nil,
        sqPSN: PacketSequenceNumber? = nil,
        destQPNumber: QueuePairNumber? = nil,
        accessFlags: AccessFlags? = nil,
        portNumber: UInt8? = nil,
        pkeyIndex: UInt16? = nil,
        addressVector: AddressVector? = nil,
        timeout: AckTimeout? = nil,
        retryCount: UInt8? = nil,
        rnrRetry: UInt8? = nil,
        minRNRTimer: RNRTimer? = nil,
        maxReadAtomic: UInt8? = nil,
        maxDestReadAtomic: UInt8? = nil,
        capabilities: QueuePairCapabilities? = nil,
        notifySendQueueDrained: Bool? = nil
    ) {
        self.state = state
        self.currentState = currentState
        self.pathMTU = pathMTU
        self.qkey = qkey
        self.rqPSN = rqPSN
        self.sqPSN = sqPSN
        self.destQPNumber = destQPNumber
        self.accessFlags = accessFlags
        self.portNumber = portNumber
        self.pkeyIndex = pkeyIndex
        self.addressVector = addressVector
        self.timeout = timeout
        self.retryCount = retryCount
        self.rnrRetry = rnrRetry
        self.minRNRTimer = minRNRTimer
        self.maxReadAtomic = maxReadAtomic
        self.maxDestReadAtomic = maxDestReadAtomic
        self.capabilities = capabilities
        self.notifySendQueueDrained = notifySendQueueDrained
    }

    /// The `ibv_qp_attr_mask` of this modification: one bit per non-`nil` property.
    public var mask: QueuePairAttributeMask {
        var mask: QueuePairAttributeMask = []
        if state != nil { mask.insert(.state) }
        if currentState != nil { mask.insert(.currentState) }
        if notifySendQueueDrained != nil { mask.insert(.notifySendQueueDrained) }
        if accessFlags != nil { mask.insert(.accessFlags) }
        if pkeyIndex != nil { mask.insert(.pkeyIndex) }
        if portNumber != nil { mask.insert(.portNumber) }
        if qkey != nil { mask.insert(.qkey) }
        if addressVector != nil { mask.insert(.addressVector) }
        if pathMTU != nil { mask.insert(.pathMTU) }
        if timeout != nil { mask.insert(.timeout) }
        if retryCount != nil { mask.insert(.retryCount) }
        if rnrRetry != nil { mask.insert(.rnrRetry) }
        if rqPSN != nil { mask.insert(.rqPSN) }
        if maxReadAtomic != nil { mask.insert(.maxReadAtomic) }
        if minRNRTimer != nil { mask.insert(.minRNRTimer) }
        if sqPSN != nil { mask.insert(.sqPSN) }
        if maxDestReadAtomic != nil { mask.insert(.maxDestReadAtomic) }
        if capabilities != nil { mask.insert(.capabilities) }
        if destQPNumber != nil { mask.insert(.destQPNumber) }
        return mask
    }

    /// Overlays `change` on these attributes: every attribute `change` sets replaces the one here, the others
    /// stay. This is how a QP's stored attributes absorb a validated `ibv_modify_qp` (``currentState`` is
    /// only an assertion and is never stored; ``state`` is taken over like the rest).
    public mutating func merge(_ change: QueuePairAttributes) {
        if let value = change.state { state = value }
        if let value = change.pathMTU { pathMTU = value }
        if let value = change.qkey { qkey = value }
        if let value = change.rqPSN { rqPSN = value }
        if let value = change.sqPSN { sqPSN = value }
        if let value = change.destQPNumber { destQPNumber = value }
        if let value = change.accessFlags { accessFlags = value }
        if let value = change.portNumber { portNumber = value }
        if let value = change.pkeyIndex { pkeyIndex = value }
        if let value = change.addressVector { addressVector = value }
        if let value = change.timeout { timeout = value }
        if let value = change.retryCount { retryCount = value }
        if let value = change.rnrRetry { rnrRetry = value }
        if let value = change.minRNRTimer { minRNRTimer = value }
        if let value = change.maxReadAtomic { maxReadAtomic = value }
        if let value = change.maxDestReadAtomic { maxDestReadAtomic = value }
        if let value = change.capabilities { capabilities = value }
        if let value = change.notifySendQueueDrained { notifySendQueueDrained = value }
    }

    /// These attributes with `change` overlaid (see ``merge(_:)``).
    public func merging(_ change: QueuePairAttributes) -> QueuePairAttributes {
        var result = self
        result.merge(change)
        return result
    }

    /// The largest valid ``retryCount`` and ``rnrRetry``: 7 (a 3-bit field; for ``rnrRetry``, "infinite").
    public static let maximumRetryCount: UInt8 = 7
    /// The ``rnrRetry`` value meaning "retry forever".
    public static let infiniteRNRRetry: UInt8 = 7
}
