extension AETH {
    /// The 5-bit code of a NAK syndrome (IBTA Vol. 1, Table 43; rxe's `AETH_NAK_*`).
    ///
    /// An open set: codes 5-31 are reserved but representable.
    public struct NAKCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        /// The code, always below 32.
        public let rawValue: UInt8

        /// Wraps a code, keeping only its low 5 bits.
        public init(rawValue: UInt8) {
            self.rawValue = rawValue & 0x1F
        }

        /// PSN Sequence Error (0): the responder expected an earlier PSN; the requester resends from there.
        public static let psnSequenceError = NAKCode(rawValue: 0)
        /// Invalid Request (1): malformed or unsupported request. The corresponding verbs status is
        /// `IBV_WC_REM_INV_REQ_ERR`.
        public static let invalidRequest = NAKCode(rawValue: 1)
        /// Remote Access Error (2): bad R_Key, range or access rights. The corresponding verbs status is
        /// `IBV_WC_REM_ACCESS_ERR`.
        public static let remoteAccessError = NAKCode(rawValue: 2)
        /// Remote Operational Error (3): the responder failed the operation. The corresponding verbs status is
        /// `IBV_WC_REM_OP_ERR`.
        public static let remoteOperationalError = NAKCode(rawValue: 3)
        /// Invalid RD Request (4): reliable datagram only.
        public static let invalidRDRequest = NAKCode(rawValue: 4)

        /// The IBTA name in lower case, e.g. "PSN sequence error"; "reserved NAK code 9" otherwise.
        public var description: String {
            switch self {
            case .psnSequenceError: "PSN sequence error"
            case .invalidRequest: "invalid request"
            case .remoteAccessError: "remote access error"
            case .remoteOperationalError: "remote operational error"
            case .invalidRDRequest: "invalid RD request"
            default: "reserved NAK code \(rawValue)"
            }
        }
    }
}
