import SoftRoCE
import SoftRoCEMemory
import Testing

private let page = Host.pageSize

/// Faults in the middle of things: a multi-packet message whose target turns cold part-way
/// (the RNR NAK names a middle PSN), a READ or ATOMIC whose local buffer is invalidated while
/// the request is outstanding (the completer faults; an atomic must still execute exactly once),
/// several QPs faulting on the same pages at once, and UD, which has no RNR and drops instead.
@Suite("ODP faults: in-flight and mid-message faults", .timeLimit(.minutes(3)))
struct InFlightFaultTests {
    @Test("Multi-packet WRITE whose target is warm for the first half and cold for the second", arguments: [false, true])
    func writeColdSecondHalf(twoDevices: Bool) throws {
        let (client, server) = try connectedPair(twoDevices: twoDevices, onDemand: (false, true))
        defer { shutDown(client, server) }
        let length = 16 * page
        #expect(try server.pd.adviseMemory(.write, scatterGatherList: [server.sge(0, 8 * page)]) == 8)
        let data = pattern(length, seed: 101)
        client.buffer.write(data, at: 0)
        let before = server.device.counters
        let regionBefore = regionFaults(server.region)
        #expect(try client.run(.rdmaWrite(id: 1, scatterGatherList: [client.sge(0, length)], remoteAddress: server.address(0), rkey: server.region.rkey))?.status == .success)
        #expect(mismatch(server.buffer.read(at: 0, count: length), data) == nil)
        let delta = CounterDelta(from: before, to: server.device.counters)
        #expect(delta.faultedPages >= 8 && delta.rnrNaksSent > 0, "\(delta)")
        #expect(regionFaults(server.region).pages - regionBefore.pages == 8, "only the cold half faulted")
        #expect(server.qp.state == .readyToSend && client.qp.state == .readyToSend)
    }

    @Test("Multi-packet SEND whose receive buffer turns cold part-way consumes exactly one receive", arguments: [false, true])
    func sendColdSecondHalf(twoDevices: Bool) throws {
        let (client, server) = try connectedPair(twoDevices: twoDevices, onDemand: (false, true))
        defer { shutDown(client, server) }
        let length = 12 * page
        #expect(try server.pd.adviseMemory(.write, scatterGatherList: [server.sge(0, 6 * page)]) == 6)
        try server.qp.postReceive(ReceiveWorkRequest(id: 1, scatterGatherList: [server.sge(0, length)]))
        try server.qp.postReceive(ReceiveWorkRequest(id: 2, scatterGatherList: [server.sge(32 * page, page)]))
        let data = pattern(length, seed: 102)
        client.buffer.write(data, at: 0)
        #expect(try client.run(.send(id: 1, scatterGatherList: [client.sge(0, length)]))?.status == .success)
        let first = server.waitReceive()
        #expect(first.first?.wrID == 1 && first.first?.status == .success && first.first?.byteLength == UInt32(length))
        #expect(mismatch(server.buffer.read(at: 0, count: length), data) == nil)
        #expect(server.device.counters.rnrNaksSent > 0)
        // The second receive is still there, and still next.
        client.buffer.write(pattern(100, seed: 103), at: 0)
        #expect(try client.run(.send(id: 2, scatterGatherList: [client.sge(0, 100)]))?.status == .success)
        let second = server.waitReceive()
        #expect(second.first?.wrID == 2 && second.first?.status == .success && second.first?.byteLength == 100)
        #expect(mismatch(server.buffer.read(at: 32 * page, count: 100), pattern(100, seed: 103)) == nil)
    }

    /// Posts `request`, waits until the server's (slowed) fault is queued, then invalidates and
    /// drops the client's local pages `[offset, offset + count)` while the request is outstanding.
    static func invalidateWhileOutstanding(
        _ request: SendWorkRequest, client: Endpoint, server: Endpoint, offset: Int, count: Int
    ) throws -> WorkCompletion? {
        server.device.injectedFaultDelay = .milliseconds(100)
        let before = server.device.counters
        try client.qp.postSend(request)
        try #require(eventually(timeout: .seconds(5)) { server.device.counters.rnrNaksSent > before.rnrNaksSent }, "the responder never faulted")
        #expect(client.umem?.pageAccess(at: client.address(offset)).contains(.write) == true, "the local buffer was faulted in before the request was sent")
        try client.makeCold(offset, count)
        #expect(client.umem?.pageAccess(at: client.address(offset)) == [])
        return client.waitSend().first
    }

