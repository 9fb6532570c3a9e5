import SoftRoCE
import SoftRoCEMemory
import Testing

private let page = Host.pageSize

/// test_odp.py's prefetch tests (`test_odp_prefetch_rc_traffic`, `..._async_...`,
/// `test_odp_prefetch_no_fault`): `ibv_advise_mr` resolves pages ahead of device access, so the
/// data path does not fault on them; asynchronous prefetch runs on the fault workqueue; the
/// no-fault advice maps only what is resident and never faults a page in; bad keys are refused.
@Suite("ODP faults: prefetch (advise_mr)", .timeLimit(.minutes(3)))
struct PrefetchTests {
    static let offset = 8 * page + 512
    static let length = 4 * page
    /// The pages `[offset, offset + length)` spans.
    static let spanned = 5

    @Test("Synchronous PREFETCH_WRITE / PREFETCH: the WRITE that follows does not fault", arguments: [false, true])
    func synchronousPrefetch(twoDevices: Bool) throws {
        let (client, server) = try connectedPair(twoDevices: twoDevices, onDemand: (true, true))
        defer { shutDown(client, server) }
        let data = pattern(Self.length, seed: 41)
        client.buffer.write(data, at: Self.offset)

        let serverBefore = server.device.counters
        let clientBefore = client.device.counters
        let serverPages = try server.pd.adviseMemory(.write, scatterGatherList: [server.sge(Self.offset, Self.length)], synchronous: true)
        let clientPages = try client.pd.adviseMemory(.read, scatterGatherList: [client.sge(Self.offset, Self.length)], synchronous: true)
        #expect(serverPages == Self.spanned)
        #expect(clientPages == Self.spanned)
        let serverUmem = try #require(server.umem)
        let clientUmem = try #require(client.umem)
        #expect(serverUmem.mappedPageCount == Self.spanned)
        #expect(serverUmem.pageAccess(at: server.address(Self.offset)).contains(.write))
        #expect(clientUmem.pageAccess(at: client.address(Self.offset)) == .read, "PREFETCH maps for reading only")
        if twoDevices {
            #expect(server.device.counters.prefetchedPages - serverBefore.prefetchedPages == Self.spanned)
            #expect(client.device.counters.prefetchedPages - clientBefore.prefetchedPages == Self.spanned)
        } else {
            #expect(server.device.counters.prefetchedPages - serverBefore.prefetchedPages == 2 * Self.spanned)
        }
        #expect(server.device.counters.pageFaults == serverBefore.pageFaults, "a prefetch is not a data-path fault")

        let faultsBefore = (client.device.counters, server.device.counters)
        let completion = try client.run(.rdmaWrite(id: 1, scatterGatherList: [client.sge(Self.offset, Self.length)], remoteAddress: server.address(Self.offset), rkey: server.region.rkey))
        #expect(completion?.status == .success)
        #expect(mismatch(server.buffer.read(at: Self.offset, count: Self.length), data) == nil)
        let clientDelta = CounterDelta(from: faultsBefore.0, to: client.device.counters)
        let serverDelta = CounterDelta(from: faultsBefore.1, to: server.device.counters)
        #expect(serverDelta.pageFaults == 0 && clientDelta.pageFaults == 0, "prefetched pages do not fault (server \(serverDelta); client \(clientDelta))")
        #expect(serverDelta.rnrNaksSent == 0, "no RNR NAK for prefetched pages")

        // Prefetching mapped pages again maps nothing new.
        #expect(try server.pd.adviseMemory(.write, scatterGatherList: [server.sge(Self.offset, Self.length)], synchronous: true) == 0)
    }

