import SoftRoCE
import SoftRoCEMemory
import Testing

/// The QP state machine as the device applies it: posting before RTS throws, a rejected modify
/// changes nothing, RTS → ERR flushes both queues, RESET empties them silently, and destroy()
/// with work outstanding neither crashes nor leaves the peer hanging.
@Suite("Queue pair states through the device", .timeLimit(.minutes(3)))
struct QueuePairStateTests {
    static func initAttributes() -> QueuePairAttributes {
        QueuePairAttributes(state: .initialized, accessFlags: [.localWrite, .remoteWrite, .remoteRead, .remoteAtomic], portNumber: 1, pkeyIndex: 0)
    }

    static func rtrAttributes(to peer: Endpoint) -> QueuePairAttributes {
        QueuePairAttributes(
            state: .readyToReceive, pathMTU: .mtu1024, rqPSN: 100, destQPNumber: peer.qp.number,
            addressVector: AddressVector(destinationGID: peer.device.gid), minRNRTimer: RNRTimer(code: 1), maxDestReadAtomic: 16)
    }

    static func rtsAttributes() -> QueuePairAttributes {
        QueuePairAttributes(state: .readyToSend, sqPSN: 100, timeout: AckTimeout(code: 14), retryCount: 7, rnrRetry: 7, maxReadAtomic: 16)
    }

    @Test("post_send before RTS throws invalidState; post_recv works from INIT", arguments: [false, true])
    func postBeforeReadyToSend(twoDevices: Bool) throws {
        let first = Device(name: "softroce-state-a")
        let second = twoDevices ? Device(name: "softroce-state-b") : first
        defer { first.close(); second.close() }
        let client = try Endpoint(device: first)
        let server = try Endpoint(device: second)
        try server.connect(to: client)
        let send = SendWorkRequest.send(id: 1, scatterGatherList: [client.sge(0, 8)])
        let receive = ReceiveWorkRequest(id: 40, scatterGatherList: [client.sge(4096, 64)])

        #expect(client.qp.state == .reset)
        #expect(throws: VerbsError.self) { try client.qp.postSend(send) }
        let resetReceive = #expect(throws: VerbsError.self) { try client.qp.postReceive(receive) }
        #expect(resetReceive?.code == .invalidState)

        try client.qp.modify(Self.initAttributes())
        let initSend = #expect(throws: VerbsError.self) { try client.qp.postSend(send) }
        #expect(initSend?.code == .invalidState)
        try client.qp.postReceive(receive)

        try client.qp.modify(Self.rtrAttributes(to: server))
        let rtrSend = #expect(throws: VerbsError.self) { try client.qp.postSend(send) }
        #expect(rtrSend?.code == .invalidState)

        try client.qp.modify(Self.rtsAttributes())
        try server.qp.postReceive(ReceiveWorkRequest(id: 50, scatterGatherList: [server.sge(0, 64)]))
        client.buffer.write([1, 2, 3, 4, 5, 6, 7, 8], at: 0)
        try client.qp.postSend(.send(id: 2, scatterGatherList: [client.sge(0, 8)]))
        let sent = client.waitSend()
        #expect(sent.map(\.wrID) == [2], "the rejected posts left nothing behind")
        #expect(sent.first?.status == .success)
        #expect(server.waitReceive().first?.wrID == 50)

        // The receive posted in INIT is live.
        server.buffer.write([9, 9, 9], at: 100)
        try server.qp.postSend(.send(id: 3, scatterGatherList: [server.sge(100, 3)]))
        let received = client.waitReceive()
        try #require(received.count == 1)
        #expect(received[0].wrID == 40 && received[0].status == .success && received[0].byteLength == 3)
        #expect(mismatch(client.buffer.read(at: 4096, count: 3), [9, 9, 9]) == nil)
    }

    enum Missing: String, CaseIterable, Sendable, CustomTestStringConvertible {
        case initAccessFlags, initPort, rtrPathMTU, rtrDestQP, rtrAddressVector, rtrPSN, rtrMinRNRTimer, rtsPSN, rtsTimeout, rtsRetry, rtsRNRRetry
        var testDescription: String { rawValue }
    }

