public import SoftRoCEMemory
import Synchronization

extension ProtectionDomain {
    /// Registers an implicit ODP region: one region over the whole address space (`ibv_reg_mr`
    /// with address 0, length `SIZE_MAX` and `IBV_ACCESS_ON_DEMAND`). Its keys reach any memory
    /// of the process; pages are faulted in on first device access, and child page tables are
    /// created on first touch and freed when idle (``MemoryRegion/releaseIdleTables()``).
    ///
    /// - Parameter access: access flags; ``AccessFlags/onDemand`` is implied.
    /// - Throws: ``VerbsError`` for invalid flags (`remoteAccessRequiresLocalWrite`,
    ///   `unsupportedAccessFlags`).
    public func registerImplicitOnDemandRegion(access: AccessFlags) throws -> MemoryRegion {
        let flags = access.union(.onDemand)
        try flags.validateForMemoryRegistration()
        let writable = !flags.isDisjoint(with: [.localWrite, .remoteWrite, .remoteAtomic])
        let umem = OnDemandUmem.implicit(writable: writable)
        return try device.memoryRegions.insert { key in
            MemoryRegion(protectionDomain: self, address: 0, length: UInt64.max, access: flags, key: key, umem: umem)
        }
    }

    /// Prefetches the memory `scatterGatherList` names (`ibv_advise_mr`): resolves its pages
    /// ahead of device access so the data path does not fault on them.
    ///
    /// - Parameters:
    ///   - advice: `.read` (`PREFETCH`), `.write` (`PREFETCH_WRITE`), or `.noFault`
    ///     (`PREFETCH_NO_FAULT`: map only what is resident; never faults a page in).
    ///   - scatterGatherList: ranges of ODP regions of this domain, named by lkey.
    ///   - synchronous: resolve before returning (`IBV_ADVISE_MR_FLAG_FLUSH`); otherwise the
    ///     prefetch is queued on the device's fault workqueue and this returns at once.
    /// - Returns: pages newly mapped (0 when asynchronous).
    /// - Throws: ``VerbsError`` `invalidAttributeValue` for an lkey that is not a live ODP region
    ///   of this domain, an SGE outside its region, or `.write` on a region without write access
    ///   (`EINVAL`, as the kernel); for a synchronous prefetch, the ``MemoryError`` resolution
    ///   failed with (`.notMapped`, `.readOnlyMapping`, ...).
    @discardableResult
    public func adviseMemory(
        _ advice: PrefetchAdvice, scatterGatherList: [ScatterGatherElement], synchronous: Bool = true
    ) throws -> Int {
        var targets: [(MemoryRegion, Range<UInt64>)] = []
        for sge in scatterGatherList {
            let end = sge.address.addingReportingOverflow(UInt64(sge.length))
            guard let region = device.memoryRegions.lookup(sge.lkey.rawValue), region.protectionDomain === self,
                let umem = region.onDemandUmem, !end.overflow,
                sge.address >= umem.range.lowerBound, end.partialValue <= umem.range.upperBound
            else {
                throw VerbsError(.invalidAttributeValue, "advise_mr: SGE 0x\(String(sge.address, radix: 16))+\(sge.length) is not in an ODP region of this PD")
            }
            if advice == .write && !umem.isWritable {
                throw VerbsError(.invalidAttributeValue, "advise_mr: PREFETCH_WRITE on a region without write access")
            }
            targets.append((region, sge.address..<end.partialValue))
        }
        guard synchronous else {
            for (region, range) in targets { device.faultWorkqueue.submit(.prefetch(region, range, advice)) }
            return 0
        }
        var pages = 0
        for (region, range) in targets {
            guard let umem = region.onDemandUmem else { continue }
            pages += try umem.prefetch(range, advice: advice)
        }
        device.statistics.prefetchedPages.add(pages, ordering: .relaxed)
        return pages
    }
}

extension MemoryRegion {
    /// Frees the page-table nodes of an ODP region that hold no mapped page (idle child tables of
    /// an implicit region after invalidations). Returns the bytes released; 0 for pinned regions.
    @discardableResult
    public func releaseIdleTables() -> Int { onDemandUmem?.releaseIdleTables() ?? 0 }
}
