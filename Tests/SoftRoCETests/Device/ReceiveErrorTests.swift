import SoftRoCE
import SoftRoCEMemory
import Testing

/// DESIGN.md §4, receive-side rows: a receive buffer too small (LOC_LEN_ERR at the responder,
/// REM_INV_REQ_ERR at the requester), a receive buffer the responder may not write (LOC_PROT_ERR
/// there, REM_OP_ERR at the requester), and no receive posted (RNR NAKs; RNR_RETRY_EXC_ERR once
/// `rnr_retry` 0…6 is used up, eventual success with `rnr_retry` 7).
@Suite("Receive-side errors and RNR", .timeLimit(.minutes(3)))
struct ReceiveErrorTests {
    /// Message length and receive room: one packet, several packets, one byte over a packet.
    static let tooSmall: [(message: Int, room: Int)] = [(200, 100), (5000, 2000), (1025, 1024)]

    @Test("A receive too small: LOC_LEN_ERR at the responder, REM_INV_REQ_ERR at the requester", arguments: Layout.symmetric, tooSmall)
    func receiveTooSmall(layout: Layout, sizes: (message: Int, room: Int)) throws {
        let (client, server) = try connectedPair(layout)
        defer { shutDown(client, server) }
        client.buffer.write(pattern(sizes.message, seed: 3), at: 0)
        try server.qp.postReceive(ReceiveWorkRequest(id: 10, scatterGatherList: [server.sge(0, sizes.room / 2), server.sge(8192, sizes.room - sizes.room / 2)]))
        try server.qp.postReceive(ReceiveWorkRequest(id: 11, scatterGatherList: [server.sge(16384, 8192)]))
        try client.qp.postSend(.send(id: 1, scatterGatherList: [client.sge(0, sizes.message)], immediateData: 9))
        try client.qp.postSend(.send(id: 2, scatterGatherList: [client.sge(0, 8)]))

        let received = server.waitReceive(2)
        try #require(received.count == 2, "receive completions: \(statuses(received))")
        #expect(received[0].wrID == 10)
        #expect(received[0].status == .localLengthError)
        #expect(received[1].wrID == 11)
        #expect(received[1].status == .workRequestFlushError, "the responder QP is in ERR: its other receives flush")
        #expect(server.qp.state == .error)

        let sent = client.waitSend(2)
        try #require(sent.count == 2, "send completions: \(statuses(sent))")
        #expect(sent[0].wrID == 1)
        #expect(sent[0].status == .remoteInvalidRequestError)
        #expect(sent[1].wrID == 2)
        #expect(sent[1].status == .workRequestFlushError)
        #expect(client.qp.state == .error)
    }

    @Test("A receive buffer without LOCAL_WRITE: LOC_PROT_ERR at the responder, REM_OP_ERR at the requester", arguments: Layout.symmetric)
    func receiveWithoutLocalWrite(layout: Layout) throws {
        let (client, server) = try connectedPair(layout)
        defer { shutDown(client, server) }
        let readOnly = try server.register(0, 8192, access: [.remoteRead])
        server.buffer.fill(0xEE, count: 8192)
        try server.qp.postReceive(ReceiveWorkRequest(id: 10, scatterGatherList: [server.sge(0, 4096, lkey: readOnly.lkey)]))
        try client.qp.postSend(.send(id: 1, scatterGatherList: [client.sge(0, 100)]))
        try client.qp.postSend(.send(id: 2, scatterGatherList: [client.sge(0, 8)]))

        let received = server.waitReceive()
        try #require(received.count == 1)
        #expect(received[0].wrID == 10)
        #expect(received[0].status == .localProtectionError)
        #expect(server.qp.state == .error)
        let sent = client.waitSend(2)
        try #require(sent.count == 2, "send completions: \(statuses(sent))")
        #expect(sent[0].status == .remoteOperationError)
        #expect(sent[1].status == .workRequestFlushError)
        #expect(client.qp.state == .error)
        #expect(mismatch(server.buffer.read(at: 0, count: 100), [UInt8](repeating: 0xEE, count: 100)) == nil)
    }

