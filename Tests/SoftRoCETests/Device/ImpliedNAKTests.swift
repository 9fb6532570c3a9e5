import SoftRoCE
import SoftRoCEMemory
import SoftRoCEWire
import Testing

/// A response to a later request acknowledges the requests before it, except a READ or ATOMIC
/// whose response went missing (an implied NAK): that one is asked again, and its retransmission
/// timer must keep running until it is answered, however many of those asks are lost.
@Suite("Implied NAK: a READ or ATOMIC whose response is lost behind a later one", .timeLimit(.minutes(3)))
struct ImpliedNAKTests {
    /// Which request goes first (its response and then its first re-ask are lost) and which
    /// follows (answered at once).
    enum Order: String, CaseIterable, Sendable, CustomTestStringConvertible {
        case readThenAtomic, atomicThenRead
        var testDescription: String { rawValue }
        /// The runs to drop: the first one's response, and the second run of its request (the
        /// re-ask the later response triggers).
        var drops: [Opcode: Set<Int>] {
            switch self {
            case .readThenAtomic: [.rcRDMAReadResponseOnly: [1], .rcRDMAReadRequest: [2]]
            case .atomicThenRead: [.rcAtomicAcknowledge: [1], .rcFetchAdd: [2]]
            }
        }
    }

    @Test("The first response and its re-ask are lost, the later one arrives: both complete, the ATOMIC applied once", arguments: Order.allCases)
    func lostResponseBehindLaterOne(order: Order) throws {
        let link = ScriptedLossLink(fabric: InProcessFabric(subnet: 212), drop: order.drops)
        let first = Device(name: "softroce-a", link: link)
        let second = Device(name: "softroce-b", link: link)
        let client = try Endpoint(device: first)
        let server = try Endpoint(device: second)
        defer { shutDown(client, server) }
        // timeout code 8: about 1 ms per retransmission timeout.
        try client.connect(to: server, mtu: .mtu1024, timeout: 8, retry: 7, rnrRetry: 7, minRNRTimer: 1)
        try server.connect(to: client, mtu: .mtu1024, timeout: 8, retry: 7, rnrRetry: 7, minRNRTimer: 1)
        let data = pattern(512, seed: 5)
        server.buffer.write(data, at: 4096)
        server.buffer.storeUInt64(41, at: 8192)

        let read = SendWorkRequest.rdmaRead(
            id: 0, scatterGatherList: [client.sge(0, 512)], remoteAddress: server.address(4096), rkey: server.region.rkey)
        let atomic = SendWorkRequest.atomicFetchAndAdd(
            id: 0, result: client.sge(1024, 8), remoteAddress: server.address(8192), rkey: server.region.rkey, add: 1)
        var requests = order == .readThenAtomic ? [read, atomic] : [atomic, read]
        for index in requests.indices {
            requests[index].id = UInt64(index + 1)
            try client.qp.postSend(requests[index])
        }
        let completions = client.waitSend(2, timeout: .seconds(10))
        #expect(completions.map(\.wrID) == [1, 2], "both complete, in order: \(completions.map(\.wrID))")
        #expect(completions.allSatisfy { $0.status == .success }, "\(completions.map(\.status))")
        #expect(client.buffer.read(at: 0, count: 512) == data, "the READ's data arrived")
        #expect(client.buffer.loadUInt64(at: 1024) == 41, "the ATOMIC's original value")
        #expect(server.buffer.loadUInt64(at: 8192) == 42, "the ATOMIC applied once")
        #expect(client.device.counters.retransmits >= 1)
    }
}
