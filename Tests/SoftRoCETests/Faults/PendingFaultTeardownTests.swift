@testable import SoftRoCE
import SoftRoCEMemory
import Testing

private let page = Host.pageSize

/// Tearing down while faults are pending (test_odp.py's dereg/destroy-under-traffic cases, with
/// the fault slowed to 100 ms by injection): `deregister()` waits for the region's queued and
/// running faults before it returns, `destroy()` of a QP drains the QP's faults, closing the
/// device stops its workqueue after them — nothing hangs, nothing crashes, and the work request
/// caught in the middle completes with an error (or, for a race it won, success).
@Suite("ODP faults: deregister / destroy while a fault is pending", .timeLimit(.minutes(3)))
struct PendingFaultTeardownTests {
    static let delay: Duration = .milliseconds(100)

    /// Waits until the responder device answered with an RNR NAK: its fault is queued by then
    /// (the responder queues the fault before it sends the NAK).
    static func waitForResponderFault(_ server: Endpoint, after before: DeviceCounters) -> Bool {
        eventually(timeout: .seconds(5)) { server.device.counters.rnrNaksSent > before.rnrNaksSent }
    }

    @Test("deregister() of the target region waits for its pending fault", arguments: [false, true])
    func deregisterTarget(twoDevices: Bool) throws {
        // A long RNR back-off (code 31: 491.52 ms): the WRITE is not retried while deregister()
        // runs. A retry that found the rkey gone would move the QP to ERR, and the workqueue
        // skips the queued fault of a QP in ERR instead of resolving it.
        let (client, server) = try connectedPair(twoDevices: twoDevices, onDemand: (false, true), minRNRTimer: 31)
        defer { shutDown(client, server) }
        server.device.injectedFaultDelay = Self.delay
        client.buffer.write(pattern(2 * page, seed: 81), at: 0)
        let before = server.device.counters
        let start = ContinuousClock.now
        try client.qp.postSend(.rdmaWrite(id: 1, scatterGatherList: [client.sge(0, 2 * page)], remoteAddress: server.address(8 * page), rkey: server.region.rkey))
        try #require(Self.waitForResponderFault(server, after: before), "the responder never faulted")
        let queuedAfter = ContinuousClock.now - start

        let took = elapsed { server.region.deregister() }
        #expect(server.region.isDeregistered)
        // The fault started at most `queuedAfter` before deregister() was called and sleeps
        // `delay`: deregister() must have waited for (most of) the rest. Generous slack.
        #expect(took >= Self.delay - queuedAfter - .milliseconds(30), "deregister returned after \(took); fault queued after \(queuedAfter)")
        let finished = CounterDelta(from: before, to: server.device.counters)
        #expect(finished.pageFaults + finished.failedFaults >= 1, "the fault had finished when deregister() returned: \(finished)")

        let completion = client.waitSend(1).first
        try #require(completion != nil, "the WRITE never completed")
        #expect([WorkCompletion.Status.remoteAccessError, .success].contains(completion!.status), "got \(completion!.status)")
        // Later work on the client fails or flushes cleanly.
        try client.qp.postSend(.rdmaWrite(id: 2, scatterGatherList: [client.sge(0, 64)], remoteAddress: server.address(0), rkey: server.region.rkey))
        let next = client.waitSend(1).first
        #expect([WorkCompletion.Status.remoteAccessError, .workRequestFlushError].contains(next?.status ?? .success), "got \(String(describing: next?.status))")
        // The memory is the application's again and still mapped.
        server.buffer.fill(0x42, at: 8 * page, count: page)
        #expect(server.buffer[8 * page] == 0x42)
    }

    @Test("deregister() of the source region waits for the requester's pending fault")
    func deregisterSource() throws {
        let (client, server) = try connectedPair(twoDevices: true, onDemand: (true, false))
        defer { shutDown(client, server) }
        client.device.injectedFaultDelay = Self.delay
        client.buffer.write(pattern(2 * page, seed: 82), at: 0)
        let before = client.device.counters
        try client.qp.postSend(.rdmaWrite(id: 1, scatterGatherList: [client.sge(0, 2 * page)], remoteAddress: server.address(0), rkey: server.region.rkey))
        // There is no RNR NAK to observe on the requester side: watch its fault context (internal).
        let start = ContinuousClock.now
        try #require(eventually(timeout: .seconds(5)) { client.qp.faultHandler.isBusy(.requesterRead) }, "the requester never faulted")
        let queuedAfter = ContinuousClock.now - start
        let took = elapsed { client.region.deregister() }
        #expect(took >= Self.delay - queuedAfter - .milliseconds(30), "deregister returned after \(took); fault queued after \(queuedAfter)")
        let finished = CounterDelta(from: before, to: client.device.counters)
        #expect(finished.pageFaults + finished.failedFaults >= 1, "the fault had finished: \(finished)")
        let completion = client.waitSend(1).first
        try #require(completion != nil, "the WRITE never completed")
        #expect([WorkCompletion.Status.localProtectionError, .success].contains(completion!.status), "got \(completion!.status)")
    }

