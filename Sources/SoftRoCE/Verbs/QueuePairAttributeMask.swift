/// Which queue pair attributes a modification sets. Raw values are libibverbs' `enum ibv_qp_attr_mask`,
/// so a mask can be compared bit for bit with a real `attr_mask`. Corresponds to `ibv_qp_attr_mask`.
///
/// ``QueuePairAttributes/mask`` derives the mask from the attributes that are not `nil`. A single-bit mask
/// names one attribute: ``name`` gives its Swift name, ``verbsName`` its `IBV_QP_*` constant.
public struct QueuePairAttributeMask: OptionSet, Hashable, Sendable, CustomStringConvertible {
    /// The `ibv_qp_attr_mask` bits.
    public let rawValue: UInt32

    /// Creates a mask from `ibv_qp_attr_mask` bits.
    public init(rawValue: UInt32) {
        self.rawValue = rawValue
    }

    /// ``QueuePairAttributes/state``. Corresponds to `IBV_QP_STATE`.
    public static let state = Self(rawValue: 1 << 0)
    /// ``QueuePairAttributes/currentState``. Corresponds to `IBV_QP_CUR_STATE`.
    public static let currentState = Self(rawValue: 1 << 1)
    /// ``QueuePairAttributes/notifySendQueueDrained``. Corresponds to `IBV_QP_EN_SQD_ASYNC_NOTIFY`.
    public static let notifySendQueueDrained = Self(rawValue: 1 << 2)
    /// ``QueuePairAttributes/accessFlags``. Corresponds to `IBV_QP_ACCESS_FLAGS`.
    public static let accessFlags = Self(rawValue: 1 << 3)
    /// ``QueuePairAttributes/pkeyIndex``. Corresponds to `IBV_QP_PKEY_INDEX`.
    public static let pkeyIndex = Self(rawValue: 1 << 4)
    /// ``QueuePairAttributes/portNumber``. Corresponds to `IBV_QP_PORT`.
    public static let portNumber = Self(rawValue: 1 << 5)
    /// ``QueuePairAttributes/qkey``. Corresponds to `IBV_QP_QKEY`.
    public static let qkey = Self(rawValue: 1 << 6)
    /// ``QueuePairAttributes/addressVector``. Corresponds to `IBV_QP_AV`.
    public static let addressVector = Self(rawValue: 1 << 7)
    /// ``QueuePairAttributes/pathMTU``. Corresponds to `IBV_QP_PATH_MTU`.
    public static let pathMTU = Self(rawValue: 1 << 8)
    /// ``QueuePairAttributes/timeout``. Corresponds to `IBV_QP_TIMEOUT`.
    public static let timeout = Self(rawValue: 1 << 9)
    /// ``QueuePairAttributes/retryCount``. Corresponds to `IBV_QP_RETRY_CNT`.
    public static let retryCount = Self(rawValue: 1 << 10)
    /// ``QueuePairAttributes/rnrRetry``. Corresponds to `IBV_QP_RNR_RETRY`.
    public static let rnrRetry = Self(rawValue: 1 << 11)
    /// ``QueuePairAttributes/rqPSN``. Corresponds to `IBV_QP_RQ_PSN`.
    public static let rqPSN = Self(rawValue: 1 << 12)
    /// ``QueuePairAttributes/maxReadAtomic``. Corresponds to `IBV_QP_MAX_QP_RD_ATOMIC`.
    public static let maxReadAtomic = Self(rawValue: 1 << 13)
    /// The alternate path (automatic path migration; not supported on RoCE, so never set by
    /// ``QueuePairAttributes``). Corresponds to `IBV_QP_ALT_PATH`.
    public static let alternatePath = Self(rawValue: 1 << 14)
    /// ``QueuePairAttributes/minRNRTimer``. Corresponds to `IBV_QP_MIN_RNR_TIMER`.
    public static let minRNRTimer = Self(rawValue: 1 << 15)
    /// ``QueuePairAttributes/sqPSN``. Corresponds to `IBV_QP_SQ_PSN`.
    public static let sqPSN = Self(rawValue: 1 << 16)
    /// ``QueuePairAttributes/maxDestReadAtomic``. Corresponds to `IBV_QP_MAX_DEST_RD_ATOMIC`.
    public static let maxDestReadAtomic = Self(rawValue: 1 << 17)
    /// The path migration state (not supported on RoCE, so never set by ``QueuePairAttributes``).
    /// Corresponds to `IBV_QP_PATH_MIG_STATE`.
    public static let pathMigrationState = Self(rawValue: 1 << 18)
    /// ``QueuePairAttributes/capabilities``. Corresponds to `IBV_QP_CAP`.
    public static let capabilities = Self(rawValue: 1 << 19)
    /// ``QueuePairAttributes/destQPNumber``. Corresponds to `IBV_QP_DEST_QPN`.
    public static let destQPNumber = Self(rawValue: 1 << 20)