    @Test("PREFETCH (read) then a remote WRITE: the write upgrades the entries through a fault")
    func readPrefetchThenWrite() throws {
        let (client, server) = try connectedPair(twoDevices: true, onDemand: (false, true))
        defer { shutDown(client, server) }
        let umem = try #require(server.umem)
        #expect(try server.pd.adviseMemory(.read, scatterGatherList: [server.sge(0, 2 * page)]) == 2)
        #expect(umem.pageAccess(at: server.address(0)) == .read)

        // A READ of read-mapped pages does not fault.
        server.buffer.write(pattern(2 * page, seed: 42), at: 0)
        let before = server.device.counters
        #expect(try client.run(.rdmaRead(id: 1, scatterGatherList: [client.sge(0, 2 * page)], remoteAddress: server.address(0), rkey: server.region.rkey))?.status == .success)
        #expect(mismatch(client.buffer.read(at: 0, count: 2 * page), pattern(2 * page, seed: 42)) == nil)
        #expect(server.device.counters.pageFaults == before.pageFaults)

        // A WRITE needs write access: it faults and upgrades.
        client.buffer.write(pattern(2 * page, seed: 43), at: 0)
        #expect(try client.run(.rdmaWrite(id: 2, scatterGatherList: [client.sge(0, 2 * page)], remoteAddress: server.address(0), rkey: server.region.rkey))?.status == .success)
        #expect(mismatch(server.buffer.read(at: 0, count: 2 * page), pattern(2 * page, seed: 43)) == nil)
        #expect(server.device.counters.pageFaults > before.pageFaults, "the read-only entries were upgraded by a fault")
        #expect(umem.pageAccess(at: server.address(0)).contains(.write))
    }

    @Test("Asynchronous prefetch is resolved by the fault workqueue", arguments: PrefetchAdvice.allCases.filter { $0 != .noFault })
    func asynchronousPrefetch(advice: PrefetchAdvice) throws {
        let (client, server) = try connectedPair(twoDevices: true, onDemand: (false, true))
        defer { shutDown(client, server) }
        let umem = try #require(server.umem)
        let before = server.device.counters
        let returned = try server.pd.adviseMemory(advice, scatterGatherList: [server.sge(Self.offset, Self.length)], synchronous: false)
        #expect(returned == 0, "an asynchronous prefetch reports nothing")
        #expect(eventually(timeout: .seconds(5)) { umem.mappedPageCount == Self.spanned }, "mapped: \(umem.mappedPageCount)")
        #expect(eventually(timeout: .seconds(5)) { server.device.counters.prefetchedPages - before.prefetchedPages == Self.spanned })
        #expect(umem.pageAccess(at: server.address(Self.offset)).contains(advice == .write ? .write : .read))
        #expect(server.device.counters.pageFaults == before.pageFaults, "a prefetch is not a data-path fault")

        // READ from the prefetched pages: no fault, no RNR NAK.
        server.buffer.write(pattern(Self.length, seed: 44), at: Self.offset)
        let ready = server.device.counters
        #expect(try client.run(.rdmaRead(id: 1, scatterGatherList: [client.sge(0, Self.length)], remoteAddress: server.address(Self.offset), rkey: server.region.rkey))?.status == .success)
        #expect(mismatch(client.buffer.read(at: 0, count: Self.length), pattern(Self.length, seed: 44)) == nil)
        let delta = CounterDelta(from: ready, to: server.device.counters)
        #expect(delta.pageFaults == 0 && delta.rnrNaksSent == 0, "\(delta)")
    }