    @Test("destroy() of the responder QP while its fault is pending returns; the requester times out cleanly", arguments: [false, true])
    func destroyResponder(twoDevices: Bool) throws {
        let (client, server) = try connectedPair(twoDevices: twoDevices, onDemand: (false, true), timeout: 10, retry: 2)
        defer { shutDown(client, server) }
        server.device.injectedFaultDelay = Self.delay
        client.buffer.write(pattern(page, seed: 83), at: 0)
        let before = server.device.counters
        try client.qp.postSend(.rdmaWrite(id: 1, scatterGatherList: [client.sge(0, page)], remoteAddress: server.address(8 * page), rkey: server.region.rkey))
        try #require(Self.waitForResponderFault(server, after: before), "the responder never faulted")
        let took = elapsed { server.qp.destroy() }
        #expect(took < .seconds(5), "destroy() took \(took)")
        #expect(server.qp.state == .error)
        #expect(server.device.queuePair(number: server.qp.number) == nil, "the QP left the device")

        try client.qp.postSend(.rdmaWrite(id: 2, scatterGatherList: [client.sge(0, 64)], remoteAddress: server.address(0), rkey: server.region.rkey))
        let completions = client.waitSend(2)
        try #require(completions.count == 2, "completions: \(statuses(completions))")
        #expect(completions[0].wrID == 1 && completions[0].status == .retryExceededError, "got \(completions[0].status)")
        #expect(completions[1].wrID == 2 && completions[1].status == .workRequestFlushError)
        // destroy() drained the QP's faults: no context holds one any more.
        #expect(PageFaultContext.allCases.allSatisfy { !server.qp.faultHandler.isBusy($0) })
        #expect(!server.qp.faultHandler.isEnabled, "faults stay disabled on a destroyed QP")
        server.region.deregister()
        #expect(server.region.isDeregistered)
    }

    @Test("destroy() of the requester QP while its fault is pending returns and flushes")
    func destroyRequester() throws {
        let (client, server) = try connectedPair(twoDevices: true, onDemand: (true, false))
        defer { shutDown(client, server) }
        client.device.injectedFaultDelay = Self.delay
        client.buffer.write(pattern(page, seed: 84), at: 0)
        for id in 1...4 as ClosedRange<UInt64> {
            try client.qp.postSend(.rdmaWrite(id: id, scatterGatherList: [client.sge(Int(id) * page, 64)], remoteAddress: server.address(0), rkey: server.region.rkey))
        }
        try #require(eventually(timeout: .seconds(5)) { client.qp.faultHandler.isBusy(.requesterRead) }, "the requester never faulted")
        let took = elapsed { client.qp.destroy() }
        #expect(!client.qp.faultHandler.isBusy(.requesterRead), "destroy() drained the QP's fault")
        #expect(took < .seconds(5))
        let completions = client.waitSend(4)
        #expect(completions.count == 4, "completions: \(statuses(completions))")
        #expect(completions.map(\.wrID) == [1, 2, 3, 4])
        #expect(completions.allSatisfy { $0.status == .workRequestFlushError || $0.status == .success }, "\(statuses(completions))")
        #expect(!client.qp.faultHandler.isEnabled, "faults stay disabled on a destroyed QP")
        client.region.deregister()
        #expect(client.region.isDeregistered)
    }

    @Test("Closing the device while a fault is pending returns and leaves nothing running")
    func closeDevice() throws {
        let (client, server) = try connectedPair(twoDevices: true, onDemand: (false, true))
        server.device.injectedFaultDelay = Self.delay
        let before = server.device.counters
        try client.qp.postSend(.rdmaWrite(id: 1, scatterGatherList: [client.sge(0, page)], remoteAddress: server.address(8 * page), rkey: server.region.rkey))
        try #require(Self.waitForResponderFault(server, after: before))
        let took = elapsed { server.device.close() }
        #expect(took < .seconds(5))
        #expect(server.qp.state == .error)
        #expect(PageFaultContext.allCases.allSatisfy { !server.qp.faultHandler.isBusy($0) }, "close() drained the QP's faults")
        server.region.deregister()
        client.device.close()
        #expect(client.qp.state == .error)
    }

    @Test("Many WRITEs to many cold regions, all deregistered while faults are pending", arguments: [false, true])
    func deregisterMany(twoDevices: Bool) throws {
        let (client, server) = try connectedPair(twoDevices: twoDevices, onDemand: (false, true))
        defer { shutDown(client, server) }
        server.device.injectedFaultDelay = .milliseconds(20)
        let regions = try (0..<8).map { try server.register($0 * 16 * page, 16 * page, access: [.localWrite, .remoteWrite]) }
        let before = server.device.counters
        for (index, region) in regions.enumerated() {
            try client.qp.postSend(.rdmaWrite(id: UInt64(index), scatterGatherList: [client.sge(0, 2 * page)], remoteAddress: server.address(index * 16 * page + page), rkey: region.rkey))
        }
        _ = Self.waitForResponderFault(server, after: before)
        runOnThreads(regions.count) { regions[$0].deregister() }
        let allDeregistered = regions.allSatisfy { $0.isDeregistered }
        #expect(allDeregistered)
        let completions = client.waitSend(regions.count)
        try #require(completions.count == regions.count, "completions: \(statuses(completions))")
        #expect(completions.map(\.wrID) == (0..<UInt64(regions.count)).map { $0 })
        let allowed: Set<WorkCompletion.Status> = [.success, .remoteAccessError, .workRequestFlushError]
        #expect(completions.allSatisfy { allowed.contains($0.status) }, "\(statuses(completions))")
        if let failure = completions.firstIndex(where: { $0.status != .success }) {
            #expect(completions[failure].status == .remoteAccessError)
            #expect(completions[(failure + 1)...].allSatisfy { $0.status == .workRequestFlushError })
        }
    }
}
