/// How a prefetch resolves pages: the advice of `ibv_advise_mr`.
public enum PrefetchAdvice: Sendable, Hashable, CaseIterable {
    /// Map for reading, faulting pages in as needed (`IBV_ADVISE_MR_ADVICE_PREFETCH`).
    case read
    /// Map for writing, faulting pages in as needed (`IBV_ADVISE_MR_ADVICE_PREFETCH_WRITE`).
    case write
    /// Map only pages already resident in the process, without faulting any in
    /// (`IBV_ADVISE_MR_ADVICE_PREFETCH_NO_FAULT`); they are mapped for reading.
    case noFault
}

extension OnDemandUmem {
    /// Prefetches `range`: resolves its pages ahead of device access so the data path does not
    /// fault on them (`ib_umem_odp_map_dma_and_lock` driven by `advise_mr`).
    ///
    /// - Returns: the number of pages newly given access.
    /// - Throws: ``MemoryError`` as ``map(_:access:)`` for `.read` / `.write`; for `.noFault` only
    ///   `.outsideRegion`, `.released`, or `.notMapped` when part of the range is not mapped at all.
    @discardableResult
    public func prefetch(_ range: Range<UInt64>, advice: PrefetchAdvice) throws(MemoryError) -> Int {
        switch advice {
        case .read: return try map(range, access: .read)
        case .write: return try map(range, access: .write)
        case .noFault: return try mapResident(range)
        }
    }

    /// Maps for reading the pages of `range` that are resident now (`mincore(2)`), one run at a
    /// time; pages that are not resident stay unmapped and are never faulted in. A page dropped
    /// by the application between the residency check and the mapping is faulted back in, as
    /// the kernel's no-fault mode also races reclaim.
    private func mapResident(_ range: Range<UInt64>) throws(MemoryError) -> Int {
        try validate(range, .read)
        if isReleased { throw MemoryError(.released, address: range.lowerBound) }
        guard !range.isEmpty else { return 0 }
        let pageBytes = pageSize.bytes
        let start = range.lowerBound & ~(pageBytes - 1)
        let end = (range.upperBound + pageBytes - 1) & ~(pageBytes - 1)
        let resident: [Bool]
        switch HostMemory.residency(start, length: Int(end - start)) {
        case .success(let flags): resident = flags
        case .failure: throw MemoryError(.notMapped, address: start)
        }
        // A tracked page is resident when every host page in it is.
        let hostPagesPerPage = Int(pageBytes) / HostMemory.pageSize
        let pageCount = Int((end - start) / pageBytes)
        var mapped = 0
        var runStart: Int? = nil
        for page in 0...pageCount {
            let isResident = page < pageCount
                && resident[page * hostPagesPerPage..<(page + 1) * hostPagesPerPage].allSatisfy { $0 }
            if isResident {
                if runStart == nil { runStart = page }
            } else if let first = runStart {
                let lower = max(range.lowerBound, start + UInt64(first) * pageBytes)
                let upper = min(range.upperBound, start + UInt64(page) * pageBytes)
                mapped += try map(lower..<upper, access: .read)
                runStart = nil
            }
        }
        return mapped
    }
}

extension OnDemandUmem {
    /// The address range an implicit ODP region covers: the whole user address space of a
    /// 48-bit virtual-address machine, above the null page.
    public static let implicitRange: Range<UInt64> = 0x1000..<(1 << 47)

    /// An implicit ODP umem: one region over the whole address space (``implicitRange``). Its
    /// table grows child tables on first touch; ``releaseIdleTables(_:)`` frees those that hold
    /// no mapped page. The kernel's `ib_umem_odp_alloc_implicit`.
    public static func implicit(writable: Bool) -> OnDemandUmem {
        // The range is page aligned and far below the 2^57 limit: the initialiser cannot fail.
        try! OnDemandUmem(
            address: implicitRange.lowerBound, length: UInt64(implicitRange.count), writable: writable)
    }
}
