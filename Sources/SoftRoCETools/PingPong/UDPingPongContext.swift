import SoftRoCE
import SoftRoCEMemory

/// The verbs objects of one ud_pingpong side, as its `struct pingpong_context`: a PD, a buffer of
/// `size + 40` bytes (receives land there with the 40-byte GRH first; SENDs go from `buf + 40`),
/// its memory region, one CQ for both queues, a UD QP in INIT with Q_Key 0x11111111, and once
/// connected the address handle of the peer.
final class UDPingPongContext: PingPongEndpoint {
    /// The bytes a UD receive gets ahead of the message: the GRH (`40` in ud_pingpong.c).
    static let grhSize = 40
    /// The Q_Key of both QPs and of every SEND (`0x11111111`).
    static let qkey = QKey(rawValue: 0x1111_1111)

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
    /// The options `pp_connect_ctx` uses (`-i`, `-l`, `-g`).
    private let configuration: UDPingPongConfiguration
    private let sendList: [ScatterGatherElement]
    /// A receive of the whole buffer (`size + 40` bytes, the GRH first).
    let receiveRequest: ReceiveWorkRequest
    /// ud_pingpong's `-c` pattern, in the message after the 40 GRH bytes.
    let validationPattern: PingPongValidationPattern
    /// The SEND to the peer, once ``connect(to:localPSN:)`` made its address handle (`ctx->ah`
    /// and `rem_dest->qpn`).
    private var sendRequest: SendWorkRequest?

    /// `pp_init_ctx`: checks the port (`ibv_query_port`) and that a message fits its active MTU,
    /// allocates the buffer (`size + 40` bytes filled with 0x7b), the PD, the MR over the whole
    /// buffer (local write), the CQ (`rx_depth + 1` entries) and the UD QP (`max_send_wr` 1,
    /// `max_recv_wr` rx_depth, one SGE each), and moves the QP to INIT (P_Key index 0, port
    /// `ibPort`, Q_Key 0x11111111).
    /// - Throws: ``PingPongError`` `.setupFailed` with ud_pingpong's message for the step.
    init(device: Device, configuration: UDPingPongConfiguration) throws(PingPongError) {
        self.device = device
        self.configuration = configuration
        size = configuration.size
        receiveDepth = configuration.receiveDepth
        guard configuration.ibPort == device.port.number else {
            throw PingPongError(
                .setupFailed, "Unable to query port info for port \(configuration.ibPort)",
                detail: "the device has port \(device.port.number)")
        }
        let mtu = device.port.activeMTU.bytes
        guard size <= mtu else {
            throw PingPongError(.setupFailed, "Requested size larger than port MTU (\(mtu))")
        }
        guard size >= 0 else {
            throw PingPongError(.setupFailed, "Couldn't allocate work buf.", detail: "negative size \(size)")
        }
        do {
            buffer = try AnonymousMemory(length: size + Self.grhSize)
        } catch {
            throw PingPongError(.setupFailed, "Couldn't allocate work buf.", detail: "\(error)")
        }
        buffer.fill(0x7B)
        protectionDomain = device.allocateProtectionDomain()
        do {
            region = try protectionDomain.registerMemoryRegion(address: buffer.address, length: UInt64(buffer.length), access: [.localWrite])
        } catch {
            throw PingPongError(.setupFailed, "Couldn't register MR", detail: "\(error)")
        }
        (completionQueue, queuePair, sendFlags) = try Self.createQueues(
            device: device, protectionDomain: protectionDomain, region: region, type: .ud, receiveDepth: receiveDepth, size: size)
        let length = UInt32(truncatingIfNeeded: size)
        sendList = [ScatterGatherElement(address: buffer.address + UInt64(Self.grhSize), length: length, lkey: region.lkey)]
        receiveRequest = ReceiveWorkRequest(
            id: PingPongWorkRequestID.receive,
            scatterGatherList: [ScatterGatherElement(address: buffer.address, length: length + UInt32(Self.grhSize), lkey: region.lkey)])
        validationPattern = PingPongValidationPattern(buffer: buffer, offset: Self.grhSize, size: size)
        do {
            try queuePair.modify(QueuePairAttributes(state: .initialized, qkey: Self.qkey, portNumber: configuration.ibPort, pkeyIndex: 0))
        } catch {
            close()
            throw PingPongError(.setupFailed, "Failed to modify QP to INIT", detail: "\(error)")
        }
    }