    @Test("A modify missing a required attribute throws and changes nothing", arguments: Missing.allCases)
    func missingAttribute(missing: Missing) throws {
        let device = Device(name: "softroce-missing")
        defer { device.close() }
        let client = try Endpoint(device: device)
        let server = try Endpoint(device: device)
        try server.connect(to: client)

        var change: QueuePairAttributes
        let field: QueuePairAttributeMask
        switch missing {
        case .initAccessFlags, .initPort:
            change = Self.initAttributes()
            if missing == .initAccessFlags { change.accessFlags = nil; field = .accessFlags } else { change.portNumber = nil; field = .portNumber }
        case .rtrPathMTU, .rtrDestQP, .rtrAddressVector, .rtrPSN, .rtrMinRNRTimer:
            try client.qp.modify(Self.initAttributes())
            change = Self.rtrAttributes(to: server)
            switch missing {
            case .rtrPathMTU: change.pathMTU = nil; field = .pathMTU
            case .rtrDestQP: change.destQPNumber = nil; field = .destQPNumber
            case .rtrAddressVector: change.addressVector = nil; field = .addressVector
            case .rtrPSN: change.rqPSN = nil; field = .rqPSN
            default: change.minRNRTimer = nil; field = .minRNRTimer
            }
        case .rtsPSN, .rtsTimeout, .rtsRetry, .rtsRNRRetry:
            try client.qp.modify(Self.initAttributes())
            try client.qp.modify(Self.rtrAttributes(to: server))
            change = Self.rtsAttributes()
            switch missing {
            case .rtsPSN: change.sqPSN = nil; field = .sqPSN
            case .rtsTimeout: change.timeout = nil; field = .timeout
            case .rtsRetry: change.retryCount = nil; field = .retryCount
            default: change.rnrRetry = nil; field = .rnrRetry
            }
        }
        let before = client.qp.currentAttributes
        let stateBefore = client.qp.state
        let error = #expect(throws: VerbsError.self) { try client.qp.modify(change) }
        #expect(error?.code == .missingRequiredAttribute)
        #expect(error?.attribute == field)
        #expect(client.qp.state == stateBefore)
        #expect(client.qp.currentAttributes == before, "a rejected modify stores no attribute")
        // The QP is still usable: finish the bring-up and move a message.
        switch stateBefore {
        case .reset: try client.connect(to: server)
        case .initialized:
            try client.qp.modify(Self.rtrAttributes(to: server))
            try client.qp.modify(Self.rtsAttributes())
        default: try client.qp.modify(Self.rtsAttributes())
        }
        try client.qp.postSend(.rdmaWrite(id: 1, scatterGatherList: [client.sge(0, 8)], remoteAddress: server.address(0), rkey: server.region.rkey))
        #expect(client.waitSend().first?.status == .success)
    }

    @Test("An invalid transition throws and leaves the QP as it was")
    func invalidTransition() throws {
        let device = Device(name: "softroce-invalid")
        defer { device.close() }
        let endpoint = try Endpoint(device: device)
        let error = #expect(throws: VerbsError.self) { try endpoint.qp.modify(Self.rtsAttributes()) }
        #expect(error?.code == .invalidStateTransition)
        #expect(endpoint.qp.state == .reset)
    }

    /// A pair whose client SEND is stuck behind RNR NAKs with a long timer (no receive at the server).
    static func stuckPair(twoDevices: Bool) throws -> (client: Endpoint, server: Endpoint) {
        // min_rnr_timer code 0 = 655 ms: the requester sits in its RNR back-off while the test acts.
        let pair = try connectedPair(twoDevices: twoDevices, rnrRetry: 7, minRNRTimer: 0)
        try pair.client.qp.postSend(.send(id: 1, scatterGatherList: [pair.client.sge(0, 64)]))
        try pair.client.qp.postSend(.rdmaWrite(id: 2, scatterGatherList: [pair.client.sge(0, 64)], remoteAddress: pair.server.address(0), rkey: pair.server.region.rkey))
        try pair.client.qp.postSend(.rdmaRead(id: 3, scatterGatherList: [pair.client.sge(4096, 64)], remoteAddress: pair.server.address(0), rkey: pair.server.region.rkey, flags: []))
        #expect(eventually { pair.server.device.counters.rnrNaksSent >= 1 })
        #expect(pair.client.sendCQ.count == 0)
        return pair
    }

