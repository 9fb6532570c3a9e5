@testable import SoftRoCE
import SoftRoCEMemory
import Testing

private let page = Host.pageSize

/// A READ that is asked for again (after the requester's own fault dropped its responses) and
/// whose source was invalidated meanwhile: the responder meets the fault while answering a
/// repeated request. That is still a responder page fault, and with `rnr_retry` 7 (infinite) it
/// must be ridden out however long its resolution takes — not end the READ with RETRY_EXC_ERR
/// because `retry_cnt` transport timeouts expired while the fault was being resolved.
///
/// Deterministic: the fault workqueues of both devices are slowed to 100 ms, and each step waits
/// for the previous fault to be observably pending (internal fault-context state) before it
/// invalidates the next pages.
@Suite("ODP faults: responder fault on a repeated READ", .timeLimit(.minutes(3)))
struct ReadReaskFaultTests {
    @Test("READ re-asked after a completer fault, source invalidated meanwhile: succeeds with rnr_retry 7", arguments: [UInt8(10), 14])
    func reaskedReadSurvivesResponderFault(timeoutCode: UInt8) throws {
        let (client, server) = try connectedPair(twoDevices: true, onDemand: (true, true), timeout: timeoutCode, retry: 7, rnrRetry: 7)
        defer { shutDown(client, server) }
        let source = 8 * page
        let destination = 32 * page
        let length = 4 * page
        let data = pattern(length, seed: 121)
        server.buffer.write(data, at: source)
        #expect(try client.pd.adviseMemory(.write, scatterGatherList: [client.sge(destination, length)]) == 4)
        let clientUmem = try #require(client.umem)
        let serverUmem = try #require(server.umem)
        server.device.injectedFaultDelay = .milliseconds(100)
        client.device.injectedFaultDelay = .milliseconds(100)
        let before = (client.device.counters, server.device.counters)

        try client.qp.postSend(.rdmaRead(id: 1, scatterGatherList: [client.sge(destination, length)], remoteAddress: server.address(source), rkey: server.region.rkey))
        // 1. The source is cold: the responder faults (RNR NAK, 100 ms). Meanwhile the client's
        //    destination entries are invalidated (the bytes stay).
        try #require(eventually(timeout: .seconds(5)) { server.qp.faultHandler.isBusy(.responderRead) }, "the responder never faulted")
        clientUmem.invalidate(client.address(destination)..<client.address(destination + length))
        // 2. The responses arrive and the completer faults on the destination (100 ms); the READ
        //    will be asked for again. Meanwhile the source entries are invalidated.
        try #require(eventually(timeout: .seconds(5)) { client.qp.faultHandler.isBusy(.requesterWrite) }, "the completer never faulted")
        serverUmem.invalidate(server.address(source)..<server.address(source + length))
        // 3. The repeated READ meets the responder fault again (100 ms).
        let completion = client.waitSend(1, timeout: .seconds(10)).first
        let clientDelta = CounterDelta(from: before.0, to: client.device.counters)
        let serverDelta = CounterDelta(from: before.1, to: server.device.counters)
        let retransmits = client.device.counters.retransmits - before.0.retransmits
        #expect(completion?.status == .success,
                "got \(String(describing: completion?.status)); retransmits \(retransmits); client \(clientDelta); server \(serverDelta)")
        #expect(mismatch(client.buffer.read(at: destination, count: length), data) == nil)
        #expect(client.qp.state == .readyToSend)
    }

    @Test("Control: the same READ without the re-ask fault succeeds")
    func control() throws {
        let (client, server) = try connectedPair(twoDevices: true, onDemand: (true, true), timeout: 10, retry: 7, rnrRetry: 7)
        defer { shutDown(client, server) }
        let data = pattern(4 * page, seed: 122)
        server.buffer.write(data, at: 8 * page)
        server.device.injectedFaultDelay = .milliseconds(100)
        client.device.injectedFaultDelay = .milliseconds(100)
        let completion = try client.run(.rdmaRead(id: 1, scatterGatherList: [client.sge(32 * page, 4 * page)], remoteAddress: server.address(8 * page), rkey: server.region.rkey))
        #expect(completion?.status == .success)
        #expect(mismatch(client.buffer.read(at: 32 * page, count: 4 * page), data) == nil)
    }
}
