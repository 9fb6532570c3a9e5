import SoftRoCEWire

/// The outcome of one work request, as polled from a ``CompletionQueue``. Corresponds to `ibv_wc`.
///
/// A plain value with no references, so copying it in and out of a completion queue costs no
/// reference counting.
public struct WorkCompletion: Hashable, Sendable {
    /// Flags of a completion. Raw values are libibverbs' `enum ibv_wc_flags`. Corresponds to `ibv_wc_flags`.
    public struct Flags: OptionSet, Hashable, Sendable {
        /// The `ibv_wc_flags` bits.
        public let rawValue: UInt32

        /// Creates flags from `ibv_wc_flags` bits.
        public init(rawValue: UInt32) {
            self.rawValue = rawValue
        }

        /// A UD receive whose buffer starts with the 40-byte GRH. Corresponds to `IBV_WC_GRH` (1).
        public static let grh = Flags(rawValue: 1 << 0)
        /// ``WorkCompletion/immediateData`` is valid. Corresponds to `IBV_WC_WITH_IMM` (2).
        public static let withImmediate = Flags(rawValue: 1 << 1)
    }

    /// The `id` of the work request that completed. Corresponds to `wr_id`.
    public let wrID: UInt64
    /// Success or the reason for failure. Corresponds to `status`.
    public let status: Status
    /// What completed. Only meaningful when ``status`` is ``Status/success`` (as in libibverbs).
    /// Corresponds to `opcode`.
    public let opcode: Opcode
    /// For receives, the number of bytes received (including the GRH on UD); for RDMA READ and atomics,
    /// the bytes read. Corresponds to `byte_len`.
    public let byteLength: UInt32
    /// The immediate value of a SEND/RDMA WRITE with immediate, in host order; `nil` when there was none.
    /// Corresponds to `imm_data` with `IBV_WC_WITH_IMM`.
    public let immediateData: UInt32?
    /// The local queue pair the work request belonged to. Corresponds to `qp_num`.
    public let qpNumber: QueuePairNumber
    /// For UD receives, the sender's QPN (from the DETH); `nil` otherwise. Corresponds to `src_qp`.
    public let sourceQPNumber: QueuePairNumber?
    /// Completion flags; ``Flags/withImmediate`` is set exactly when ``immediateData`` is not `nil`.
    /// Corresponds to `wc_flags`.
    public let flags: Flags
    /// A device-specific error detail for failed completions (0 when none). Corresponds to `vendor_err`.
    public let vendorError: UInt32

    /// Creates a work completion.
    /// - Parameters:
    ///   - wrID: the completed work request's `id`.
    ///   - status: success or the failure.
    ///   - opcode: what completed.
    ///   - byteLength: bytes transferred (see ``byteLength``), default 0.
    ///   - immediateData: the immediate value, if the message carried one; sets ``Flags/withImmediate``.
    ///   - qpNumber: the local QP.
    ///   - sourceQPNumber: the sender's QPN, for UD receives.
    ///   - hasGRH: whether the receive buffer starts with a GRH (UD); sets ``Flags/grh``.
    ///   - vendorError: device-specific error detail, default 0.
    public init(
        wrID: UInt64,
        status: Status,
        opcode: Opcode,
        byteLength: UInt32 = 0,
        immediateData: UInt32? = nil,
        qpNumber: QueuePairNumber,
        sourceQPNumber: QueuePairNumber? = nil,
        hasGRH: Bool = false,
        vendorError: UInt32 = 0
    ) {
        self.wrID = wrID
        self.status = status
        self.opcode = opcode
        self.byteLength = byteLength
        self.immediateData = immediateData
        self.qpNumber = qpNumber
        self.sourceQPNumber = sourceQPNumber
        var flags: Flags = []
        if immediateData != nil { flags.insert(.withImmediate) }
        if hasGRH { flags.insert(.grh) }
        self.flags = flags
        self.vendorError = vendorError
    }

    /// A flushed completion for a work request still queued when its QP entered the error state
    /// (`IBV_WC_WR_FLUSH_ERR`). Only ``wrID``, ``status`` and ``qpNumber`` are meaningful.
    public static func flushed(wrID: UInt64, opcode: Opcode, qpNumber: QueuePairNumber) -> Self {
        Self(wrID: wrID, status: .workRequestFlushError, opcode: opcode, qpNumber: qpNumber)
    }
}
