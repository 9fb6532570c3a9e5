import SoftRoCE
import SoftRoCEMemory
import SoftRoCEUDP
import SoftRoCEWire
import Testing

/// RoCEv2 over UDP between two devices, each on its own link and loopback address: every
/// operation crosses real sockets as single packets of the path MTU, in rxe's wire format.
@Suite("RoCEv2 over UDP", .timeLimit(.minutes(3)))
struct UDPLinkTests {
    static let sizes = [0, 1, 1000, 1024, 4097, 65536]

    @Test("WRITE, READ back and SEND with immediate round-trip byte for byte", arguments: [false, true], sizes)
    func roundTrip(onDemand: Bool, size: Int) throws {
        let (client, server, links) = try udpPair(onDemand: onDemand)
        defer { shutDown(client, server) }
        let data = pattern(size, seed: 5)
        client.buffer.write(data, at: 0)
        try client.qp.postSend(.rdmaWrite(
            id: 1, scatterGatherList: [client.sge(0, size)], remoteAddress: server.address(100_000), rkey: server.region.rkey))
        try client.qp.postSend(.rdmaRead(
            id: 2, scatterGatherList: [client.sge(200_000, size)], remoteAddress: server.address(100_000), rkey: server.region.rkey))
        try server.qp.postReceive(ReceiveWorkRequest(id: 9, scatterGatherList: [server.sge(300_000, 70_000)]))
        try client.qp.postSend(.send(id: 3, scatterGatherList: [client.sge(0, size)], immediateData: 0xC0FFEE))
        let sent = client.waitSend(3)
        let received = server.waitReceive()
        #expect(sent.map(\.wrID) == [1, 2, 3])
        #expect(statuses(sent) == [.success, .success, .success])
        #expect(mismatch(server.buffer.read(at: 100_000, count: size), data) == nil)
        #expect(mismatch(client.buffer.read(at: 200_000, count: size), data) == nil)
        try #require(received.count == 1)
        #expect(received[0].status == .success)
        #expect(received[0].byteLength == UInt32(size))
        #expect(received[0].immediateData == 0xC0FFEE)
        #expect(mismatch(server.buffer.read(at: 300_000, count: size), data) == nil)
        // One datagram per packet of at most the path MTU (1024 bytes): WRITE, READ and SEND
        // each take ceil(size / 1024) packets (at least one), plus acknowledgements.
        // (A peer may answer a datagram before its sender has counted it: wait for the counts.)
        let packets = max(1, (size + 1023) / 1024)
        #expect(eventually { links.0.counters.sentPackets >= 2 * packets + 1 && links.1.counters.sentPackets >= packets })
        let counters = (links.0.counters, links.1.counters)
        #expect(counters.0.icrcErrors == 0 && counters.1.icrcErrors == 0)
        #expect(counters.0.malformedPackets == 0 && counters.1.malformedPackets == 0)
    }

    @Test("FETCH_AND_ADD and CMP_AND_SWP apply once and return the original value", arguments: [false, true])
    func atomics(onDemand: Bool) throws {
        let (client, server, _) = try udpPair(onDemand: onDemand)
        defer { shutDown(client, server) }
        server.buffer.storeUInt64(40, at: 8)
        try client.qp.postSend(.atomicFetchAndAdd(id: 1, result: client.sge(0, 8), remoteAddress: server.address(8), rkey: server.region.rkey, add: 2))
        try client.qp.postSend(.atomicCompareAndSwap(
            id: 2, result: client.sge(16, 8), remoteAddress: server.address(8), rkey: server.region.rkey, compare: 42, swap: 7))
        let sent = client.waitSend(2)
        #expect(statuses(sent) == [.success, .success])
        #expect(client.buffer.loadUInt64(at: 0) == 40)
        #expect(client.buffer.loadUInt64(at: 16) == 42)
        #expect(server.buffer.loadUInt64(at: 8) == 7)
    }

