import CSoftRoCEShims
import SystemPackage
#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import Synchronization

/// A view of device-accessible bytes handed to the closure of a region's access primitive.
///
/// The bytes are guaranteed mapped (ODP: the page table says so, and invalidation waits for the
/// closure to return; pinned: locked) for the duration of the closure only: never keep a
/// `MappedBytes` beyond it. Every operation is bounds-checked against ``count``; a violation is
/// a programmer error inside the package (ranges come from already validated work requests).
public struct MappedBytes {
    @usableFromInline let base: UnsafeMutableRawPointer?
    /// The number of bytes in the view.
    public let count: Int

    @usableFromInline
    init(base: UnsafeMutableRawPointer?, count: Int) {
        self.base = base
        self.count = count
    }

    /// The first virtual address of the view.
    public var address: UInt64 { UInt64(UInt(bitPattern: base)) }

    /// A sub-view of `range` (offsets into this view).
    @inlinable
    public func extracting(_ range: Range<Int>) -> MappedBytes {
        precondition(range.lowerBound >= 0 && range.upperBound <= count, "MappedBytes range out of bounds")
        return MappedBytes(base: base.map { $0 + range.lowerBound }, count: range.count)
    }

    /// Copies `min(count, source.count)` bytes from `source` to the start of this view; returns that count.
    @inlinable @discardableResult
    public func copy(from source: MappedBytes) -> Int {
        let n = Swift.min(count, source.count)
        if n > 0, let base, let src = source.base { base.copyMemory(from: src, byteCount: n) }
        return n
    }

    /// Copies `bytes` into the view starting at `offset`.
    @inlinable
    public func write(_ bytes: some Collection<UInt8>, at offset: Int = 0) {
        precondition(offset >= 0 && offset + bytes.count <= count, "MappedBytes write out of bounds")
        guard let base else { return }
        let written = bytes.withContiguousStorageIfAvailable { source in
            if let src = source.baseAddress { (base + offset).copyMemory(from: src, byteCount: source.count) }
            return true
        }
        if written == nil {
            for (i, byte) in bytes.enumerated() { base.storeBytes(of: byte, toByteOffset: offset + i, as: UInt8.self) }
        }
    }

    /// A copy of the bytes in `range` (all of them by default).
    @inlinable
    public func bytes(in range: Range<Int>? = nil) -> [UInt8] {
        let range = range ?? 0..<count
        precondition(range.lowerBound >= 0 && range.upperBound <= count, "MappedBytes read out of bounds")
        guard let base, !range.isEmpty else { return [] }
        return [UInt8](UnsafeRawBufferPointer(start: base + range.lowerBound, count: range.count))
    }

    /// Sets every byte of the view to `value`.
    @inlinable
    public func fill(_ value: UInt8) {
        guard let base, count > 0 else { return }
        base.initializeMemory(as: UInt8.self, repeating: value, count: count)
    }

    /// The byte at `offset`.
    @inlinable
    public subscript(offset: Int) -> UInt8 {
        precondition(offset >= 0 && offset < count, "MappedBytes index out of bounds")
        return base!.load(fromByteOffset: offset, as: UInt8.self)
    }

    /// Atomically compares the 8-byte word at `offset` (native byte order, 8-byte aligned address)
    /// with `expected` and, if equal, replaces it with `desired`; returns the original value.
    /// This is the memory operation of an RDMA ATOMIC_CMP_AND_SWP.
    public func compareAndSwap64(at offset: Int, expected: UInt64, desired: UInt64) -> UInt64 {
        let word = atomicWord(at: offset)
        return word.pointee.compareExchange(expected: expected, desired: desired, ordering: .sequentiallyConsistent).original
    }

    /// Atomically adds `value` (wrapping) to the 8-byte word at `offset` and returns the original
    /// value: the memory operation of an RDMA ATOMIC_FETCH_AND_ADD.
    public func fetchAdd64(at offset: Int, _ value: UInt64) -> UInt64 {
        atomicWord(at: offset).pointee.wrappingAdd(value, ordering: .sequentiallyConsistent).oldValue
    }

    /// Runs `body` on the raw bytes: for transports that hand them to a socket. The pointer is
    /// valid only inside `body`.
    @inlinable
    public func withUnsafeMutableBytes<R>(_ body: (UnsafeMutableRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeMutableRawBufferPointer(start: base, count: count))
    }

    private func atomicWord(at offset: Int) -> UnsafeMutablePointer<Atomic<UInt64>> {
        precondition(offset >= 0 && offset + 8 <= count, "atomic operand out of bounds")
        let pointer = base! + offset
        precondition(UInt(bitPattern: pointer) & 7 == 0, "atomic operand must be 8-byte aligned")
        return pointer.assumingMemoryBound(to: Atomic<UInt64>.self)
    }
}

extension MappedBytes {
    /// Runs `body` on the bytes of `array` (packet buffers, inline data). Valid only inside `body`.
    @inlinable
    public static func withBytes<R>(of array: inout [UInt8], _ body: (MappedBytes) throws -> R) rethrows -> R {
        try array.withUnsafeMutableBytes { try body(MappedBytes(base: $0.baseAddress, count: $0.count)) }
    }

    /// Copies `count` bytes at `address` of this process into a new array without trusting the
    /// address: `process_vm_readv(2)` on the own process, so a bad address is an error, never a
    /// `SIGSEGV`. Used for inline data, which ibverbs reads at post time without a memory key.
    /// - Throws: ``MemoryError`` `.notMapped` (`EFAULT`) at `address`.
    public static func copyProcessMemory(at address: UInt64, count: Int) throws(MemoryError) -> [UInt8] {
        guard count > 0 else { return [] }
        var bytes = [UInt8](repeating: 0, count: count)
        let copied = bytes.withUnsafeMutableBytes {
            c_softroce_process_vm_read(getpid(), $0.baseAddress, count, address)
        }
        if copied != count {
            throw MemoryError(.notMapped, address: address, errno: copied < 0 ? Errno(rawValue: errno) : nil)
        }
        return bytes
    }
}
