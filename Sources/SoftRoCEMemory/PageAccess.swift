/// The access a device needs to a page: the two low bits of the kernel's ODP `dma_list`
/// entries (`ODP_READ_ALLOWED_BIT`, `ODP_WRITE_ALLOWED_BIT`).
///
/// A page entry with no bit set is "not present". Write access always comes with read access.
public struct PageAccess: OptionSet, Hashable, Sendable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// The device may read the page (`ODP_READ_ALLOWED_BIT`).
    public static let read = PageAccess(rawValue: 1 << 0)
    /// The device may write the page (`ODP_WRITE_ALLOWED_BIT`); implies ``read``.
    public static let write = PageAccess(rawValue: 1 << 1)
    /// Read and write.
    public static let readWrite: PageAccess = [.read, .write]

    /// The entry bits a page must carry to allow this access: writing also requires reading.
    @inline(__always)
    var entryBits: UInt8 { contains(.write) ? PageAccess.readWrite.rawValue : rawValue }
}

/// The page size a region is tracked in.
public enum PageSize: Int, Sendable, Hashable, CaseIterable {
    /// 4 KiB base pages.
    case base = 12
    /// 2 MiB huge pages (hugetlbfs or transparent huge pages); address and length must be 2 MiB aligned.
    case huge2MiB = 21

    /// log2 of the page size.
    public var shift: Int { rawValue }
    /// The page size in bytes.
    public var bytes: UInt64 { 1 << UInt64(rawValue) }
}