    @Test("READ destination invalidated while the READ is outstanding: the completer faults, the data is right")
    func readDestinationInvalidated() throws {
        let (client, server) = try connectedPair(twoDevices: true, onDemand: (true, true))
        defer { shutDown(client, server) }
        let length = 6 * page + 300
        let data = pattern(length, seed: 104)
        server.buffer.write(data, at: 4 * page)
        let clientBefore = regionFaults(client.region)
        let completion = try Self.invalidateWhileOutstanding(
            .rdmaRead(id: 1, scatterGatherList: [client.sge(100, length)], remoteAddress: server.address(4 * page), rkey: server.region.rkey),
            client: client, server: server, offset: 100, count: length)
        #expect(completion?.status == .success, "got \(String(describing: completion?.status))")
        #expect(mismatch(client.buffer.read(at: 100, count: length), data) == nil)
        #expect(regionFaults(client.region).faults >= clientBefore.faults + 2, "faulted before sending and again for the responses")
        #expect(client.qp.state == .readyToSend)
    }

    @Test("ATOMIC result buffer invalidated while outstanding: the atomic still executes exactly once", arguments: [false, true])
    func atomicResultInvalidated(compareSwap: Bool) throws {
        let (client, server) = try connectedPair(twoDevices: true, onDemand: (true, true))
        defer { shutDown(client, server) }
        server.buffer.storeUInt64(10, at: 8 * page)
        client.buffer.storeUInt64(0xEEEE, at: 2 * page + 16)
        let clientBefore = regionFaults(client.region)
        let request: SendWorkRequest = compareSwap
            ? .atomicCompareAndSwap(id: 1, result: client.sge(2 * page + 16, 8), remoteAddress: server.address(8 * page), rkey: server.region.rkey, compare: 10, swap: 20)
            : .atomicFetchAndAdd(id: 1, result: client.sge(2 * page + 16, 8), remoteAddress: server.address(8 * page), rkey: server.region.rkey, add: 1)
        let completion = try Self.invalidateWhileOutstanding(request, client: client, server: server, offset: 2 * page + 16, count: 8)
        #expect(completion?.status == .success, "got \(String(describing: completion?.status))")
        #expect(client.buffer.loadUInt64(at: 2 * page + 16) == 10, "the original value")
        #expect(server.buffer.loadUInt64(at: 8 * page) == (compareSwap ? 20 : 11), "executed exactly once")
        #expect(regionFaults(client.region).faults >= clientBefore.faults + 2, "faulted before sending and again for the result")
        // And the next one sees that value.
        server.device.injectedFaultDelay = .zero
        #expect(try client.run(.atomicFetchAndAdd(id: 2, result: client.sge(2 * page + 16, 8), remoteAddress: server.address(8 * page), rkey: server.region.rkey, add: 1))?.status == .success)
        #expect(client.buffer.loadUInt64(at: 2 * page + 16) == (compareSwap ? 20 : 11))
        #expect(server.buffer.loadUInt64(at: 8 * page) == (compareSwap ? 21 : 12))
    }