    @Test("No receive posted: RNR_RETRY_EXC_ERR once rnr_retry is used up", arguments: [UInt8(0), 1, 3, 6], [false, true])
    func rnrRetryExceeded(rnrRetry: UInt8, withImmediate: Bool) throws {
        let (client, server) = try connectedPair(twoDevices: true, rnrRetry: rnrRetry, minRNRTimer: 1)
        defer { shutDown(client, server) }
        if withImmediate {
            try client.qp.postSend(.rdmaWrite(id: 1, scatterGatherList: [client.sge(0, 64)], remoteAddress: server.address(0), rkey: server.region.rkey, immediateData: 1))
        } else {
            try client.qp.postSend(.send(id: 1, scatterGatherList: [client.sge(0, 64)]))
        }
        try client.qp.postSend(.rdmaWrite(id: 2, scatterGatherList: [client.sge(0, 64)], remoteAddress: server.address(0), rkey: server.region.rkey))

        let sent = client.waitSend(2)
        try #require(sent.count == 2, "send completions: \(statuses(sent))")
        #expect(sent[0].wrID == 1)
        #expect(sent[0].status == .rnrRetryExceededError)
        #expect(sent[1].wrID == 2)
        #expect(sent[1].status == .workRequestFlushError)
        #expect(client.qp.state == .error)
        // One RNR NAK for the first attempt and one for each of the `rnrRetry` retries.
        #expect(server.device.counters.rnrNaksSent == Int(rnrRetry) + 1)
        #expect(client.device.counters.rnrNaksReceived == Int(rnrRetry) + 1)
        #expect(server.qp.state == .readyToSend, "RNR is not an error at the responder")
        #expect(server.receiveCQ.count == 0)
    }

    @Test("rnr_retry 7 retries until a receive is posted, then the SEND succeeds", arguments: Layout.symmetric, [false, true])
    func rnrInfiniteRetrySucceeds(layout: Layout, withImmediate: Bool) throws {
        let (client, server) = try connectedPair(layout, rnrRetry: 7, minRNRTimer: 1)
        defer { shutDown(client, server) }
        let data = pattern(5000, seed: 8)
        client.buffer.write(data, at: 0)
        let sentBefore = server.device.counters.rnrNaksSent
        let receivedBefore = client.device.counters.rnrNaksReceived
        if withImmediate {
            try client.qp.postSend(.rdmaWrite(id: 1, scatterGatherList: [client.sge(0, 5000)], remoteAddress: server.address(100_000), rkey: server.region.rkey, immediateData: 0xCAFE))
        } else {
            try client.qp.postSend(.send(id: 1, scatterGatherList: [client.sge(0, 5000)], immediateData: 0xCAFE))
        }
        // Wait until the responder has turned the request away a few times, then post the receive.
        #expect(eventually { server.device.counters.rnrNaksSent - sentBefore >= 3 })
        #expect(client.sendCQ.count == 0, "the SEND is still waiting")
        try server.qp.postReceive(ReceiveWorkRequest(id: 50, scatterGatherList: [server.sge(0, 8192)]))

        let sent = client.waitSend()
        let received = server.waitReceive()
        try #require(sent.count == 1 && received.count == 1)
        #expect(sent[0].status == .success)
        #expect(received[0].status == .success)
        #expect(received[0].wrID == 50)
        #expect(received[0].immediateData == 0xCAFE)
        #expect(received[0].byteLength == 5000)
        #expect(received[0].opcode == (withImmediate ? .receiveRDMAWithImmediate : .receive))
        #expect(mismatch(server.buffer.read(at: withImmediate ? 100_000 : 0, count: 5000), data) == nil)
        #expect(client.device.counters.rnrNaksReceived - receivedBefore >= 3)
        #expect(client.qp.state == .readyToSend)
    }

    @Test("RNR on the last run of a multi-run WRITE with immediate / SEND, then success", arguments: Layout.symmetric, [false, true])
    func rnrOnMultiRunMessage(layout: Layout, withImmediate: Bool) throws {
        let size = (5 << 19) + 3
        let (client, server) = try connectedPair(layout, bufferSize: 8 << 20, rnrRetry: 7, minRNRTimer: 1)
        defer { shutDown(client, server) }
        let data = pattern(size, seed: 44)
        client.buffer.write(data, at: 0)
        if withImmediate {
            try client.qp.postSend(.rdmaWrite(id: 1, scatterGatherList: [client.sge(0, size)], remoteAddress: server.address(1 << 20), rkey: server.region.rkey, immediateData: 0xBEEF))
        } else {
            try client.qp.postSend(.send(id: 1, scatterGatherList: [client.sge(0, size)]))
        }
        #expect(eventually { server.device.counters.rnrNaksSent >= 2 })
        try server.qp.postReceive(ReceiveWorkRequest(id: 9, scatterGatherList: [server.sge(1 << 20, 4 << 20)]))
        let sent = client.waitSend()
        let received = server.waitReceive()
        try #require(sent.count == 1 && received.count == 1)
        #expect(sent[0].status == .success)
        #expect(received[0].status == .success)
        #expect(received[0].byteLength == UInt32(size))
        #expect(received[0].opcode == (withImmediate ? .receiveRDMAWithImmediate : .receive))
        #expect(mismatch(server.buffer.read(at: 1 << 20, count: size), data) == nil)
        #expect(server.receiveCQ.count == 0)
    }
}
