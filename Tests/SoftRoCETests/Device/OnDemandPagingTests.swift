import SoftRoCE
import SoftRoCEMemory
import Testing

private let page = Host.pageSize

/// ODP through the device (DESIGN.md §3): cold pages fault in on first access and are counted,
/// warm pages do not fault again, and invalidated pages fault again with the data intact.
@Suite("On-demand paging through the device", .timeLimit(.minutes(3)))
struct OnDemandPagingTests {
    @Test("Cold pages fault in and are counted on both sides; warm pages do not fault again")
    func faultCounters() throws {
        let (client, server) = try connectedPair(twoDevices: true, onDemand: (true, true))
        defer { shutDown(client, server) }
        let data = pattern(5 * page, seed: 71)
        client.buffer.write(data, at: 0)
        let clientBefore = client.device.counters
        let serverBefore = server.device.counters

        try client.qp.postSend(.rdmaWrite(id: 1, scatterGatherList: [client.sge(0, 5 * page)], remoteAddress: server.address(0), rkey: server.region.rkey))
        #expect(client.waitSend().first?.status == .success)
        #expect(mismatch(server.buffer.read(at: 0, count: 5 * page), data) == nil)
        let clientCold = client.device.counters
        let serverCold = server.device.counters
        #expect(serverCold.pageFaults > serverBefore.pageFaults, "the responder faulted")
        #expect(serverCold.faultedPages - serverBefore.faultedPages >= 5)
        #expect(clientCold.pageFaults > clientBefore.pageFaults, "the requester faulted its source")
        #expect(clientCold.faultedPages - clientBefore.faultedPages >= 5)

        try client.qp.postSend(.rdmaWrite(id: 2, scatterGatherList: [client.sge(0, 5 * page)], remoteAddress: server.address(0), rkey: server.region.rkey))
        #expect(client.waitSend().first?.status == .success)
        #expect(server.device.counters.pageFaults == serverCold.pageFaults, "warm target pages do not fault")
        #expect(client.device.counters.pageFaults == clientCold.pageFaults, "warm source pages do not fault")
    }

    @Test("Invalidated pages fault again and the data stays right", arguments: [false, true])
    func invalidation(twoDevices: Bool) throws {
        let (client, server) = try connectedPair(twoDevices: twoDevices, onDemand: (false, true))
        defer { shutDown(client, server) }
        let umem = try #require(server.region.onDemandUmem)
        client.buffer.write(pattern(4 * page, seed: 72), at: 0)
        try client.qp.postSend(.rdmaWrite(id: 1, scatterGatherList: [client.sge(0, 4 * page)], remoteAddress: server.address(0), rkey: server.region.rkey))
        #expect(client.waitSend().first?.status == .success)
        #expect(umem.mappedPageCount >= 4)

        let before = server.device.counters
        let cleared = umem.invalidate(server.address(0)..<server.address(4 * page))
        #expect(cleared == 4)
        let afterInvalidate = server.device.counters
        #expect(afterInvalidate.invalidations == before.invalidations + 1)
        #expect(afterInvalidate.invalidatedPages == before.invalidatedPages + 4)

        client.buffer.write(pattern(4 * page, seed: 73), at: 0)
        try client.qp.postSend(.rdmaWrite(id: 2, scatterGatherList: [client.sge(0, 4 * page)], remoteAddress: server.address(0), rkey: server.region.rkey))
        #expect(client.waitSend().first?.status == .success)
        #expect(mismatch(server.buffer.read(at: 0, count: 4 * page), pattern(4 * page, seed: 73)) == nil)
        #expect(server.device.counters.faultedPages - afterInvalidate.faultedPages >= 4, "the invalidated pages faulted again")

        // READ back through the re-faulted pages.
        try client.qp.postSend(.rdmaRead(id: 3, scatterGatherList: [client.sge(8 * page, 4 * page)], remoteAddress: server.address(0), rkey: server.region.rkey))
        #expect(client.waitSend().first?.status == .success)
        #expect(mismatch(client.buffer.read(at: 8 * page, count: 4 * page), pattern(4 * page, seed: 73)) == nil)
    }
}