    /// `pp_connect_ctx`: INIT → RTR (the state alone), RTR → RTS (`sq_psn` = our PSN), then the
    /// address handle of the peer: its LID, `-l` SL and our port, and, when the peer sent a GID
    /// whose interface ID is not zero, a GRH with hop limit 64, the peer's GID and `sgid_index`.
    /// The peer's PSN is not used (UD has no receive PSN).
    ///
    /// SoftRoCE's ``AddressHandle`` is a value with no `ibv_create_ah` to fail, so this checks
    /// what rxe's would refuse: an address without a GRH (RoCE routes by the GID) or a source GID
    /// index beyond the table.
    /// - Throws: ``PingPongError`` `.connectQueuePairFailed` ("Failed to modify QP to RTR/RTS",
    ///   "Failed to create AH").
    func connect(to remote: PingPongDestination, localPSN: PacketSequenceNumber) throws(PingPongError) {
        do {
            try queuePair.modify(QueuePairAttributes(state: .readyToReceive))
        } catch {
            throw PingPongError(.connectQueuePairFailed, "Failed to modify QP to RTR", detail: "\(error)")
        }
        do {
            try queuePair.modify(QueuePairAttributes(state: .readyToSend, sqPSN: localPSN))
        } catch {
            throw PingPongError(.connectQueuePairFailed, "Failed to modify QP to RTS", detail: "\(error)")
        }
        // `dest->gid.global.interface_id`: the GID's low 64 bits.
        guard remote.gid.low != 0 else {
            throw PingPongError(
                .connectQueuePairFailed, "Failed to create AH",
                detail: "the peer sent no GID, and a RoCE address handle needs a GRH: run both sides with -g 0")
        }
        // `grh.sgid_index = sgid_idx`: -1 without -g, 255 as a u8, which no GID table holds.
        let sourceIndex = UInt8(truncatingIfNeeded: configuration.gidIndex)
        guard Int(sourceIndex) < device.port.gidTableLength else {
            throw PingPongError(
                .connectQueuePairFailed, "Failed to create AH",
                detail: "sgid_index \(sourceIndex) is not in the GID table (run with -g 0)")
        }
        let addressHandle = AddressHandle(addressVector: AddressVector(
            destinationGID: remote.gid, sourceGIDIndex: sourceIndex, hopLimit: 64, destinationLID: remote.lid,
            serviceLevel: configuration.serviceLevel, portNumber: configuration.ibPort))
        sendRequest = .datagramSend(
            id: PingPongWorkRequestID.send, scatterGatherList: sendList,
            destination: DatagramDestination(addressHandle: addressHandle, remoteQPNumber: remote.queuePairNumber, remoteQKey: Self.qkey),
            flags: sendFlags)
    }

    /// `pp_post_send`: posts one SEND of `size` bytes from `buf + 40` to the peer's QP through its
    /// address handle, with Q_Key 0x11111111.
    /// - Throws: ``PingPongError`` `.postSendFailed` ("Couldn't post send"), also before
    ///   ``connect(to:localPSN:)``.
    func postSend() throws(PingPongError) {
        guard let sendRequest else {
            throw PingPongError(.postSendFailed, "Couldn't post send", detail: "no address handle: the QP is not connected")
        }
        do {
            try queuePair.postSend(sendRequest)
        } catch {
            throw PingPongError(.postSendFailed, "Couldn't post send", detail: "\(error)")
        }
    }
}