    @Test("post_send beyond max_send_wr or max_send_sge throws and posts nothing")
    func sendQueueLimits() throws {
        let device = Device(name: "softroce-sq-full")
        defer { device.close() }
        let client = try Endpoint(device: device, bufferSize: 1 << 16, depth: 4)
        let server = try Endpoint(device: device, bufferSize: 1 << 16, depth: 4)
        // No receive at the server and a 655 ms RNR timer: the SENDs stay queued.
        try client.connect(to: server, minRNRTimer: 0)
        try server.connect(to: client, minRNRTimer: 0)
        for index in 0..<4 {
            try client.qp.postSend(.send(id: UInt64(index), scatterGatherList: [client.sge(0, 8)]))
        }
        let full = #expect(throws: VerbsError.self) { try client.qp.postSend(.send(id: 4, scatterGatherList: [client.sge(0, 8)])) }
        #expect(full?.code == .sendQueueFull)
        let sges = #expect(throws: VerbsError.self) {
            try client.qp.postSend(.send(id: 5, scatterGatherList: (0..<5).map { client.sge($0 * 8, 8) }))
        }
        #expect(sges?.code == .tooManyScatterGatherElements)
        try client.qp.modify(QueuePairAttributes(state: .error))
        let flushed = client.waitSend(4)
        #expect(flushed.map(\.wrID) == [0, 1, 2, 3], "the rejected posts left nothing in the queue")
        #expect(flushed.allSatisfy { $0.status == .workRequestFlushError })
        #expect(client.sendCQ.count == 0)
    }

    @Test("RTS → ERR by modify flushes every outstanding send and receive", arguments: [false, true])
    func modifyToErrorFlushes(twoDevices: Bool) throws {
        let (client, server) = try Self.stuckPair(twoDevices: twoDevices)
        defer { shutDown(client, server) }
        try client.qp.postReceive(ReceiveWorkRequest(id: 50, scatterGatherList: [client.sge(8192, 64)]))
        try client.qp.postReceive(ReceiveWorkRequest(id: 51, scatterGatherList: [client.sge(8192, 64)]))
        try client.qp.modify(QueuePairAttributes(state: .error))
        #expect(client.qp.state == .error)

        let sent = client.waitSend(3)
        #expect(sent.map(\.wrID) == [1, 2, 3], "flushed in posting order, unsignaled ones included")
        #expect(sent.allSatisfy { $0.status == .workRequestFlushError && $0.qpNumber == client.qp.number })
        let received = client.waitReceive(2)
        #expect(received.map(\.wrID) == [50, 51])
        #expect(received.allSatisfy { $0.status == .workRequestFlushError })

        // Receives posted in ERR flush at once.
        try client.qp.postReceive(ReceiveWorkRequest(id: 52, scatterGatherList: [client.sge(8192, 64)]))
        let late = client.waitReceive()
        #expect(late.map(\.wrID) == [52])
        #expect(late.first?.status == .workRequestFlushError)
        #expect(client.sendCQ.count == 0 && client.receiveCQ.count == 0)
    }

    @Test("RESET empties both queues without completions; the QP can be brought up again", arguments: [false, true])
    func resetEmptiesQueues(twoDevices: Bool) throws {
        let (client, server) = try Self.stuckPair(twoDevices: twoDevices)
        defer { shutDown(client, server) }
        try client.qp.postReceive(ReceiveWorkRequest(id: 50, scatterGatherList: [client.sge(8192, 64)]))
        try client.qp.modify(QueuePairAttributes(state: .reset))
        #expect(client.qp.state == .reset)
        #expect(client.sendCQ.count == 0 && client.receiveCQ.count == 0, "RESET generates no completion")
        #expect(throws: VerbsError.self) { try client.qp.postSend(.send(id: 9, scatterGatherList: [client.sge(0, 8)])) }

        // Back up: the old send and receive queues are gone for good.
        try client.connect(to: server)
        try client.qp.postReceive(ReceiveWorkRequest(id: 51, scatterGatherList: [client.sge(8192, 64)]))
        try server.qp.postReceive(ReceiveWorkRequest(id: 60, scatterGatherList: [server.sge(0, 64)]))
        client.buffer.write([4, 3, 2, 1], at: 0)
        try client.qp.postSend(.send(id: 7, scatterGatherList: [client.sge(0, 4)]))
        let sent = client.waitSend()
        #expect(sent.map(\.wrID) == [7])
        #expect(sent.first?.status == .success)
        let serverReceived = server.waitReceive()
        #expect(serverReceived.map(\.wrID) == [60])
        #expect(mismatch(server.buffer.read(at: 0, count: 4), [4, 3, 2, 1]) == nil)

        server.buffer.write([5, 5], at: 1000)
        try server.qp.postSend(.send(id: 8, scatterGatherList: [server.sge(1000, 2)]))
        let received = client.waitReceive()
        #expect(received.map(\.wrID) == [51], "the receive posted before RESET is gone")
        #expect(received.first?.status == .success)
        #expect(client.sendCQ.count == 0 && client.receiveCQ.count == 0)
    }

    @Test("destroy() with WRs outstanding does not crash; the peer's later ops fail with RETRY_EXC_ERR", arguments: [false, true])
    func destroyWithOutstandingWork(twoDevices: Bool) throws {
        let (client, server) = try connectedPair(twoDevices: twoDevices, timeout: 8, retry: 2)
        defer { shutDown(client, server) }
        let count = 200
        for index in 0..<count {
            try client.qp.postSend(.rdmaWrite(
                id: UInt64(index), scatterGatherList: [client.sge(0, 65536)], remoteAddress: server.address((index % 8) * 65536), rkey: server.region.rkey))
        }
        client.qp.destroy()
        client.qp.destroy()
        #expect(client.qp.state == .error)
        // Whatever completes is a success or a flush, in posting order.
        let completions = client.waitSend(count, timeout: .seconds(5))
        #expect(completions.allSatisfy { $0.status == .success || $0.status == .workRequestFlushError }, "\(Set(statuses(completions)))")
        #expect(completions.map(\.wrID) == (0..<UInt64(completions.count)).map { $0 })
        if let firstFlush = completions.firstIndex(where: { $0.status != .success }) {
            #expect(completions[firstFlush...].allSatisfy { $0.status == .workRequestFlushError }, "no success after the first flush")
        }
        // Posting to a destroyed QP neither crashes nor succeeds.
        do {
            try client.qp.postSend(.rdmaWrite(id: 1000, scatterGatherList: [client.sge(0, 8)], remoteAddress: server.address(0), rkey: server.region.rkey))
            let late = client.waitSend(1, timeout: .seconds(2))
            #expect(late.allSatisfy { $0.wrID == 1000 && $0.status == .workRequestFlushError })
        } catch {
            #expect(error is VerbsError)
        }

        // The peer talks to a QP that no longer exists: its packets are dropped, retries run out.
        let droppedBefore = client.device.counters.droppedPackets
        try server.qp.postSend(.rdmaWrite(id: 1, scatterGatherList: [server.sge(0, 64)], remoteAddress: client.address(0), rkey: client.region.rkey))
        try server.qp.postSend(.send(id: 2, scatterGatherList: [server.sge(0, 64)]))
        let peer = server.waitSend(2)
        try #require(peer.count == 2, "peer completions: \(statuses(peer))")
        #expect(peer[0].status == .retryExceededError)
        #expect(peer[1].status == .workRequestFlushError)
        #expect(server.qp.state == .error)
        #expect(client.device.counters.droppedPackets > droppedBefore, "packets for the destroyed QP are dropped and counted")
    }

    @Test("Destroying the responder's QP mid-stream fails the requester cleanly", arguments: [false, true])
    func destroyResponder(twoDevices: Bool) throws {
        let (client, server) = try connectedPair(twoDevices: twoDevices, timeout: 8, retry: 2)
        defer { shutDown(client, server) }
        let count = 200
        for index in 0..<count {
            try client.qp.postSend(.rdmaWrite(
                id: UInt64(index), scatterGatherList: [client.sge(0, 65536)], remoteAddress: server.address((index % 8) * 65536), rkey: server.region.rkey))
        }
        server.qp.destroy()
        let completions = client.waitSend(count, timeout: .seconds(10))
        try #require(completions.count == count, "completions: \(completions.count) \(Set(statuses(completions)))")
        #expect(completions.map(\.wrID) == (0..<UInt64(count)).map { $0 })
        let firstFailure = completions.firstIndex { $0.status != .success } ?? count
        if firstFailure < count {
            #expect(completions[firstFailure].status == .retryExceededError)
            #expect(completions[(firstFailure + 1)...].allSatisfy { $0.status == .workRequestFlushError })
            #expect(client.qp.state == .error)
        }
        // A new operation now certainly meets the destroyed QP.
        if client.qp.state != .error {
            try client.qp.postSend(.rdmaWrite(id: 999, scatterGatherList: [client.sge(0, 8)], remoteAddress: server.address(0), rkey: server.region.rkey))
            #expect(client.waitSend().first?.status == .retryExceededError)
        }
        #expect(client.qp.state == .error)
    }

    @Test("close() of a device with work outstanding on its QPs does not crash")
    func closeDeviceWithWork() throws {
        let (client, server) = try connectedPair(twoDevices: true, timeout: 8, retry: 1)
        for index in 0..<100 {
            try client.qp.postSend(.rdmaWrite(id: UInt64(index), scatterGatherList: [client.sge(0, 65536)], remoteAddress: server.address(0), rkey: server.region.rkey))
        }
        server.device.close()
        let completions = client.waitSend(100, timeout: .seconds(10))
        #expect(completions.count == 100)
        #expect(completions.allSatisfy { [.success, .retryExceededError, .workRequestFlushError].contains($0.status) })
        client.device.close()
        #expect(client.qp.state == .error && server.qp.state == .error)
    }

    @Test("modify rejects a port the device lacks and a source GID index beyond its GID table")
    func portAndGIDIndex() throws {
        let device = Device(name: "softroce-state-port")
        defer { device.close() }
        let client = try Endpoint(device: device)
        let server = try Endpoint(device: device)
        var wrongPort = Self.initAttributes()
        wrongPort.portNumber = 2
        let portError = #expect(throws: VerbsError.self) { try client.qp.modify(wrongPort) }
        #expect(portError?.code == .invalidAttributeValue)
        #expect(client.qp.state == .reset)
        try client.qp.modify(Self.initAttributes())
        var wrongIndex = Self.rtrAttributes(to: server)
        wrongIndex.addressVector?.sourceGIDIndex = 1
        let indexError = #expect(throws: VerbsError.self) { try client.qp.modify(wrongIndex) }
        #expect(indexError?.code == .invalidAttributeValue)
        #expect(client.qp.state == .initialized)
        try client.qp.modify(Self.rtrAttributes(to: server))
        #expect(client.qp.state == .readyToReceive)
    }

    @Test("on a CQ shared by both queues, a SEND's RETRY_EXC_ERR comes before the receives' flushes")
    func failedSendBeforeFlushedReceives() throws {
        let fabric = InProcessFabric(subnet: 215)
        let first = Device(name: "softroce-state-a", link: fabric)
        let second = Device(name: "softroce-state-b", link: fabric)
        defer { first.close(); second.close() }
        let pd = first.allocateProtectionDomain()
        let cq = try first.createCompletionQueue(capacity: 16)
        let qp = try first.createQueuePair(
            type: .rc, protectionDomain: pd, sendCompletionQueue: cq, receiveCompletionQueue: cq,
            capabilities: QueuePairCapabilities(maxSendWR: 4, maxReceiveWR: 4, maxSendSGE: 1, maxReceiveSGE: 1))
        let buffer = try AnonymousMemory(length: 8192)
        let region = try pd.registerMemoryRegion(address: buffer.address, length: 8192, access: [.localWrite])
        let server = try Endpoint(device: second)
        try qp.modify(Self.initAttributes())
        try qp.modify(Self.rtrAttributes(to: server))
        try qp.modify(QueuePairAttributes(state: .readyToSend, sqPSN: 100, timeout: AckTimeout(code: 8), retryCount: 1, rnrRetry: 7, maxReadAtomic: 1))
        for id in 10..<13 {
            try qp.postReceive(ReceiveWorkRequest(id: UInt64(id), scatterGatherList: [ScatterGatherElement(address: buffer.address, length: 4096, lkey: region.lkey)]))
        }
        fabric.lossRate = 1
        try qp.postSend(.send(id: 1, scatterGatherList: [ScatterGatherElement(address: buffer.address + 4096, length: 64, lkey: region.lkey)]))
        var completions: [WorkCompletion] = []
        #expect(eventually { completions += cq.poll(maxEntries: 8); return completions.count == 4 })
        #expect(completions.map(\.wrID) == [1, 10, 11, 12])
        #expect(statuses(completions) == [.retryExceededError, .workRequestFlushError, .workRequestFlushError, .workRequestFlushError])
    }
}