    @Test("UD SEND over UDP lands after the GRH area with the sender's QPN")
    func datagram() throws {
        let links = (try openLoopbackLink(), try openLoopbackLink())
        let client = try Endpoint(device: Device(name: "softroce-udp-a", link: links.0), type: .ud, bufferSize: 1 << 16)
        let server = try Endpoint(device: Device(name: "softroce-udp-b", link: links.1), type: .ud, bufferSize: 1 << 16)
        defer { shutDown(client, server) }
        try client.activateDatagram()
        try server.activateDatagram()
        let data = pattern(700, seed: 9)
        client.buffer.write(data, at: 0)
        try server.qp.postReceive(ReceiveWorkRequest(id: 4, scatterGatherList: [server.sge(0, 40 + 1024)]))
        let destination = DatagramDestination(
            addressHandle: AddressHandle(addressVector: AddressVector(destinationGID: server.device.gid)),
            remoteQPNumber: server.qp.number, remoteQKey: QKey(rawValue: 0x1111_1111))
        try client.qp.postSend(.datagramSend(id: 5, scatterGatherList: [client.sge(0, 700)], destination: destination))
        #expect(statuses(client.waitSend()) == [.success])
        let received = server.waitReceive()
        try #require(received.count == 1)
        #expect(received[0].status == .success)
        #expect(received[0].byteLength == 740)
        #expect(received[0].sourceQPNumber == client.qp.number)
        #expect(mismatch(server.buffer.read(at: 40, count: 700), data) == nil)
    }

    /// Network faults injected on both links.
    struct Faults: Sendable, CustomTestStringConvertible {
        var loss = 0.0
        var duplicate = 0.0
        var reorder = 0.0
        var testDescription: String { "loss \(loss), duplicate \(duplicate), reorder \(reorder)" }
        static let all = [Faults(loss: 0.1), Faults(duplicate: 0.1), Faults(reorder: 0.2), Faults(loss: 0.05, duplicate: 0.05, reorder: 0.1)]
    }

    @Test(
        "datagrams lost, duplicated or reordered each way: every WQE completes once, every byte arrives, each FETCH_AND_ADD applies once",
        arguments: [false, true], Faults.all)
    func faultyNetwork(onDemand: Bool, faults: Faults) throws {
        let (client, server, links) = try udpPair(onDemand: onDemand)
        defer { shutDown(client, server) }
        for link in [links.0, links.1] {
            link.lossRate = faults.loss
            link.duplicateRate = faults.duplicate
            link.reorderRate = faults.reorder
        }
        let messages = 16
        let size = 5000
        server.buffer.storeUInt64(1000, at: 1_040_000)
        for index in 0..<messages {
            client.buffer.write(pattern(size, seed: UInt8(index)), at: index * 8192)
            server.buffer.write(pattern(size, seed: UInt8(100 + index)), at: 524_288 + index * 8192)
            try server.qp.postReceive(ReceiveWorkRequest(id: UInt64(index), scatterGatherList: [server.sge(262_144 + index * 8192, 8192)]))
        }
        for index in 0..<messages {
            let id = UInt64(4 * index)
            try client.qp.postSend(.rdmaWrite(
                id: id, scatterGatherList: [client.sge(index * 8192, size)], remoteAddress: server.address(index * 8192),
                rkey: server.region.rkey))
            try client.qp.postSend(.rdmaRead(
                id: id + 1, scatterGatherList: [client.sge(524_288 + index * 8192, size)],
                remoteAddress: server.address(524_288 + index * 8192), rkey: server.region.rkey))
            try client.qp.postSend(.send(id: id + 2, scatterGatherList: [client.sge(index * 8192, size)]))
            try client.qp.postSend(.atomicFetchAndAdd(
                id: id + 3, result: client.sge(1_040_000 + index * 8, 8), remoteAddress: server.address(1_040_000), rkey: server.region.rkey, add: 1))
        }
        let sent = client.waitSend(4 * messages, timeout: .seconds(40))
        #expect(sent.map(\.wrID) == (0..<UInt64(4 * messages)).map { $0 })
        #expect(sent.allSatisfy { $0.status == .success })
        let received = server.waitReceive(messages, timeout: .seconds(10))
        #expect(received.map(\.wrID) == (0..<UInt64(messages)).map { $0 })
        #expect(received.allSatisfy { $0.status == .success && $0.byteLength == UInt32(size) })
        for index in 0..<messages {
            let data = pattern(size, seed: UInt8(index))
            #expect(mismatch(server.buffer.read(at: index * 8192, count: size), data) == nil)
            #expect(mismatch(server.buffer.read(at: 262_144 + index * 8192, count: size), data) == nil)
            #expect(mismatch(client.buffer.read(at: 524_288 + index * 8192, count: size), pattern(size, seed: UInt8(100 + index))) == nil)
        }
        #expect(server.buffer.loadUInt64(at: 1_040_000) == 1000 + UInt64(messages), "each FETCH_AND_ADD applied exactly once")
        let originals = (0..<messages).map { client.buffer.loadUInt64(at: 1_040_000 + $0 * 8) }
        #expect(originals == (0..<messages).map { 1000 + UInt64($0) }, "each returned the value before it")
        let counters = (links.0.counters, links.1.counters)
        #expect(counters.0.injectedLosses + counters.1.injectedLosses > 0 || faults.loss == 0)
        #expect(counters.0.injectedDuplicates + counters.1.injectedDuplicates > 0 || faults.duplicate == 0)
        #expect(counters.0.injectedReorders + counters.1.injectedReorders > 0 || faults.reorder == 0)
    }