    /// Every single-bit attribute, in `ibv_qp_attr_mask` bit order, with its Swift and verbs names.
    public static let allAttributes: [(attribute: Self, name: String, verbsName: String)] = [
        (.state, "state", "IBV_QP_STATE"),
        (.currentState, "currentState", "IBV_QP_CUR_STATE"),
        (.notifySendQueueDrained, "notifySendQueueDrained", "IBV_QP_EN_SQD_ASYNC_NOTIFY"),
        (.accessFlags, "accessFlags", "IBV_QP_ACCESS_FLAGS"),
        (.pkeyIndex, "pkeyIndex", "IBV_QP_PKEY_INDEX"),
        (.portNumber, "portNumber", "IBV_QP_PORT"),
        (.qkey, "qkey", "IBV_QP_QKEY"),
        (.addressVector, "addressVector", "IBV_QP_AV"),
        (.pathMTU, "pathMTU", "IBV_QP_PATH_MTU"),
        (.timeout, "timeout", "IBV_QP_TIMEOUT"),
        (.retryCount, "retryCount", "IBV_QP_RETRY_CNT"),
        (.rnrRetry, "rnrRetry", "IBV_QP_RNR_RETRY"),
        (.rqPSN, "rqPSN", "IBV_QP_RQ_PSN"),
        (.maxReadAtomic, "maxReadAtomic", "IBV_QP_MAX_QP_RD_ATOMIC"),
        (.alternatePath, "alternatePath", "IBV_QP_ALT_PATH"),
        (.minRNRTimer, "minRNRTimer", "IBV_QP_MIN_RNR_TIMER"),
        (.sqPSN, "sqPSN", "IBV_QP_SQ_PSN"),
        (.maxDestReadAtomic, "maxDestReadAtomic", "IBV_QP_MAX_DEST_RD_ATOMIC"),
        (.pathMigrationState, "pathMigrationState", "IBV_QP_PATH_MIG_STATE"),
        (.capabilities, "capabilities", "IBV_QP_CAP"),
        (.destQPNumber, "destQPNumber", "IBV_QP_DEST_QPN"),
    ]

    /// The single attributes in this mask, lowest bit first.
    public var attributes: [Self] {
        Self.allAttributes.map(\.attribute).filter { contains($0) }
    }

    /// The lowest-bit attribute in this mask, or `nil` if it is empty.
    public var first: Self? {
        isEmpty ? nil : Self(rawValue: rawValue & (~rawValue &+ 1))
    }

    /// The Swift names of the attributes in the mask, joined by `|`, e.g. `destQPNumber|rqPSN`.
    public var name: String {
        names(\.name)
    }

    /// The `IBV_QP_*` names of the attributes in the mask, joined by `|`, e.g. `IBV_QP_DEST_QPN`.
    public var verbsName: String {
        names(\.verbsName)
    }

    /// `"name (IBV_NAME)"`, e.g. `"destQPNumber (IBV_QP_DEST_QPN)"`; `"[]"` if empty.
    public var description: String {
        isEmpty ? "[]" : "\(name) (\(verbsName))"
    }

    private func names(_ key: KeyPath<(attribute: Self, name: String, verbsName: String), String>) -> String {
        var parts = Self.allAttributes.filter { contains($0.attribute) }.map { $0[keyPath: key] }
        let known = Self.allAttributes.reduce(into: Self()) { $0.formUnion($1.attribute) }
        let unknown = subtracting(known)
        if !unknown.isEmpty {
            parts.append("0x" + String(unknown.rawValue, radix: 16))
        }
        return parts.joined(separator: "|")
    }
}
