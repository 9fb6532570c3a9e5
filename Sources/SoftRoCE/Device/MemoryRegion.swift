import NIOConcurrencyHelpers
public import SoftRoCEMemory
import Synchronization

/// A registered memory region: a range of the process's memory the device may access, with its
/// keys and access flags. Pinned (`mlock` + `RLIMIT_MEMLOCK` accounting) or on-demand paged.
/// Corresponds to `struct ibv_mr` (`ibv_reg_mr`).
///
/// Deregistration waits: ``deregister()`` removes the keys (later uses fail with a protection or
/// access error) and returns only after every device access still using the region has finished;
/// it never fails because the region is in use and never leaves the device touching memory the
/// application may unmap afterwards.
public final class MemoryRegion: Sendable, Hashable, CustomStringConvertible {
    /// The protection domain.
    public let protectionDomain: ProtectionDomain
    /// First byte (the registration's `addr`).
    public let address: UInt64
    /// Length in bytes.
    public let length: UInt64
    /// Access flags of the registration.
    public let access: AccessFlags
    /// The local key (for SGEs) and the remote key (for RDMA requests from peers); equal values,
    /// as in rxe. The low byte is the variant that changes with each registration at this index.
    public let lkey: LocalKey
    public let rkey: RemoteKey
    /// The memory behind the region.
    public let umem: any Umem
    private let deregistered = Atomic<Bool>(false)
    /// Faults and prefetches queued or running for this region; deregistration waits for 0.
    let faultsPending = PendingCount()

    init(protectionDomain: ProtectionDomain, address: UInt64, length: UInt64, access: AccessFlags, key: UInt32, umem: any Umem) {
        self.protectionDomain = protectionDomain
        self.address = address
        self.length = length
        self.access = access
        self.lkey = LocalKey(rawValue: key)
        self.rkey = RemoteKey(rawValue: key)
        self.umem = umem
    }

    /// Whether pages are resolved on demand (registered with ``AccessFlags/onDemand``).
    public var isOnDemand: Bool { umem.isOnDemand }

    /// The ODP umem, when the region is on demand.
    public var onDemandUmem: OnDemandUmem? { umem as? OnDemandUmem }

    /// `[address, address + length)`.
    public var range: Range<UInt64> { address..<address + length }

    /// Whether ``deregister()`` has run.
    public var isDeregistered: Bool { deregistered.load(ordering: .acquiring) }

    /// Whether the region covers the whole address space (implicit ODP).
    public var isImplicit: Bool { address == 0 && length == UInt64.max }

    /// Deregisters the region: its keys stop resolving at once, page faults and prefetches
    /// already queued for it finish, accesses already running finish, then pinned pages are
    /// unlocked and un-accounted (ODP entries cleared). Later calls do nothing. Corresponds to
    /// `ibv_dereg_mr`.
    public func deregister() {
        guard !deregistered.exchange(true, ordering: .acquiringAndReleasing) else { return }
        protectionDomain.device.memoryRegions.remove(self)
        faultsPending.waitUntilZero()
        umem.release()
    }

    deinit { umem.release() }

    public static func == (lhs: MemoryRegion, rhs: MemoryRegion) -> Bool { lhs === rhs }
    public func hash(into hasher: inout Hasher) { hasher.combine(ObjectIdentifier(self)) }

    public var description: String {
        "MR(addr=0x\(String(address, radix: 16)) len=\(length) lkey=\(lkey) \(isOnDemand ? "ODP" : "pinned") \(access))"
    }
}

extension ProtectionDomain {
    /// Registers `[address, address + length)` with `access`.
    ///
    /// With ``AccessFlags/onDemand`` the region is never pinned: pages are resolved when the device
    /// first touches them. Otherwise the pages are locked and charged to `account`.
    /// - Throws: ``VerbsError`` for invalid flags (`remoteAccessRequiresLocalWrite`,
    ///   `unsupportedAccessFlags`) or a zero length; ``MemoryError`` when pinning fails
    ///   (`memlockLimitExceeded`, `notMapped`, `lockFailed`).
    ///   Corresponds to `ibv_reg_mr` (`EINVAL`, `ENOMEM`, `EFAULT`).
    /// - Parameter pageSize: the page size an ODP region is tracked in: `.huge2MiB` for memory
    ///   backed by 2 MiB pages (then `address` and `length` must be 2 MiB aligned).
    public func registerMemoryRegion(
        address: UInt64, length: UInt64, access: AccessFlags, account: MemlockAccount = .process,
        pageSize: PageSize = .base
    ) throws -> MemoryRegion {
        try access.validateForMemoryRegistration()
        guard length > 0 else { throw VerbsError(.invalidAttributeValue, "memory region length must be > 0") }
        let writable = !access.isDisjoint(with: [.localWrite, .remoteWrite, .remoteAtomic])
        let umem: any Umem
        if access.contains(.onDemand) {
            umem = try OnDemandUmem(address: address, length: length, writable: writable, pageSize: pageSize)
        } else {
            umem = try PinnedUmem(address: address, length: length, writable: writable, account: account)
        }
        return try device.memoryRegions.insert { key in
            MemoryRegion(protectionDomain: self, address: address, length: length, access: access, key: key, umem: umem)
        }
    }
}
