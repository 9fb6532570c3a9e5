import CSoftRoCEShims
import SystemPackage

#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// An anonymous private mapping owned by the caller: buffers for applications, tools and tests.
/// Mapped at init, unmapped at deinit; all access is bounds-checked and pointer-free.
public final class AnonymousMemory: @unchecked Sendable {
    // @unchecked: owns a raw mapping; reads and writes through it are the caller's to order,
    // exactly as with memory an application hands to an RDMA device.

    /// The first byte's virtual address (page aligned).
    public let address: UInt64
    /// The mapping's length in bytes (a multiple of the page size).
    public let length: Int

    /// Protection of a mapping.
    public struct Protection: OptionSet, Sendable {
        public let rawValue: CInt
        public init(rawValue: CInt) { self.rawValue = rawValue }
        /// `PROT_READ`.
        public static let read = Protection(rawValue: PROT_READ)
        /// `PROT_WRITE`.
        public static let write = Protection(rawValue: PROT_WRITE)
        /// `PROT_NONE`.
        public static let none: Protection = []
        /// `PROT_READ | PROT_WRITE`.
        public static let readWrite: Protection = [.read, .write]
    }

    /// Maps `length` bytes (rounded up to whole pages, or to 2 MiB with `alignment`).
    ///
    /// - Parameters:
    ///   - length: bytes, > 0.
    ///   - protection: initial protection.
    ///   - reserveOnly: `MAP_NORESERVE`: reserve address space without committing swap/memory.
    ///   - alignment: alignment of the start in bytes (a power of two ≥ the page size), e.g. 2 MiB
    ///     for a huge-page region.
    /// - Throws: ``MemoryError`` `.mappingFailed` with the `mmap` errno.
    public init(length: Int, protection: Protection = .readWrite, reserveOnly: Bool = false, alignment: Int? = nil) throws(MemoryError) {
        let page = HostMemory.pageSize
        let align = max(alignment ?? page, page)
        let rounded = (max(length, 1) + page - 1) / page * page
        let extra = align > page ? align : 0
        let flags = reserveOnly ? MAP_NORESERVE : 0
        let base: UnsafeMutableRawPointer
        switch HostMemory.mapAnonymous(length: rounded + extra, protection: protection.rawValue, extraFlags: flags) {
        case .success(let pointer): base = pointer
        case .failure(let errno): throw MemoryError(.mappingFailed, address: 0, errno: errno)
        }
        var start = UInt64(UInt(bitPattern: base))
        if extra > 0 {
            let aligned = (start + UInt64(align) - 1) & ~UInt64(align - 1)
            if aligned > start { _ = HostMemory.unmap(start, length: Int(aligned - start)) }
            let tail = (start + UInt64(rounded + extra)) - (aligned + UInt64(rounded))
            if tail > 0 { _ = HostMemory.unmap(aligned + UInt64(rounded), length: Int(tail)) }
            start = aligned
        }
        self.address = start
        self.length = rounded
    }

    /// Ranges given back with ``unmapPages(at:count:)``: another mapping may live there now, so
    /// deinit must not unmap them.
    private let holes = LockedValue<[Range<UInt64>]>([])

    deinit {
        var start = address
        for hole in holes.withLockedValue({ $0.sorted { $0.lowerBound < $1.lowerBound } }) {
            if hole.lowerBound > start { _ = HostMemory.unmap(start, length: Int(hole.lowerBound - start)) }
            start = max(start, hole.upperBound)
        }
        let end = address + UInt64(length)
        if end > start { _ = HostMemory.unmap(start, length: Int(end - start)) }
    }

    /// `[address, address + length)`.
    public var range: Range<UInt64> { address..<address + UInt64(length) }

    /// Copies `bytes` to `offset`.
    public func write(_ bytes: some Collection<UInt8>, at offset: Int = 0) {
        view(offset, bytes.count).write(bytes)
    }

    /// A copy of `count` bytes at `offset`.
    public func read(at offset: Int = 0, count: Int) -> [UInt8] { view(offset, count).bytes() }

    /// Sets `count` bytes at `offset` (all by default) to `value`.
    public func fill(_ value: UInt8, at offset: Int = 0, count: Int? = nil) {
        view(offset, count ?? length - offset).fill(value)
    }

    /// The byte at `offset`. Reads and writes are plain loads and stores: for polling a byte the
    /// device writes, as perftest's latency tests do.
    /// The byte at `offset`, read with acquire ordering: for polling memory another thread (the
    /// device) writes — unlike the subscript, the compiler cannot hoist it out of a loop.
    public func loadAcquiring(at offset: Int) -> UInt8 {
        c_softroce_load_acquire_u8(view(offset, 1).base!.assumingMemoryBound(to: UInt8.self))
    }

    public subscript(offset: Int) -> UInt8 {
        get { view(offset, 1)[0] }
        set { view(offset, 1).write(CollectionOfOne(newValue)) }
    }

    /// Copies `count` bytes from `source` at `sourceOffset` to `offset` (a plain `memcpy`, the
    /// baseline device copies are measured against).
    public func copy(from source: AnonymousMemory, sourceOffset: Int = 0, to offset: Int = 0, count: Int) {
        view(offset, count).copy(from: source.view(sourceOffset, count))
    }

