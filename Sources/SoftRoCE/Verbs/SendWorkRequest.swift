/// A work request for a queue pair's send queue: a SEND, RDMA WRITE, RDMA READ or atomic.
///
/// The fields mirror `ibv_send_wr`; fields an opcode doesn't use are ignored. The static factories
/// (``send(id:scatterGatherList:immediateData:flags:)`` and friends) build well-formed requests, and
/// ``validate(for:capabilities:)`` applies `ibv_post_send`'s checks. Corresponds to `ibv_send_wr`.
public struct SendWorkRequest: Hashable, Sendable {
    /// The operation. Raw values are libibverbs' `enum ibv_wr_opcode`. Corresponds to `ibv_wr_opcode`.
    public enum Opcode: UInt8, Hashable, Sendable, CaseIterable, CustomStringConvertible {
        /// Writes the local buffers into remote memory. Corresponds to `IBV_WR_RDMA_WRITE` (0).
        case rdmaWrite = 0
        /// RDMA WRITE that also consumes a remote receive and delivers ``SendWorkRequest/immediateData``.
        /// Corresponds to `IBV_WR_RDMA_WRITE_WITH_IMM` (1).
        case rdmaWriteWithImmediate = 1
        /// Sends the local buffers into the remote's next receive. Corresponds to `IBV_WR_SEND` (2).
        case send = 2
        /// SEND that also delivers ``SendWorkRequest/immediateData``. Corresponds to `IBV_WR_SEND_WITH_IMM` (3).
        case sendWithImmediate = 3
        /// Reads remote memory into the local buffers. Corresponds to `IBV_WR_RDMA_READ` (4).
        case rdmaRead = 4
        /// 64-bit compare-and-swap on remote memory; the original value lands in the local buffer.
        /// Corresponds to `IBV_WR_ATOMIC_CMP_AND_SWP` (5).
        case atomicCompareAndSwap = 5
        /// 64-bit fetch-and-add on remote memory; the original value lands in the local buffer.
        /// Corresponds to `IBV_WR_ATOMIC_FETCH_AND_ADD` (6).
        case atomicFetchAndAdd = 6

        /// Whether the opcode carries immediate data.
        @inline(__always)
        public var hasImmediate: Bool { self == .sendWithImmediate || self == .rdmaWriteWithImmediate }
        /// Whether the opcode addresses remote memory (needs ``SendWorkRequest/remoteAddress`` and
        /// ``SendWorkRequest/rkey``).
        @inline(__always)
        public var isRemoteMemoryAccess: Bool { self != .send && self != .sendWithImmediate }
        /// Whether the opcode is an atomic.
        @inline(__always)
        public var isAtomic: Bool { self == .atomicCompareAndSwap || self == .atomicFetchAndAdd }
        /// Whether the opcode is an RDMA READ or an atomic (its response carries data back).
        @inline(__always)
        public var isReadOrAtomic: Bool { self == .rdmaRead || isAtomic }
        /// Whether the opcode may carry its payload inline (SENDs and RDMA WRITEs).
        public var supportsInline: Bool { self.rawValue <= Self.sendWithImmediate.rawValue }

        /// Whether a queue pair of `type` can post the opcode: RC takes all of them, UD only SENDs.
        public func isSupported(by type: QueuePairType) -> Bool {
            switch type {
            case .rc: true
            case .ud: self == .send || self == .sendWithImmediate
            }
        }

        /// The opcode's libibverbs name, e.g. `IBV_WR_RDMA_WRITE`.
        public var description: String {
            switch self {
            case .rdmaWrite: "IBV_WR_RDMA_WRITE"
            case .rdmaWriteWithImmediate: "IBV_WR_RDMA_WRITE_WITH_IMM"
            case .send: "IBV_WR_SEND"
            case .sendWithImmediate: "IBV_WR_SEND_WITH_IMM"
            case .rdmaRead: "IBV_WR_RDMA_READ"
            case .atomicCompareAndSwap: "IBV_WR_ATOMIC_CMP_AND_SWP"
            case .atomicFetchAndAdd: "IBV_WR_ATOMIC_FETCH_AND_ADD"
            }
        }
    }

    /// Per-request flags. Raw values are libibverbs' `enum ibv_send_flags`. Corresponds to `ibv_send_flags`.
    public struct Flags: OptionSet, Hashable, Sendable {
        /// The `ibv_send_flags` bits.
        public let rawValue: UInt32

