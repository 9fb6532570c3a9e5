/// Access rights of a memory region, memory window or queue pair.
///
/// The raw values are libibverbs' `enum ibv_access_flags`, so they can cross any interface unchanged.
/// Corresponds to `ibv_access_flags` (the `access` argument of `ibv_reg_mr`, and `qp_access_flags` of
/// `ibv_modify_qp`).
public struct AccessFlags: OptionSet, Hashable, Sendable, CustomStringConvertible {
    /// The `ibv_access_flags` bits.
    public let rawValue: UInt32

    /// Creates flags from `ibv_access_flags` bits.
    public init(rawValue: UInt32) {
        self.rawValue = rawValue
    }

    /// The device may write local memory (receives, RDMA READ responses, atomic results).
    /// Corresponds to `IBV_ACCESS_LOCAL_WRITE` (1).
    public static let localWrite = AccessFlags(rawValue: 1 << 0)
    /// A remote peer may RDMA WRITE into the region. Corresponds to `IBV_ACCESS_REMOTE_WRITE` (2).
    public static let remoteWrite = AccessFlags(rawValue: 1 << 1)
    /// A remote peer may RDMA READ the region. Corresponds to `IBV_ACCESS_REMOTE_READ` (4).
    public static let remoteRead = AccessFlags(rawValue: 1 << 2)
    /// A remote peer may run atomics on the region. Corresponds to `IBV_ACCESS_REMOTE_ATOMIC` (8).
    public static let remoteAtomic = AccessFlags(rawValue: 1 << 3)
    /// Memory windows may be bound to the region. Corresponds to `IBV_ACCESS_MW_BIND` (16).
    public static let mwBind = AccessFlags(rawValue: 1 << 4)
    /// Remote addresses are offsets from the region's start, not virtual addresses.
    /// Corresponds to `IBV_ACCESS_ZERO_BASED` (32).
    public static let zeroBased = AccessFlags(rawValue: 1 << 5)
    /// On-demand paging: pages are neither pinned nor mapped at registration, and are faulted in by the
    /// device on first access. Corresponds to `IBV_ACCESS_ON_DEMAND` (64).
    public static let onDemand = AccessFlags(rawValue: 1 << 6)

    /// Every flag this device implements.
    public static let supported: AccessFlags = [
        .localWrite, .remoteWrite, .remoteRead, .remoteAtomic, .mwBind, .zeroBased, .onDemand,
    ]

    /// libibverbs' optional range (`IBV_ACCESS_OPTIONAL_RANGE`, bits 20–29): flags a provider may ignore
    /// (e.g. `IBV_ACCESS_RELAXED_ORDERING`). Validation accepts and ignores them, like rdma-core.
    public static let optionalRange = AccessFlags(rawValue: 0x3FF0_0000)

    /// The remote access rights: ``remoteWrite``, ``remoteRead`` and ``remoteAtomic``.
    public static let remoteAccess: AccessFlags = [.remoteWrite, .remoteRead, .remoteAtomic]

    /// Checks the flags as `ibv_reg_mr` does (the kernel's `ib_check_mr_access`): remote write and remote
    /// atomic need local write, and every bit outside ``optionalRange`` must be ``supported``.
    ///
    /// Whether the device offers ``onDemand`` at all is a device capability, checked by the device.
    /// - Throws: ``VerbsError`` with ``VerbsError/Code/remoteAccessRequiresLocalWrite`` or
    ///   ``VerbsError/Code/unsupportedAccessFlags``.
    public func validateForMemoryRegistration() throws(VerbsError) {
        let unknown = subtracting(.supported).subtracting(.optionalRange)
        if !unknown.isEmpty {
            throw VerbsError(
                .unsupportedAccessFlags,
                "access flags 0x\(String(unknown.rawValue, radix: 16)) are not supported"
            )
        }
        if !isDisjoint(with: [.remoteWrite, .remoteAtomic]) && !contains(.localWrite) {
            throw VerbsError(
                .remoteAccessRequiresLocalWrite,
                "\(self) asks for remote write or remote atomic without localWrite"
            )
        }
    }

    /// The set flags by name, e.g. `[localWrite, remoteRead]`.
    public var description: String {
        let names: [(AccessFlags, String)] = [
            (.localWrite, "localWrite"), (.remoteWrite, "remoteWrite"), (.remoteRead, "remoteRead"),
            (.remoteAtomic, "remoteAtomic"), (.mwBind, "mwBind"), (.zeroBased, "zeroBased"),
            (.onDemand, "onDemand"),
        ]
        var parts = names.filter { contains($0.0) }.map(\.1)
        let rest = subtracting(.supported)
        if !rest.isEmpty {
            parts.append("0x" + String(rest.rawValue, radix: 16))
        }
        return "[" + parts.joined(separator: ", ") + "]"
    }
}