    @Test("Four QPs fault on the same cold pages at once; every byte lands", arguments: [false, true])
    func concurrentQPsSamePages(twoDevices: Bool) throws {
        let serverDevice = Device(name: "softroce-inflight-s", faultThreads: 2)
        let clientDevice = twoDevices ? Device(name: "softroce-inflight-c") : serverDevice
        defer {
            clientDevice.close()
            serverDevice.close()
        }
        let target = try Endpoint(device: serverDevice, onDemand: true)
        let qps = 4
        var clients: [Endpoint] = []
        var servers: [Endpoint] = []
        for _ in 0..<qps {
            let server = try Endpoint(device: serverDevice, bufferSize: page, onDemand: true, pd: target.pd)
            let client = try Endpoint(device: clientDevice, bufferSize: 64 * page, onDemand: true)
            try client.connect(to: server)
            try server.connect(to: client)
            clients.append(client)
            servers.append(server)
        }
        // QP k writes 1 KiB at k KiB of each of 16 pages: every page is hit by all four.
        let pages = 16
        let chunk = 1024
        for (k, client) in clients.enumerated() {
            for j in 0..<pages { client.buffer.write(pattern(chunk, seed: UInt8(k * 16 + j)), at: j * page) }
        }
        let toPost = clients
        let rkey = target.region.rkey
        let base = target.address(0)
        runOnThreads(qps) { k in
            for j in 0..<pages {
                try? toPost[k].qp.postSend(.rdmaWrite(
                    id: UInt64(j), scatterGatherList: [toPost[k].sge(j * page, chunk)], remoteAddress: base + UInt64(j * page + k * chunk), rkey: rkey))
            }
        }
        for (k, client) in clients.enumerated() {
            let completions = client.waitSend(pages)
            #expect(completions.count == pages, "QP \(k): \(statuses(completions))")
            #expect(completions.allSatisfy { $0.status == .success }, "QP \(k): \(Set(statuses(completions)))")
            #expect(completions.map(\.wrID) == (0..<UInt64(pages)).map { $0 })
        }
        var wrong: [String] = []
        for k in 0..<qps {
            for j in 0..<pages where target.buffer.read(at: j * page + k * chunk, count: chunk) != pattern(chunk, seed: UInt8(k * 16 + j)) {
                wrong.append("QP \(k) page \(j)")
            }
        }
        #expect(wrong.isEmpty, "\(wrong)")
        #expect(target.umem?.mappedPageCount == pages)
        #expect(servers.allSatisfy { $0.qp.state == .readyToSend })
        #expect(serverDevice.counters.failedFaults == 0)
    }

    @Test("UD: receive buffers are mapped when posted; one invalidated afterwards drops the datagram, the receive stays, the next lands")
    func datagramColdReceive() throws {
        let first = Device(name: "softroce-inflight-ud-a")
        let second = Device(name: "softroce-inflight-ud-b")
        defer {
            first.close()
            second.close()
        }
        let client = try Endpoint(device: first, type: .ud, bufferSize: 1 << 16, onDemand: true)
        let server = try Endpoint(device: second, type: .ud, bufferSize: 1 << 16, onDemand: true)
        let qkey: UInt32 = 0x1111_1111
        try client.activateDatagram(qkey: qkey)
        try server.activateDatagram(qkey: qkey)
        let destination = DatagramDestination(
            addressHandle: AddressHandle(addressVector: AddressVector(destinationGID: server.device.gid)),
            remoteQPNumber: server.qp.number, remoteQKey: QKey(rawValue: qkey))
        let data = pattern(1000, seed: 105)
        client.buffer.write(data, at: 0)
        try server.qp.postReceive(ReceiveWorkRequest(id: 7, scatterGatherList: [server.sge(4 * page, 40 + 1000)]))
        // UD has no RNR: the receive buffer is mapped at post time (on the posting thread).
        #expect(server.umem?.pageAccess(at: server.address(4 * page)).contains(.write) == true, "mapped when posted")
        // Reclaim takes it back before the datagram arrives.
        try server.makeCold(4 * page, 40 + 1000)
        #expect(server.umem?.pageAccess(at: server.address(4 * page)) == [])
        let droppedBefore = server.device.counters.droppedPackets

        // The cold source faults at the requester (the send waits for it, it is not dropped);
        // the cold receive buffer faults at the responder: UD has no RNR, the datagram is dropped.
        #expect(try client.run(.datagramSend(id: 1, scatterGatherList: [client.sge(0, 1000)], destination: destination))?.status == .success)
        #expect(eventually(timeout: .seconds(2)) { server.device.counters.droppedPackets > droppedBefore }, "the datagram was dropped")
        #expect(server.receiveCQ.poll(maxEntries: 1).isEmpty, "no receive completed")
        #expect(eventually(timeout: .seconds(5)) { server.umem?.pageAccess(at: server.address(4 * page)).contains(.write) == true }, "the fault was resolved for the next datagram")
        #expect(regionFaults(client.region).faults >= 1, "the UD source faulted at the requester")

        // The next datagram lands in the same receive.
        #expect(try client.run(.datagramSend(id: 2, scatterGatherList: [client.sge(0, 1000)], destination: destination))?.status == .success)
        let received = server.waitReceive()
        #expect(received.first?.wrID == 7 && received.first?.status == .success && received.first?.byteLength == 1040)
        #expect(mismatch(server.buffer.read(at: 4 * page + 40, count: 1000), data) == nil)
    }
}