        /// Creates flags from `ibv_send_flags` bits.
        public init(rawValue: UInt32) {
            self.rawValue = rawValue
        }

        /// Wait for earlier RDMA READs and atomics to complete before starting. Corresponds to
        /// `IBV_SEND_FENCE` (1).
        public static let fence = Flags(rawValue: 1 << 0)
        /// Generate a work completion even if the QP was created with `sq_sig_all = 0`.
        /// Corresponds to `IBV_SEND_SIGNALED` (2).
        public static let signaled = Flags(rawValue: 1 << 1)
        /// Set the Solicited Event bit, so the receiver's solicited-only CQ notification fires.
        /// Corresponds to `IBV_SEND_SOLICITED` (4).
        public static let solicited = Flags(rawValue: 1 << 2)
        /// Copy the payload at post time; the lkeys are not checked. Corresponds to `IBV_SEND_INLINE` (8).
        public static let inline = Flags(rawValue: 1 << 3)
    }

    /// Caller's identifier, returned in the work completion. Corresponds to `wr_id`.
    public var id: UInt64
    /// The operation. Corresponds to `opcode`.
    public var opcode: Opcode
    /// The local buffers: gathered for SEND/WRITE, scattered into for READ/atomics. Corresponds to `sg_list`.
    public var scatterGatherList: [ScatterGatherElement]
    /// Per-request flags. Corresponds to `send_flags`.
    public var flags: Flags
    /// The 32-bit immediate value for ``Opcode/sendWithImmediate`` and ``Opcode/rdmaWriteWithImmediate``,
    /// in host order (libibverbs' `imm_data` is big-endian in memory; the wire ImmDt is big-endian).
    /// Ignored by other opcodes. Corresponds to `imm_data`.
    public var immediateData: UInt32
    /// The remote virtual address (or zero-based offset) for RDMA and atomics.
    /// Corresponds to `wr.rdma.remote_addr` / `wr.atomic.remote_addr`.
    public var remoteAddress: UInt64
    /// The remote key for RDMA and atomics. Corresponds to `wr.rdma.rkey` / `wr.atomic.rkey`.
    public var rkey: RemoteKey
    /// The compare value of compare-and-swap, or the addend of fetch-and-add.
    /// Corresponds to `wr.atomic.compare_add`.
    public var compareAdd: UInt64
    /// The swap value of compare-and-swap. Corresponds to `wr.atomic.swap`.
    public var swap: UInt64
    /// The destination of a UD send; `nil` (and ignored) on RC. Corresponds to `wr.ud`.
    public var datagram: DatagramDestination?

    /// Creates a send work request with every field given; prefer the opcode factories.
    public init(
        id: UInt64,
        opcode: Opcode,
        scatterGatherList: [ScatterGatherElement],
        flags: Flags = .signaled,
        immediateData: UInt32 = 0,
        remoteAddress: UInt64 = 0,
        rkey: RemoteKey = RemoteKey(rawValue: 0),
        compareAdd: UInt64 = 0,
        swap: UInt64 = 0,
        datagram: DatagramDestination? = nil
    ) {
        self.id = id
        self.opcode = opcode
        self.scatterGatherList = scatterGatherList
        self.flags = flags
        self.immediateData = immediateData
        self.remoteAddress = remoteAddress
        self.rkey = rkey
        self.compareAdd = compareAdd
        self.swap = swap
        self.datagram = datagram
    }

    /// The payload length in bytes: the sum of the scatter/gather lengths.
    public var totalLength: UInt64 { scatterGatherList.totalLength }
}

// MARK: - Factories

extension SendWorkRequest {
    /// A SEND (or SEND with immediate, when `immediateData` is given).
    /// - Parameters:
    ///   - id: returned in the work completion.
    ///   - scatterGatherList: the buffers to send.
    ///   - immediateData: the immediate value; `nil` for a plain SEND.
    ///   - flags: per-request flags (default ``Flags/signaled``).
    public static func send(
        id: UInt64,
        scatterGatherList: [ScatterGatherElement],
        immediateData: UInt32? = nil,
        flags: Flags = .signaled
    ) -> Self {
        Self(
            id: id,
            opcode: immediateData == nil ? .send : .sendWithImmediate,
            scatterGatherList: scatterGatherList,
            flags: flags,
            immediateData: immediateData ?? 0
        )
    }

