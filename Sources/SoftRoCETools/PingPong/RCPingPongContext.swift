import SoftRoCE
import SoftRoCEMemory

/// The verbs objects of one rc_pingpong side, as its `struct pingpong_context`: a PD, a
/// buffer of `size` bytes that every SEND and receive uses, its memory region (pinned, ODP or
/// implicit ODP), one CQ for both queues and an RC QP in INIT.
final class RCPingPongContext: PingPongEndpoint {
    let device: Device
    let protectionDomain: ProtectionDomain
    let buffer: AnonymousMemory
    let region: MemoryRegion
    let completionQueue: CompletionQueue
    let queuePair: QueuePair
    let size: Int
    let receiveDepth: Int
    /// `IBV_SEND_SIGNALED`, plus `IBV_SEND_INLINE` when the QP's inline limit holds a message.
    let sendFlags: SendWorkRequest.Flags
    private let sendRequest: SendWorkRequest
    /// A receive of the whole buffer.
    let receiveRequest: ReceiveWorkRequest
    /// rc_pingpong's `-c` pattern, at the start of the buffer.
    let validationPattern: PingPongValidationPattern
    /// The options `pp_connect_ctx` uses (`-m`, `-l`, `-i`, `-g`).
    private let configuration: RCPingPongConfiguration

    /// `pp_init_ctx`: allocates the PD, the buffer (filled with 0x7b), the MR, the CQ
    /// (`rx_depth + 1` entries), the QP (`max_send_wr` 1, `max_recv_wr` rx_depth, one SGE each)
    /// and moves the QP to INIT (P_Key index 0, port `ibPort`, no remote access). With
    /// `prefetch`, warns (through `warn`) and goes on when `ibv_advise_mr` fails, as rc_pingpong.
    /// - Throws: ``PingPongError`` `.setupFailed` with rc_pingpong's message for the step.
    init(device: Device, configuration: RCPingPongConfiguration, warn: (String) -> Void) throws(PingPongError) {
        self.device = device
        self.configuration = configuration
        size = configuration.size
        receiveDepth = configuration.receiveDepth
        protectionDomain = device.allocateProtectionDomain()
        var access: AccessFlags = [.localWrite]
        if configuration.onDemand != .none {
            let odp = device.attributes.onDemandPaging
            guard odp.isSupported, odp.reliableConnected.isSuperset(of: [.send, .receive]) else {
                throw PingPongError(.setupFailed, "The device isn't ODP capable or does not support RC send and receive with ODP")
            }
            if configuration.onDemand == .implicit && !odp.supportsImplicit {
                throw PingPongError(.setupFailed, "The device doesn't support implicit ODP")
            }
            access.insert(.onDemand)
        }
        do {
            // A zero-byte buffer cannot be mapped: -s 0 gets one byte behind its empty messages.
            buffer = try AnonymousMemory(length: max(size, 1))
        } catch {
            throw PingPongError(.setupFailed, "Couldn't allocate work buf.", detail: "\(error)")
        }
        buffer.fill(0x7B)
        do {
            if configuration.onDemand == .implicit {
                region = try protectionDomain.registerImplicitOnDemandRegion(access: access)
            } else {
                region = try protectionDomain.registerMemoryRegion(address: buffer.address, length: UInt64(buffer.length), access: access)
            }
        } catch {
            throw PingPongError(.setupFailed, "Couldn't register MR", detail: "\(error)")
        }
        let sge = ScatterGatherElement(address: buffer.address, length: UInt32(truncatingIfNeeded: size), lkey: region.lkey)
        if configuration.prefetch {
            do {
                try protectionDomain.adviseMemory(.write, scatterGatherList: [sge], synchronous: true)
            } catch {
                warn("Couldn't prefetch MR(\(Self.errorNumber(error))). Continue anyway")
            }
        }
        (completionQueue, queuePair, sendFlags) = try Self.createQueues(
            device: device, protectionDomain: protectionDomain, region: region, type: .rc, receiveDepth: receiveDepth, size: size)
        sendRequest = SendWorkRequest(id: PingPongWorkRequestID.send, opcode: .send, scatterGatherList: [sge], flags: sendFlags)
        receiveRequest = ReceiveWorkRequest(id: PingPongWorkRequestID.receive, scatterGatherList: [sge])
        validationPattern = PingPongValidationPattern(buffer: buffer, offset: 0, size: size)
        // A port the device lacks is refused by the modify (EINVAL, as ibv_modify_qp).
        do {
            try queuePair.modify(QueuePairAttributes(state: .initialized, accessFlags: [], portNumber: configuration.ibPort, pkeyIndex: 0))
        } catch {
            close()
            throw PingPongError(.setupFailed, "Failed to modify QP to INIT", detail: "\(error)")
        }
    }

