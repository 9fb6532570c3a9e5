import CSoftRoCEShims
import SystemPackage

#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// The memory-management system calls of the memory core, wrapped once.
///
/// Every wrapper retries `EINTR`, reads `errno` at once and returns a `Result` carrying
/// swift-system's `Errno`; callers above turn an `Errno` into a ``MemoryError`` with the address
/// it concerns. Nothing else in the package calls these functions of the C library.
enum HostMemory {
    /// The host's base page size in bytes (4096 on x86-64 Linux).
    static let pageSize: Int = Int(c_softroce_host_page_size())

    /// `mmap(2)` of anonymous private memory.
    @inline(never)
    static func mapAnonymous(
        length: Int, protection: CInt, extraFlags: CInt = 0
    ) -> Result<UnsafeMutableRawPointer, Errno> {
        let flags = MAP_PRIVATE | MAP_ANONYMOUS | extraFlags
        let pointer = mmap(nil, length, protection, flags, -1, 0)
        if pointer == MAP_FAILED || pointer == nil { return .failure(Errno(rawValue: errno)) }
        return .success(pointer!)
    }

    /// `munmap(2)`.
    @inline(never)
    static func unmap(_ address: UInt64, length: Int) -> Result<Void, Errno> {
        valueOrErrno { munmap(UnsafeMutableRawPointer(bitPattern: UInt(address)), length) }
    }

    /// `mprotect(2)`.
    @inline(never)
    static func protect(_ address: UInt64, length: Int, protection: CInt) -> Result<Void, Errno> {
        valueOrErrno { mprotect(UnsafeMutableRawPointer(bitPattern: UInt(address)), length, protection) }
    }

    /// `madvise(2)` with any advice; `EINTR` and `EAGAIN` (populate racing reclaim) are retried.
    @inline(never)
    static func advise(_ address: UInt64, length: Int, advice: CInt) -> Result<Void, Errno> {
        while true {
            let rc = madvise(UnsafeMutableRawPointer(bitPattern: UInt(address)), length, advice)
            if rc == 0 { return .success(()) }
            let code = errno
            if code == EINTR || code == EAGAIN { continue }
            return .failure(Errno(rawValue: code))
        }
    }

    /// `MADV_POPULATE_READ` (Linux 5.14+): fault pages in readable, as a read would.
    static let populateRead: CInt = c_softroce_madv_populate_read()
    /// `MADV_POPULATE_WRITE` (Linux 5.14+): fault pages in writable, breaking copy-on-write.
    static let populateWrite: CInt = c_softroce_madv_populate_write()
    /// `MADV_DONTNEED`: drop the pages; anonymous memory reads back as zeros.
    static let dontNeed: CInt = MADV_DONTNEED
    /// `MADV_HUGEPAGE`: ask for transparent huge pages in the range.
    static let hugePage: CInt = 14

    /// `mlock(2)`, as a raw system call (sanitizers turn the libc wrapper into a no-op).
    @inline(never)
    static func lock(_ address: UInt64, length: Int) -> Result<Void, Errno> {
        valueOrErrno { c_softroce_mlock(address, length) }
    }

    /// `munlock(2)`, as a raw system call.
    @inline(never)
    static func unlock(_ address: UInt64, length: Int) -> Result<Void, Errno> {
        valueOrErrno { c_softroce_munlock(address, length) }
    }

    /// `mincore(2)`: one flag per host page of `[address, address + length)`, true when resident.
    @inline(never)
    static func residency(_ address: UInt64, length: Int) -> Result<[Bool], Errno> {
        let pages = (length + pageSize - 1) / pageSize
        var vector = [UInt8](repeating: 0, count: max(pages, 1))
        let rc = vector.withUnsafeMutableBufferPointer {
            mincore(UnsafeMutableRawPointer(bitPattern: UInt(address)), length, $0.baseAddress)
        }
        if rc != 0 { return .failure(Errno(rawValue: errno)) }
        return .success(vector.prefix(pages).map { $0 & 1 != 0 })
    }

    /// `getrlimit(RLIMIT_MEMLOCK)`: the soft limit in bytes, `nil` when unlimited.
    @inline(never)
    static func memlockSoftLimit() -> Result<UInt64?, Errno> {
        var soft: UInt64 = 0
        var hard: UInt64 = 0
        if c_softroce_get_memlock_limit(&soft, &hard) != 0 { return .failure(Errno(rawValue: errno)) }
        return .success(soft == UInt64.max ? nil : soft)
    }

    /// `getrusage(RUSAGE_THREAD)`: the calling thread's minor and major page-fault counts.
    @inline(never)
    static func threadPageFaults() -> (minor: UInt64, major: UInt64) {
        var minor: UInt64 = 0
        var major: UInt64 = 0
        _ = c_softroce_thread_page_faults(&minor, &major)
        return (minor, major)
    }

    /// The calling thread's kernel thread id.
    static func currentThreadID() -> Int32 { Int32(c_softroce_gettid()) }

    static func pinCurrentThread(toCPUs cpus: [Int]) -> Errno? {
        let set = cpus.map { Int32(clamping: $0) }
        let rc = c_softroce_pin_current_thread(set, Int32(set.count))
        return rc == 0 ? nil : Errno(rawValue: rc)
    }

    static func prefaultStack(bytes: Int) { c_softroce_prefault_stack(bytes) }

    static func allowedCPUs() -> [Int] {
        var cpus = [Int32](repeating: 0, count: 1024)
        let count = c_softroce_allowed_cpus(&cpus, Int32(cpus.count))
        return count > 0 ? cpus.prefix(Int(count)).map(Int.init) : []
    }

    /// Minor and major page faults of thread `tid` of this process (`/proc/self/task/<tid>/stat`),
    /// nil when the thread is gone or the file cannot be read.
    @inline(never)
    static func pageFaults(ofThread tid: Int32) -> (minor: UInt64, major: UInt64)? {
        var minor: UInt64 = 0
        var major: UInt64 = 0
        guard c_softroce_task_page_faults(pid_t(tid), &minor, &major) == 0 else { return nil }
        return (minor, major)
    }

    @inline(__always)
    private static func valueOrErrno(_ body: () -> CInt) -> Result<Void, Errno> {
        while true {
            if body() == 0 { return .success(()) }
            let code = errno
            if code == EINTR { continue }
            return .failure(Errno(rawValue: code))
        }
    }
}