    @Test("PREFETCH_NO_FAULT maps only resident pages and faults none in", arguments: [true, false])
    func noFault(synchronous: Bool) throws {
        let (client, server) = try connectedPair(twoDevices: true, onDemand: (false, true))
        defer { shutDown(client, server) }
        let umem = try #require(server.umem)
        let window = 32 * page
        let pages = 8
        let touched: Set<Int> = [0, 2, 5]
        for index in touched { server.buffer.write(pattern(16, seed: UInt8(index)), at: window + index * page + 100) }
        let residentBefore = try server.buffer.residentPages(at: window, count: pages * page)
        #expect(residentBefore == (0..<pages).map { touched.contains($0) }, "only the written pages are resident: \(residentBefore)")

        let returned = try server.pd.adviseMemory(.noFault, scatterGatherList: [server.sge(window, pages * page)], synchronous: synchronous)
        if synchronous {
            #expect(returned == touched.count)
        } else {
            #expect(returned == 0)
            #expect(eventually(timeout: .seconds(5)) { umem.mappedPageCount == touched.count }, "mapped: \(umem.mappedPageCount)")
        }
        #expect(umem.mappedPageCount == touched.count)
        for index in 0..<pages {
            let access = umem.pageAccess(at: server.address(window + index * page))
            if touched.contains(index) {
                #expect(access == .read, "page \(index): resident, mapped for reading: \(access)")
            } else {
                #expect(access == [], "page \(index): not resident, must stay unmapped: \(access)")
            }
        }
        let residentAfter = try server.buffer.residentPages(at: window, count: pages * page)
        #expect(residentAfter == residentBefore, "no page was faulted in: \(residentAfter)")

        // The mapped pages serve a READ without a fault; an unmapped one faults.
        let before = server.device.counters
        #expect(try client.run(.rdmaRead(id: 1, scatterGatherList: [client.sge(0, 16)], remoteAddress: server.address(window + 5 * page + 100), rkey: server.region.rkey))?.status == .success)
        #expect(mismatch(client.buffer.read(at: 0, count: 16), pattern(16, seed: 5)) == nil)
        #expect(server.device.counters.pageFaults == before.pageFaults)
        #expect(try client.run(.rdmaRead(id: 2, scatterGatherList: [client.sge(0, 16)], remoteAddress: server.address(window + 3 * page), rkey: server.region.rkey))?.status == .success)
        #expect(client.buffer.read(at: 0, count: 16) == [UInt8](repeating: 0, count: 16), "an untouched page reads as zeros")
        #expect(server.device.counters.pageFaults > before.pageFaults, "the non-resident page faulted on access")
    }

    @Test("advise_mr refuses bad lkeys, pinned regions, other PDs, out-of-range SGEs and PREFETCH_WRITE on read-only regions")
    func errors() throws {
        let (client, server) = try connectedPair(twoDevices: false, onDemand: (false, true))
        defer { shutDown(client, server) }
        let pd = server.pd
        func refused(_ advice: PrefetchAdvice, _ sge: ScatterGatherElement, on domain: ProtectionDomain? = nil, _ comment: Comment) {
            for synchronous in [true, false] {
                let error = #expect(throws: VerbsError.self, comment) {
                    try (domain ?? pd).adviseMemory(advice, scatterGatherList: [sge], synchronous: synchronous)
                }
                #expect(error?.code == .invalidAttributeValue, comment)
            }
        }
        refused(.read, server.sge(0, page, lkey: LocalKey(rawValue: 0xFFFF_FF00)), "unknown lkey")
        let stale = try server.register(0, 4 * page, access: [.localWrite], onDemand: true)
        let staleKey = stale.lkey
        stale.deregister()
        refused(.write, server.sge(0, page, lkey: staleKey), "deregistered region's lkey")
        refused(.read, client.sge(0, page), on: client.pd, "pinned region")
        let pinned = try server.register(0, 4 * page, access: [.localWrite], onDemand: false)
        refused(.noFault, server.sge(0, page, lkey: pinned.lkey), "pinned region (noFault)")
        refused(.read, server.sge(0, page), on: server.device.allocateProtectionDomain(), "region of another PD")
        refused(.read, server.sge(server.buffer.length - page, 2 * page), "SGE past the region's end")
        let small = try server.register(4 * page, 2 * page, access: [.localWrite], onDemand: true)
        refused(.read, server.sge(0, page, lkey: small.lkey), "SGE before the region's start")
        let readOnly = try server.register(8 * page, 2 * page, access: [.remoteRead], onDemand: true)
        refused(.write, server.sge(8 * page, page, lkey: readOnly.lkey), "PREFETCH_WRITE without write access")
        #expect(try pd.adviseMemory(.read, scatterGatherList: [server.sge(8 * page, page, lkey: readOnly.lkey)]) == 1, "PREFETCH on it is fine")

        // A synchronous prefetch over memory that cannot be resolved reports the resolution error.
        try server.buffer.protect(.read, at: 16 * page, count: page)
        defer { try? server.buffer.protect(.readWrite, at: 16 * page, count: page) }
        #expect(throws: MemoryError.self, "PREFETCH_WRITE of a PROT_READ page") {
            try pd.adviseMemory(.write, scatterGatherList: [server.sge(16 * page, page)], synchronous: true)
        }
        #expect(try pd.adviseMemory(.read, scatterGatherList: [server.sge(16 * page, page)], synchronous: true) == 1, "reading it is fine")
        _ = pinned
    }
}