    /// Changes the protection of `[offset, offset + count)` (page aligned). Throws ``MemoryError``.
    public func protect(_ protection: Protection, at offset: Int = 0, count: Int? = nil) throws(MemoryError) {
        let start = address + UInt64(offset)
        if case .failure(let errno) = HostMemory.protect(start, length: count ?? length - offset, protection: protection.rawValue) {
            throw MemoryError(.mappingFailed, address: start, errno: errno)
        }
    }

    /// `madvise(MADV_DONTNEED)` over `[offset, offset + count)`: the pages are dropped and read
    /// back as zeros. Throws ``MemoryError``.
    public func dropPages(at offset: Int = 0, count: Int? = nil) throws(MemoryError) {
        try advise(HostMemory.dontNeed, offset, count)
    }

    /// `madvise(MADV_POPULATE_WRITE)` (or `_READ`) over `[offset, offset + count)`: the kernel
    /// faults the pages in, as the application touching them would. Throws ``MemoryError``.
    public func populate(forWriting: Bool = true, at offset: Int = 0, count: Int? = nil) throws(MemoryError) {
        try advise(forWriting ? HostMemory.populateWrite : HostMemory.populateRead, offset, count)
    }

    /// `madvise(MADV_HUGEPAGE)`: ask for transparent huge pages. Throws ``MemoryError``.
    public func adviseHugePages() throws(MemoryError) { try advise(HostMemory.hugePage, 0, nil) }

    /// `munmap` of `[offset, offset + count)` (page aligned), leaving a hole that deinit leaves
    /// alone (the address range may be reused by other mappings). Throws ``MemoryError``.
    public func unmapPages(at offset: Int, count: Int) throws(MemoryError) {
        let start = address + UInt64(offset)
        let page = UInt64(HostMemory.pageSize)
        if case .failure(let errno) = HostMemory.unmap(start, length: count) {
            throw MemoryError(.mappingFailed, address: start, errno: errno)
        }
        holes.withLockedValue { $0.append(start..<start + (UInt64(count) + page - 1) / page * page) }
    }

    /// Which host pages of `[offset, offset + count)` are resident (`mincore(2)`).
    /// - Throws: ``MemoryError`` `.notMapped` when part of the range is not mapped.
    public func residentPages(at offset: Int = 0, count: Int? = nil) throws(MemoryError) -> [Bool] {
        try HostMemory.residency(address + UInt64(offset), length: count ?? length - offset)
            .mapError { MemoryError(.notMapped, address: address + UInt64(offset), errno: $0) }.get()
    }

    private func advise(_ advice: CInt, _ offset: Int, _ count: Int?) throws(MemoryError) {
        let start = address + UInt64(offset)
        if case .failure(let errno) = HostMemory.advise(start, length: count ?? length - offset, advice: advice) {
            throw MemoryError(.mappingFailed, address: start, errno: errno)
        }
    }

    private func view(_ offset: Int, _ count: Int) -> MappedBytes {
        precondition(offset >= 0 && count >= 0 && offset + count <= length, "AnonymousMemory access out of bounds")
        return MappedBytes(base: UnsafeMutableRawPointer(bitPattern: UInt(address) + UInt(offset)), count: count)
    }
}

/// Facts about the host the memory core runs on.
public enum Host {
    /// The base page size in bytes.
    public static var pageSize: Int { HostMemory.pageSize }

    /// Minor and major page faults the calling thread has taken so far (`getrusage(RUSAGE_THREAD)`).
    public static func threadPageFaults() -> (minor: UInt64, major: UInt64) { HostMemory.threadPageFaults() }

    /// The calling thread's kernel thread id (`gettid(2)`), to name it to ``pageFaults(ofThread:)``.
    public static func currentThreadID() -> Int32 { HostMemory.currentThreadID() }

    /// Minor and major page faults thread `tid` of this process has taken so far, read from
    /// `/proc/self/task/<tid>/stat`: the same counts as `getrusage(RUSAGE_THREAD)`, readable from
    /// any thread. `nil` when the thread has exited.
    public static func pageFaults(ofThread tid: Int32) -> (minor: UInt64, major: UInt64)? {
        HostMemory.pageFaults(ofThread: tid)
    }

    /// Restricts the calling thread to CPU `cpu` (`pthread_setaffinity_np`).
    ///
    /// - Throws: `Errno` `.invalidArgument` for a CPU the process may not use.
    public static func pinCurrentThread(toCPU cpu: Int) throws(Errno) {
        try pinCurrentThread(toCPUs: [cpu])
    }

    /// Restricts the calling thread to the CPUs in `cpus` (`pthread_setaffinity_np`).
    ///
    /// - Throws: `Errno` `.invalidArgument` for an empty set, or one the process may not use.
    public static func pinCurrentThread(toCPUs cpus: [Int]) throws(Errno) {
        if let error = HostMemory.pinCurrentThread(toCPUs: cpus) { throw error }
    }

    /// Makes `bytes` of the calling thread's stack resident, so a data path running on the
    /// thread later takes no first-touch page fault on its own stack.
    public static func prefaultCurrentStack(bytes: Int = 256 << 10) { HostMemory.prefaultStack(bytes: bytes) }

    /// The CPUs the calling thread may run on (`sched_getaffinity`), ascending.
    public static var allowedCPUs: [Int] { HostMemory.allowedCPUs() }

    /// The process's `RLIMIT_MEMLOCK` soft limit in bytes (`nil` = unlimited).
    public static func memlockLimit() -> UInt64? { (try? HostMemory.memlockSoftLimit().get()) ?? nil }
}
