/// An error thrown by a verbs call: a rejected argument, a queue pair modification the state machine
/// does not allow, a completion queue that cannot be used.
///
/// Verbs report these as `errno` values (mostly `EINVAL`); here each cause has its own ``Code`` and a
/// human-readable ``detail``. Match a code with `catch VerbsError.Code.missingRequiredAttribute`
/// (see ``Code/~=(_:_:)``) or compare ``code``.
public struct VerbsError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What went wrong. An open set: other parts of the module add codes, so don't `switch` exhaustively.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        /// The code's name, unique within the module (also its ``description``).
        public let name: String

        /// Creates a code. Names must be unique; the module defines every code it throws.
        init(_ name: String) {
            self.name = name
        }

        /// The code's name.
        public var description: String { name }

        /// Matches an error thrown as a ``VerbsError`` against a code, so `catch VerbsError.Code.x` works.
        public static func ~= (code: Code, error: any Error) -> Bool {
            (error as? VerbsError)?.code == code
        }
    }

    /// What went wrong.
    public let code: Code

    /// The queue pair attribute at fault, for queue pair modifications (``QueuePairStateMachine``);
    /// `nil` otherwise.
    public let attribute: QueuePairAttributeMask?

    /// A human-readable account of the failure, naming the values involved.
    public let detail: String

    /// Creates an error.
    init(_ code: Code, attribute: QueuePairAttributeMask? = nil, _ detail: String) {
        self.code = code
        self.attribute = attribute
        self.detail = detail
    }

    /// `"<code>: <detail>"`.
    public var description: String { "\(code.name): \(detail)" }
}

// MARK: - Codes of the verbs value types

extension VerbsError.Code {
    /// Remote write or remote atomic access was requested without local write.
    /// The corresponding C error is `EINVAL` from `ibv_reg_mr`.
    public static let remoteAccessRequiresLocalWrite = Self("remoteAccessRequiresLocalWrite")
    /// An access flag bit this device does not know. The corresponding C error is `EINVAL`.
    public static let unsupportedAccessFlags = Self("unsupportedAccessFlags")

    /// The work request's opcode cannot be posted on this queue pair type (e.g. RDMA WRITE on UD).
    /// The corresponding C error is `EINVAL` from `ibv_post_send`.
    public static let opcodeNotSupported = Self("opcodeNotSupported")
    /// More scatter/gather elements than the queue pair was created with (`max_send_sge` / `max_recv_sge`).
    public static let tooManyScatterGatherElements = Self("tooManyScatterGatherElements")
    /// The message is longer than the 2 GiB an RDMA message may carry.
    public static let messageTooLong = Self("messageTooLong")
    /// An atomic whose local buffer is not exactly 8 bytes.
    public static let invalidAtomicLength = Self("invalidAtomicLength")
    /// An atomic whose remote address is not 8-byte aligned.
    public static let misalignedAtomicAddress = Self("misalignedAtomicAddress")
    /// `inline` was requested on an opcode that cannot carry inline data (RDMA READ, atomics).
    public static let inlineNotSupported = Self("inlineNotSupported")
    /// Inline data longer than the queue pair's `max_inline_data`.
    public static let inlineDataTooLong = Self("inlineDataTooLong")
    /// A UD send without a destination (address handle, remote QPN, remote Q_Key).
    public static let missingDatagramDestination = Self("missingDatagramDestination")

    /// The queue pair's state does not allow the call, e.g. `ibv_post_send` before RTS or `ibv_post_recv`
    /// in RESET. The corresponding C error is `EINVAL`.
    public static let invalidState = Self("invalidState")
    /// The send queue already holds `max_send_wr` outstanding work requests.
    /// The corresponding C error is `ENOMEM` from `ibv_post_send`.
    public static let sendQueueFull = Self("sendQueueFull")
    /// The receive queue (or shared receive queue) already holds `max_recv_wr` work requests.
    /// The corresponding C error is `ENOMEM` from `ibv_post_recv` / `ibv_post_srq_recv`.
    public static let receiveQueueFull = Self("receiveQueueFull")

    /// The queue pair state machine has no such transition (e.g. RESET → RTR).
    /// The corresponding C error is `EINVAL` from `ibv_modify_qp`.
    public static let invalidStateTransition = Self("invalidStateTransition")
    /// The transition requires an attribute that was not set (``VerbsError/attribute`` names it).
    public static let missingRequiredAttribute = Self("missingRequiredAttribute")
    /// An attribute was set that the transition does not accept (``VerbsError/attribute`` names it).
    public static let attributeNotAllowed = Self("attributeNotAllowed")
    /// An attribute's value is out of range, e.g. `retryCount` 8 (``VerbsError/attribute`` names it).
    public static let invalidAttributeValue = Self("invalidAttributeValue")
    /// `currentState` was given and is not the queue pair's actual state.
    public static let currentStateMismatch = Self("currentStateMismatch")

    /// A completion queue size of zero or above the device limit. The corresponding C error is `EINVAL`
    /// from `ibv_create_cq`.
    public static let invalidCompletionQueueSize = Self("invalidCompletionQueueSize")
    /// The completion queue overflowed, so no further completions or events will arrive.
    /// The corresponding verbs event is `IBV_EVENT_CQ_ERR`.
    public static let completionQueueOverflow = Self("completionQueueOverflow")
    /// The completion queue was destroyed while a caller waited on it.
    public static let completionQueueClosed = Self("completionQueueClosed")
    /// The waiting task was cancelled.
    public static let cancelled = Self("cancelled")
    /// A blocking wait ended at its time limit before what it waited for happened.
    public static let timedOut = Self("timedOut")
}
