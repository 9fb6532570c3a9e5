extension WorkCompletion {
    /// What a completion completed. An open set over libibverbs' `enum ibv_wc_opcode` values; receive
    /// opcodes have bit 7 set, so ``isReceive`` is `rawValue & 0x80`. Corresponds to `ibv_wc_opcode`.
    public struct Opcode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        /// The `ibv_wc_opcode` value.
        public let rawValue: UInt32

        /// Creates an opcode from its `ibv_wc_opcode` value.
        public init(rawValue: UInt32) {
            self.rawValue = rawValue
        }

        /// A SEND (with or without immediate) completed. Corresponds to `IBV_WC_SEND` (0).
        public static let send = Opcode(rawValue: 0)
        /// An RDMA WRITE (with or without immediate) completed. Corresponds to `IBV_WC_RDMA_WRITE` (1).
        public static let rdmaWrite = Opcode(rawValue: 1)
        /// An RDMA READ completed. Corresponds to `IBV_WC_RDMA_READ` (2).
        public static let rdmaRead = Opcode(rawValue: 2)
        /// A compare-and-swap completed. Corresponds to `IBV_WC_COMP_SWAP` (3).
        public static let compareAndSwap = Opcode(rawValue: 3)
        /// A fetch-and-add completed. Corresponds to `IBV_WC_FETCH_ADD` (4).
        public static let fetchAndAdd = Opcode(rawValue: 4)
        /// A receive consumed by a SEND. Corresponds to `IBV_WC_RECV` (128).
        public static let receive = Opcode(rawValue: 128)
        /// A receive consumed by an RDMA WRITE with immediate. Corresponds to `IBV_WC_RECV_RDMA_WITH_IMM` (129).
        public static let receiveRDMAWithImmediate = Opcode(rawValue: 129)

        /// The completion opcode a successful send work request of `opcode` reports.
        public init(_ opcode: SendWorkRequest.Opcode) {
            switch opcode {
            case .send, .sendWithImmediate: self = .send
            case .rdmaWrite, .rdmaWriteWithImmediate: self = .rdmaWrite
            case .rdmaRead: self = .rdmaRead
            case .atomicCompareAndSwap: self = .compareAndSwap
            case .atomicFetchAndAdd: self = .fetchAndAdd
            }
        }

        /// Whether this is a receive-queue completion (`opcode & IBV_WC_RECV`).
        public var isReceive: Bool { rawValue & 0x80 != 0 }

        /// The libibverbs constant name, e.g. `IBV_WC_RDMA_WRITE`, or `IBV_WC_OPCODE_<n>` for others.
        public var description: String {
            switch rawValue {
            case 0: "IBV_WC_SEND"
            case 1: "IBV_WC_RDMA_WRITE"
            case 2: "IBV_WC_RDMA_READ"
            case 3: "IBV_WC_COMP_SWAP"
            case 4: "IBV_WC_FETCH_ADD"
            case 128: "IBV_WC_RECV"
            case 129: "IBV_WC_RECV_RDMA_WITH_IMM"
            default: "IBV_WC_OPCODE_\(rawValue)"
            }
        }
    }
}
