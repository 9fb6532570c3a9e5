import SoftRoCE
import SoftRoCEMemory
import Testing

private let page = Host.pageSize

/// One work request whose scatter/gather list mixes a pinned region and an ODP region
/// (test_odp.py's mixed-MR traffic): the pinned elements never fault, the ODP ones fault on
/// first touch, and the message is assembled or scattered byte for byte in SGE order.
@Suite("ODP faults: pinned and ODP elements in one work request", .timeLimit(.minutes(3)))
struct MixedRegionTests {
    /// Each side: an ODP region over its whole buffer (the endpoint's) plus a pinned region over
    /// the buffer's first half. Pinned elements lie in the first half, ODP elements in the second
    /// (never locked, so they fault on first touch).
    struct Setup {
        let client: Endpoint
        let server: Endpoint
        let clientPinned: MemoryRegion
        let serverPinned: MemoryRegion
        static let odpStart = 512 * 1024

        init(twoDevices: Bool) throws {
            (client, server) = try connectedPair(twoDevices: twoDevices, onDemand: (true, true))
            let access: AccessFlags = [.localWrite, .remoteWrite, .remoteRead]
            clientPinned = try client.register(0, Self.odpStart, access: access, onDemand: false)
            serverPinned = try server.register(0, Self.odpStart, access: access, onDemand: false)
        }

        var clientODP: MemoryRegion { client.region }
        var serverODP: MemoryRegion { server.region }

        /// An element of `endpoint`'s buffer at `offset`, through the ODP region or the pinned one.
        func element(_ endpoint: Endpoint, odp: Bool, _ offset: Int, _ length: Int) -> ScatterGatherElement {
            let region = odp ? endpoint.region : (endpoint === client ? clientPinned : serverPinned)
            return endpoint.sge(odp ? Self.odpStart + offset : offset, length, lkey: region.lkey)
        }

        func close() { shutDown(client, server) }
    }

    /// Element sizes chosen to cross pages and packets (MTU 1024) at odd places.
    static let sizes = [page + 333, 2 * page + 17, 901]

    /// The elements: alternating pinned / ODP, starting with `odpFirst`'s kind.
    static func list(_ setup: Setup, _ endpoint: Endpoint, odpFirst: Bool, base: Int) -> [ScatterGatherElement] {
        sizes.enumerated().map { index, size in
            setup.element(endpoint, odp: (index % 2 == 0) == odpFirst, base + index * 4 * page + 50, size)
        }
    }

    static func fill(_ list: [ScatterGatherElement], of endpoint: Endpoint, seed: UInt8) -> [UInt8] {
        var message: [UInt8] = []
        for (index, sge) in list.enumerated() {
            let bytes = pattern(Int(sge.length), seed: seed &+ UInt8(index))
            endpoint.buffer.write(bytes, at: Int(sge.address - endpoint.buffer.address))
            message += bytes
        }
        return message
    }

    static func gather(_ list: [ScatterGatherElement], of endpoint: Endpoint) -> [UInt8] {
        list.flatMap { endpoint.buffer.read(at: Int($0.address - endpoint.buffer.address), count: Int($0.length)) }
    }

    @Test("SEND gathers pinned + ODP and the receive scatters into pinned + ODP", arguments: [false, true], [false, true])
    func send(twoDevices: Bool, odpFirst: Bool) throws {
        let setup = try Setup(twoDevices: twoDevices)
        defer { setup.close() }
        let source = Self.list(setup, setup.client, odpFirst: odpFirst, base: 0)
        let target = Self.list(setup, setup.server, odpFirst: !odpFirst, base: 64 * page)
        let message = Self.fill(source, of: setup.client, seed: 10)
        try setup.server.qp.postReceive(ReceiveWorkRequest(id: 9, scatterGatherList: target))
        let completion = try setup.client.run(.send(id: 1, scatterGatherList: source))
        #expect(completion?.status == .success)
        let received = setup.server.waitReceive()
        #expect(received.first?.status == .success)
        #expect(received.first?.byteLength == UInt32(message.count))
        #expect(mismatch(Self.gather(target, of: setup.server), message) == nil)
        #expect(regionFaults(setup.clientODP).faults > 0, "the ODP source element faulted")
        #expect(regionFaults(setup.serverODP).faults > 0, "the ODP receive element faulted")
    }

    @Test("WRITE gathers pinned + ODP elements into an ODP target", arguments: [false, true], [false, true])
    func write(twoDevices: Bool, odpFirst: Bool) throws {
        let setup = try Setup(twoDevices: twoDevices)
        defer { setup.close() }
        let source = Self.list(setup, setup.client, odpFirst: odpFirst, base: 0)
        let message = Self.fill(source, of: setup.client, seed: 20)
        let remote = setup.server.address(Setup.odpStart + 10 * page + 7)
        let completion = try setup.client.run(.rdmaWrite(id: 1, scatterGatherList: source, remoteAddress: remote, rkey: setup.serverODP.rkey))
        #expect(completion?.status == .success)
        #expect(mismatch(setup.server.buffer.read(at: Setup.odpStart + 10 * page + 7, count: message.count), message) == nil)
        // And into the pinned target with the same mixed source.
        let again = Self.fill(source, of: setup.client, seed: 21)
        #expect(try setup.client.run(.rdmaWrite(id: 2, scatterGatherList: source, remoteAddress: setup.server.address(3 * page + 1), rkey: setup.serverPinned.rkey))?.status == .success)
        #expect(mismatch(setup.server.buffer.read(at: 3 * page + 1, count: again.count), again) == nil)
        #expect(regionFaults(setup.clientODP).faults > 0)
        #expect(regionFaults(setup.serverODP).faults > 0)
    }

    @Test("READ scatters into pinned + ODP elements", arguments: [false, true], [false, true])
    func read(twoDevices: Bool, odpFirst: Bool) throws {
        let setup = try Setup(twoDevices: twoDevices)
        defer { setup.close() }
        let destination = Self.list(setup, setup.client, odpFirst: odpFirst, base: 32 * page)
        let total = destination.reduce(0) { $0 + Int($1.length) }
        let data = pattern(total, seed: 30)
        setup.server.buffer.write(data, at: Setup.odpStart + 20 * page + 3)
        for sge in destination { setup.client.buffer.fill(0xEE, at: Int(sge.address - setup.client.buffer.address), count: Int(sge.length)) }
        let completion = try setup.client.run(.rdmaRead(
            id: 1, scatterGatherList: destination, remoteAddress: setup.server.address(Setup.odpStart + 20 * page + 3), rkey: setup.serverODP.rkey))
        #expect(completion?.status == .success)
        #expect(completion?.byteLength == UInt32(total))
        #expect(mismatch(Self.gather(destination, of: setup.client), data) == nil)
        #expect(regionFaults(setup.clientODP).faults > 0, "the ODP destination element faulted")
        #expect(regionFaults(setup.serverODP).faults > 0, "the ODP source faulted at the responder")
    }
}
