import SystemPackage

/// An error of the memory core: what went wrong, at which address, and the kernel's `errno`.
///
/// `code` is an open set so new cases do not break a caller's `switch`; compare with `==` or
/// `~=` in a `catch` pattern (`catch let error as MemoryError where error.code == .notMapped`).
public struct MemoryError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What went wrong.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Kind: UInt8, Sendable {
            case notMapped, readOnlyMapping, inaccessibleMapping, resolutionFailed, outsideRegion
            case accessNotRegistered, misaligned, memlockLimitExceeded, lockFailed, mappingFailed, released
        }
        private let kind: Kind
        private init(_ kind: Kind) { self.kind = kind }

        /// The address is not mapped in the process (`madvise`/`mincore` said `ENOMEM`).
        public static let notMapped = Code(.notMapped)
        /// A write was needed but the mapping is read-only (`PROT_READ`).
        public static let readOnlyMapping = Code(.readOnlyMapping)
        /// The mapping can be neither read nor populated (`PROT_NONE`, I/O or PFN mappings).
        public static let inaccessibleMapping = Code(.inaccessibleMapping)
        /// The kernel could not resolve the page (`EFAULT`/`EHWPOISON`: an access would raise `SIGBUS`).
        public static let resolutionFailed = Code(.resolutionFailed)
        /// The access lies (partly) outside the registered range.
        public static let outsideRegion = Code(.outsideRegion)
        /// The access asks for write, but the region was registered read-only.
        public static let accessNotRegistered = Code(.accessNotRegistered)
        /// An address or length is not aligned to the page size it must be aligned to.
        public static let misaligned = Code(.misaligned)
        /// Pinning would exceed the `RLIMIT_MEMLOCK` budget of the account; nothing was pinned.
        public static let memlockLimitExceeded = Code(.memlockLimitExceeded)
        /// `mlock(2)` failed (the `errno` says why); nothing stays pinned or accounted.
        public static let lockFailed = Code(.lockFailed)
        /// `mmap(2)` or `munmap(2)` failed.
        public static let mappingFailed = Code(.mappingFailed)

        /// The region was released (deregistered); the device may no longer touch its memory.
        public static let released = Code(.released)

        public var description: String {
            switch kind {
            case .released: "region released"
            case .notMapped: "address not mapped"
            case .readOnlyMapping: "write to a read-only mapping"
            case .inaccessibleMapping: "mapping not accessible"
            case .resolutionFailed: "page could not be resolved"
            case .outsideRegion: "access outside the registered region"
            case .accessNotRegistered: "access not allowed by the registration"
            case .misaligned: "misaligned address or length"
            case .memlockLimitExceeded: "RLIMIT_MEMLOCK exceeded"
            case .lockFailed: "mlock failed"
            case .mappingFailed: "mmap/munmap failed"
            }
        }
    }

    /// What went wrong.
    public var code: Code
    /// The virtual address the error concerns: the faulting page, or the start of the bad range.
    public var address: UInt64
    /// The kernel's error number, when a system call failed.
    public var errno: Errno?

    /// Creates an error; used by the memory core and by tests that match on one.
    public init(_ code: Code, address: UInt64, errno: Errno? = nil) {
        self.code = code
        self.address = address
        self.errno = errno
    }

    public var description: String {
        let hex = String(address, radix: 16)
        if let errno { return "\(code) at 0x\(hex) (\(errno))" }
        return "\(code) at 0x\(hex)"
    }
}