    /// `pp_connect_ctx`: INIT → RTR (path MTU, the peer's QPN and PSN, `max_dest_rd_atomic` 1,
    /// `min_rnr_timer` 12, LID, SL, port; a GRH with hop limit 1, the peer's GID and
    /// `sgid_index` when the peer sent a GID whose interface ID is not zero) → RTS (timeout 14,
    /// `retry_cnt` 7, `rnr_retry` 7, `sq_psn` = our PSN, `max_rd_atomic` 1).
    /// - Throws: ``PingPongError`` `.connectQueuePairFailed` ("Failed to modify QP to RTR/RTS").
    func connect(to remote: PingPongDestination, localPSN: PacketSequenceNumber) throws(PingPongError) {
        // `dest->gid.global.interface_id`: the GID's low 64 bits.
        guard remote.gid.low != 0 else {
            throw PingPongError(
                .connectQueuePairFailed, "Failed to modify QP to RTR",
                detail: "the peer sent no GID, and RoCE needs a GRH: run both sides with -g 0")
        }
        // `sgid_index = sgid_idx`: -1 without -g, 255 as a u8, which no GID table holds.
        let sourceIndex = UInt8(truncatingIfNeeded: configuration.gidIndex)
        // A source GID index beyond the GID table is refused by the modify.
        let path = AddressVector(
            destinationGID: remote.gid, sourceGIDIndex: sourceIndex, hopLimit: 1, destinationLID: remote.lid,
            serviceLevel: configuration.serviceLevel, portNumber: configuration.ibPort)
        do {
            try queuePair.modify(QueuePairAttributes(
                state: .readyToReceive, pathMTU: configuration.mtu, rqPSN: remote.packetSequenceNumber,
                destQPNumber: remote.queuePairNumber, addressVector: path, minRNRTimer: RNRTimer(code: 12),
                maxDestReadAtomic: 1))
        } catch {
            throw PingPongError(.connectQueuePairFailed, "Failed to modify QP to RTR", detail: "\(error)")
        }
        do {
            try queuePair.modify(QueuePairAttributes(
                state: .readyToSend, sqPSN: localPSN, timeout: AckTimeout(code: 14), retryCount: 7, rnrRetry: 7,
                maxReadAtomic: 1))
        } catch {
            throw PingPongError(.connectQueuePairFailed, "Failed to modify QP to RTS", detail: "\(error)")
        }
    }

    /// `pp_post_send`: posts one SEND of the whole buffer.
    /// - Throws: ``PingPongError`` `.postSendFailed` ("Couldn't post send").
    func postSend() throws(PingPongError) {
        do {
            try queuePair.postSend(sendRequest)
        } catch {
            throw PingPongError(.postSendFailed, "Couldn't post send", detail: "\(error)")
        }
    }

    /// The errno-style number rc_pingpong prints for a failed `ibv_advise_mr` (`EINVAL` for a
    /// verbs error, `EFAULT` for a memory one).
    private static func errorNumber(_ error: any Error) -> Int { error is VerbsError ? 22 : 14 }
}