    @Test(
        "warm ODP traffic over UDP: the data path's threads (engines and receive threads) take no kernel page fault",
        .disabled(if: sanitizerRuntimeActive, "sanitizer runtimes fault pages in on every thread"))
    func dataPathKernelFaults() throws {
        let (client, server, _) = try udpPair(onDemand: true)
        defer { shutDown(client, server) }
        func round(_ id: UInt64) throws {
            try server.qp.postReceive(ReceiveWorkRequest(id: id, scatterGatherList: [server.sge(600_000, 16384)]))
            try client.qp.postSend(.rdmaWrite(id: id, scatterGatherList: [client.sge(0, 16384)], remoteAddress: server.address(0), rkey: server.region.rkey))
            try client.qp.postSend(.rdmaRead(id: id + 1, scatterGatherList: [client.sge(200_000, 16384)], remoteAddress: server.address(300_000), rkey: server.region.rkey))
            try client.qp.postSend(.send(id: id + 2, scatterGatherList: [client.sge(0, 16384)]))
            #expect(statuses(client.waitSend(3)) == [.success, .success, .success])
            #expect(statuses(server.waitReceive()) == [.success])
        }
        // Warm: the first rounds fault the ODP pages in (on the workqueue) and grow the threads'
        // buffers and the allocator's arenas.
        for id in stride(from: UInt64(0), to: 30, by: 3) { try round(id) }
        let before = (client.device.counters.dataPathKernelFaults, server.device.counters.dataPathKernelFaults)
        let faultsBefore = client.device.counters.pageFaults + server.device.counters.pageFaults
        for id in stride(from: UInt64(100), to: 190, by: 3) { try round(id) }
        let after = (client.device.counters.dataPathKernelFaults, server.device.counters.dataPathKernelFaults)
        #expect(client.device.counters.pageFaults + server.device.counters.pageFaults == faultsBefore, "the measured rounds were warm")
        #expect(after.0 == before.0, "client: \(before.0) → \(after.0)")
        #expect(after.1 == before.1, "server: \(before.1) → \(after.1)")

        // The counter does see the receive thread: pages dropped behind the device's back (the ODP
        // entries still say mapped) fault under the responder, which runs on the server link's
        // receive thread, when the WRITE lands.
        try server.buffer.dropPages(at: 0, count: 16384)
        try round(500)
        #expect(server.device.counters.dataPathKernelFaults > after.1, "the server's receive thread took the WRITE's faults")
        #expect(client.device.counters.pageFaults + server.device.counters.pageFaults == faultsBefore, "no ODP fault: nothing was invalidated")
    }

    @Test("malformed and corrupted datagrams are dropped and counted; the connection carries on")
    func malformedDatagrams() throws {
        let (client, server, links) = try udpPair()
        defer { shutDown(client, server) }
        let intruder = try PlainUDPSocket(address: IPv4Address(uniqueLoopbackAddress())!)
        let target = links.1.localAddress
        intruder.send([1, 2, 3], to: target)  // too short for a BTH
        intruder.send([UInt8](repeating: 0xFF, count: 64), to: target)  // unsupported opcode
        // A well-formed ACK to the server's QP whose ICRC is wrong.
        var ack = TransportHeaders(bth: BTH(opcode: .rcAcknowledge, destinationQueuePair: server.qp.number, psn: 100))
        ack.aeth = AETH(syndrome: .ackUnlimited, msn: MessageSequenceNumber(rawValue: 0))
        var bytes: [UInt8] = []
        let network = NetworkHeaders.ipv4(IPv4Header(source: intruder.address, destination: target), UDPHeader(sourcePort: 4791))
        try RoCEPacket.encode(headers: ack, payload: [UInt8]().span, network: network, into: &bytes)
        bytes[bytes.count - 1] ^= 0x55
        intruder.send(bytes, to: target)
        #expect(eventually { links.1.counters.malformedPackets >= 2 && links.1.counters.icrcErrors >= 1 })

        let data = pattern(3000, seed: 2)
        client.buffer.write(data, at: 0)
        try client.qp.postSend(.rdmaWrite(id: 1, scatterGatherList: [client.sge(0, 3000)], remoteAddress: server.address(0), rkey: server.region.rkey))
        #expect(statuses(client.waitSend()) == [.success])
        #expect(mismatch(server.buffer.read(at: 0, count: 3000), data) == nil)
    }