    /// A UD SEND (or SEND with immediate) to `destination`.
    /// - Parameters:
    ///   - id: returned in the work completion.
    ///   - scatterGatherList: the buffers to send (at most one path MTU in total).
    ///   - destination: the address handle, remote QPN and remote Q_Key.
    ///   - immediateData: the immediate value; `nil` for a plain SEND.
    ///   - flags: per-request flags (default ``Flags/signaled``).
    public static func datagramSend(
        id: UInt64,
        scatterGatherList: [ScatterGatherElement],
        destination: DatagramDestination,
        immediateData: UInt32? = nil,
        flags: Flags = .signaled
    ) -> Self {
        var request = send(id: id, scatterGatherList: scatterGatherList, immediateData: immediateData, flags: flags)
        request.datagram = destination
        return request
    }

    /// An RDMA WRITE (or RDMA WRITE with immediate, when `immediateData` is given).
    /// - Parameters:
    ///   - id: returned in the work completion.
    ///   - scatterGatherList: the local buffers to write.
    ///   - remoteAddress: where to write in the remote region.
    ///   - rkey: the remote region's key.
    ///   - immediateData: the immediate value; `nil` for a plain RDMA WRITE.
    ///   - flags: per-request flags (default ``Flags/signaled``).
    public static func rdmaWrite(
        id: UInt64,
        scatterGatherList: [ScatterGatherElement],
        remoteAddress: UInt64,
        rkey: RemoteKey,
        immediateData: UInt32? = nil,
        flags: Flags = .signaled
    ) -> Self {
        Self(
            id: id,
            opcode: immediateData == nil ? .rdmaWrite : .rdmaWriteWithImmediate,
            scatterGatherList: scatterGatherList,
            flags: flags,
            immediateData: immediateData ?? 0,
            remoteAddress: remoteAddress,
            rkey: rkey
        )
    }

    /// An RDMA READ of remote memory into `scatterGatherList`.
    /// - Parameters:
    ///   - id: returned in the work completion.
    ///   - scatterGatherList: the local buffers to fill.
    ///   - remoteAddress: where to read in the remote region.
    ///   - rkey: the remote region's key.
    ///   - flags: per-request flags (default ``Flags/signaled``).
    public static func rdmaRead(
        id: UInt64,
        scatterGatherList: [ScatterGatherElement],
        remoteAddress: UInt64,
        rkey: RemoteKey,
        flags: Flags = .signaled
    ) -> Self {
        Self(
            id: id,
            opcode: .rdmaRead,
            scatterGatherList: scatterGatherList,
            flags: flags,
            remoteAddress: remoteAddress,
            rkey: rkey
        )
    }

    /// An atomic compare-and-swap: if the 64-bit value at `remoteAddress` equals `compare`, it becomes
    /// `swap`; the original value is written to `result` (8 bytes).
    /// - Parameters:
    ///   - id: returned in the work completion.
    ///   - result: the 8-byte local buffer for the original value.
    ///   - remoteAddress: the 8-byte aligned remote address.
    ///   - rkey: the remote region's key.
    ///   - compare: the expected value.
    ///   - swap: the new value.
    ///   - flags: per-request flags (default ``Flags/signaled``).
    public static func atomicCompareAndSwap(
        id: UInt64,
        result: ScatterGatherElement,
        remoteAddress: UInt64,
        rkey: RemoteKey,
        compare: UInt64,
        swap: UInt64,
        flags: Flags = .signaled
    ) -> Self {
        Self(
            id: id,
            opcode: .atomicCompareAndSwap,
            scatterGatherList: [result],
            flags: flags,
            remoteAddress: remoteAddress,
            rkey: rkey,
            compareAdd: compare,
            swap: swap
        )
    }

    /// An atomic fetch-and-add: adds `add` to the 64-bit value at `remoteAddress` (wrapping); the original
    /// value is written to `result` (8 bytes).
    /// - Parameters:
    ///   - id: returned in the work completion.
    ///   - result: the 8-byte local buffer for the original value.
    ///   - remoteAddress: the 8-byte aligned remote address.
    ///   - rkey: the remote region's key.
    ///   - add: the addend.
    ///   - flags: per-request flags (default ``Flags/signaled``).
    public static func atomicFetchAndAdd(
        id: UInt64,
        result: ScatterGatherElement,
        remoteAddress: UInt64,
        rkey: RemoteKey,
        add: UInt64,
        flags: Flags = .signaled
    ) -> Self {
        Self(
            id: id,
            opcode: .atomicFetchAndAdd,
            scatterGatherList: [result],
            flags: flags,
            remoteAddress: remoteAddress,
            rkey: rkey,
            compareAdd: add
        )
    }
}
