extension WorkCompletion {
    /// The outcome of a work request. An open set over libibverbs' `enum ibv_wc_status` values, so a
    /// status this module doesn't name still round-trips. Corresponds to `ibv_wc_status`.
    public struct Status: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        /// The `ibv_wc_status` value.
        public let rawValue: UInt32

        /// Creates a status from its `ibv_wc_status` value.
        public init(rawValue: UInt32) {
            self.rawValue = rawValue
        }

        /// The work request completed. The corresponding verbs status is `IBV_WC_SUCCESS` (0).
        public static let success = Status(rawValue: 0)
        /// A receive buffer too small for the incoming message, or a message longer than allowed.
        /// The corresponding verbs status is `IBV_WC_LOC_LEN_ERR` (1).
        public static let localLengthError = Status(rawValue: 1)
        /// An internal QP consistency error while executing the request (e.g. UD message over the path
        /// MTU). The corresponding verbs status is `IBV_WC_LOC_QP_OP_ERR` (2).
        public static let localQPOperationError = Status(rawValue: 2)
        /// An EE context error (reliable datagram only; never produced here).
        /// The corresponding verbs status is `IBV_WC_LOC_EEC_OP_ERR` (3).
        public static let localEECOperationError = Status(rawValue: 3)
        /// An lkey that is unknown, stale, in another protection domain, lacks local write, or an SGE
        /// outside its region; also an ODP page that cannot be resolved locally.
        /// The corresponding verbs status is `IBV_WC_LOC_PROT_ERR` (4).
        public static let localProtectionError = Status(rawValue: 4)
        /// The request was still queued when its QP entered the error state.
        /// The corresponding verbs status is `IBV_WC_WR_FLUSH_ERR` (5).
        public static let workRequestFlushError = Status(rawValue: 5)
        /// A memory window bind failed. The corresponding verbs status is `IBV_WC_MW_BIND_ERR` (6).
        public static let memoryWindowBindError = Status(rawValue: 6)
        /// The responder sent an unexpected transport opcode. The corresponding verbs status is
        /// `IBV_WC_BAD_RESP_ERR` (7).
        public static let badResponseError = Status(rawValue: 7)
        /// A protection error on a local data buffer during an RDMA READ response or atomic result.
        /// The corresponding verbs status is `IBV_WC_LOC_ACCESS_ERR` (8).
        public static let localAccessError = Status(rawValue: 8)
        /// The responder rejected the request as invalid (e.g. its receive buffer was too small, or an
        /// unsupported opcode). The corresponding verbs status is `IBV_WC_REM_INV_REQ_ERR` (9).
        public static let remoteInvalidRequestError = Status(rawValue: 9)
        /// The responder found the rkey unknown, stale, in another PD, out of range or lacking the access
        /// flag; or could not resolve an ODP page. The corresponding verbs status is
        /// `IBV_WC_REM_ACCESS_ERR` (10).
        public static let remoteAccessError = Status(rawValue: 10)
        /// The responder could not complete the operation. The corresponding verbs status is
        /// `IBV_WC_REM_OP_ERR` (11).
        public static let remoteOperationError = Status(rawValue: 11)
        /// Packets were lost and the transport retry count (`retry_cnt`) ran out.
        /// The corresponding verbs status is `IBV_WC_RETRY_EXC_ERR` (12).
        public static let retryExceededError = Status(rawValue: 12)
        /// The responder kept answering RNR NAK and `rnr_retry` ran out.
        /// The corresponding verbs status is `IBV_WC_RNR_RETRY_EXC_ERR` (13).
        public static let rnrRetryExceededError = Status(rawValue: 13)
        /// Reliable datagram RDD violation (never produced here).
        /// The corresponding verbs status is `IBV_WC_LOC_RDD_VIOL_ERR` (14).
        public static let localRDDViolationError = Status(rawValue: 14)
        /// Reliable datagram invalid RD request (never produced here).
        /// The corresponding verbs status is `IBV_WC_REM_INV_RD_REQ_ERR` (15).
        public static let remoteInvalidRDRequestError = Status(rawValue: 15)
        /// The responder aborted the operation. The corresponding verbs status is `IBV_WC_REM_ABORT_ERR` (16).
        public static let remoteAbortError = Status(rawValue: 16)
        /// Invalid EE context number (never produced here).
        /// The corresponding verbs status is `IBV_WC_INV_EECN_ERR` (17).
        public static let invalidEECNumberError = Status(rawValue: 17)
        /// Invalid EE context state (never produced here).
        /// The corresponding verbs status is `IBV_WC_INV_EEC_STATE_ERR` (18).
        public static let invalidEECStateError = Status(rawValue: 18)
        /// A fatal device error. The corresponding verbs status is `IBV_WC_FATAL_ERR` (19).
        public static let fatalError = Status(rawValue: 19)
        /// The response did not arrive in time. The corresponding verbs status is `IBV_WC_RESP_TIMEOUT_ERR` (20).
        public static let responseTimeoutError = Status(rawValue: 20)
        /// Any other error. The corresponding verbs status is `IBV_WC_GENERAL_ERR` (21).
        public static let generalError = Status(rawValue: 21)