    @Test("a datagram the link sends carries the ICRC of an IPv4 header with identification 0 and DF, as rxe's")
    func identificationTheKernelWrites() throws {
        let link = try openLoopbackLink()
        let peer = try PlainUDPSocket(address: IPv4Address(uniqueLoopbackAddress())!)
        var headers = TransportHeaders(bth: BTH(opcode: .rcRDMAWriteOnly, destinationQueuePair: QueuePairNumber(rawValue: 0x11), psn: 5))
        headers.reth = RETH(virtualAddress: 0x1000, remoteKey: 0x22, dmaLength: 9)
        var payload = pattern(9, seed: 4)
        MappedBytes.withBytes(of: &payload) {
            link.transmit(PacketRun(headers: headers, mtu: 1024, payloadLength: 9), payload: $0, from: link.assignGID(), to: GID(ipv4: peer.address.rawValue))
        }
        let datagram = try #require(peer.receive())
        #expect(datagram.sourcePort == link.port)
        let packet = try RoCEPacket(
            decoding: datagram.bytes.span,
            verifying: .ipv4(IPv4Header(source: link.localAddress, destination: peer.address), UDPHeader(sourcePort: datagram.sourcePort)))
        headers.bth.padCount = 3
        #expect(packet.headers == headers)
        #expect(Array(datagram.bytes[packet.payloadRange]) == payload)
        #expect(packet.padCount == 3)
    }

    @Test(
        "on the wire the kernel writes identification 0 and DF, and each packet's ICRC matches the headers as sent",
        .enabled(if: PacketCapture.isPermitted, "capturing packets needs CAP_NET_RAW"))
    func headersOnTheWire() throws {
        let capture = try PacketCapture()
        let (client, server, links) = try udpPair()
        defer { shutDown(client, server) }
        client.buffer.write(pattern(3000, seed: 8), at: 0)
        try client.qp.postSend(.rdmaWrite(id: 1, scatterGatherList: [client.sge(0, 3000)], remoteAddress: server.address(0), rkey: server.region.rkey))
        #expect(statuses(client.waitSend()) == [.success])
        for _ in 0..<3 {  // the WRITE's FIRST, MIDDLE and LAST packets
            let packet = try #require(capture.nextRoCEPacket(from: links.0.localAddress))
            let decodedIP = IPv4Header.decode(from: packet.span)
            let ip = try #require(decodedIP)
            let decodedUDP = UDPHeader.decode(from: packet.span, at: ip.headerLength)
            let udp = try #require(decodedUDP)
            #expect(ip.identification == 0)
            #expect(ip.dontFragment)
            let roce = Array(packet[(ip.headerLength + UDPHeader.byteCount)...])
            #expect(throws: Never.self) { _ = try RoCEPacket(decoding: roce.span, verifying: .ipv4(ip, udp)) }
        }
    }

    @Test("a link refuses an address that is not this host's, or one another link holds, with a typed error")
    func refusedAddresses() throws {
        #expect(throws: UDPLinkError.self) { try UDPLink(localAddress: "not-an-address") }
        #expect(throws: UDPLinkError.self) { try UDPLink(localAddress: "192.0.2.77") }  // TEST-NET-1: not local
        let link = try openLoopbackLink()
        #expect(throws: UDPLinkError.self) { try UDPLink(localAddress: link.localAddress.description) }
    }
}

@Suite("Local IPv4 addresses")
struct LocalAddressTests {
    @Test("the loopback address is listed last-resort, routes to itself and resolves by name")
    func loopback() {
        let loopback = IPv4Address(127, 0, 0, 1)
        let all = LocalAddresses.ipv4()
        #expect(all.contains(loopback))
        #expect(all.drop { $0.octets.0 != 127 }.allSatisfy { $0.octets.0 == 127 })  // non-loopback ones first
        #expect(LocalAddresses.source(toward: loopback) == loopback)
        #expect(LocalAddresses.resolve("localhost") == loopback)
        #expect(LocalAddresses.resolve("10.1.2.3") == IPv4Address(10, 1, 2, 3))
        #expect(LocalAddresses.resolve("no-such-host.invalid") == nil)
    }
}