        /// Whether the work request succeeded.
        public var isSuccess: Bool { rawValue == 0 }

        /// The libibverbs constant name, e.g. `IBV_WC_REM_ACCESS_ERR`, or `IBV_WC_<n>` for an unknown value.
        public var verbsName: String {
            rawValue < Self.verbsNames.count ? Self.verbsNames[Int(rawValue)] : "IBV_WC_\(rawValue)"
        }

        /// The text `ibv_wc_status_str` returns, e.g. `"remote access error"`; `"unknown"` past
        /// `IBV_WC_GENERAL_ERR`, like rdma-core.
        public var description: String {
            rawValue < Self.strings.count ? Self.strings[Int(rawValue)] : "unknown"
        }

        private static let strings: [String] = [
            "success",
            "local length error",
            "local QP operation error",
            "local EE context operation error",
            "local protection error",
            "Work Request Flushed Error",
            "memory management operation error",
            "bad response error",
            "local access error",
            "remote invalid request error",
            "remote access error",
            "remote operation error",
            "transport retry counter exceeded",
            "RNR retry counter exceeded",
            "local RDD violation error",
            "remote invalid RD request",
            "aborted error",
            "invalid EE context number",
            "invalid EE context state",
            "fatal error",
            "response timeout error",
            "general error",
        ]

        private static let verbsNames: [String] = [
            "IBV_WC_SUCCESS",
            "IBV_WC_LOC_LEN_ERR",
            "IBV_WC_LOC_QP_OP_ERR",
            "IBV_WC_LOC_EEC_OP_ERR",
            "IBV_WC_LOC_PROT_ERR",
            "IBV_WC_WR_FLUSH_ERR",
            "IBV_WC_MW_BIND_ERR",
            "IBV_WC_BAD_RESP_ERR",
            "IBV_WC_LOC_ACCESS_ERR",
            "IBV_WC_REM_INV_REQ_ERR",
            "IBV_WC_REM_ACCESS_ERR",
            "IBV_WC_REM_OP_ERR",
            "IBV_WC_RETRY_EXC_ERR",
            "IBV_WC_RNR_RETRY_EXC_ERR",
            "IBV_WC_LOC_RDD_VIOL_ERR",
            "IBV_WC_REM_INV_RD_REQ_ERR",
            "IBV_WC_REM_ABORT_ERR",
            "IBV_WC_INV_EECN_ERR",
            "IBV_WC_INV_EEC_STATE_ERR",
            "IBV_WC_FATAL_ERR",
            "IBV_WC_RESP_TIMEOUT_ERR",
            "IBV_WC_GENERAL_ERR",
        ]
    }
}
