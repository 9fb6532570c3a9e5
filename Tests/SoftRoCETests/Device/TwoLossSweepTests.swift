import SoftRoCE
import SoftRoCEMemory
import SoftRoCEWire
import Testing

/// Every pair of lost runs in a short mixed RC stream: whichever two runs the link drops, every
/// WQE completes successfully and in order, every byte arrives, the receive completes once, and
/// each FETCH_AND_ADD applies exactly once. With ODP regions (fresh, so every first touch faults)
/// the losses also hit RNR NAKs and resume hints.
@Suite("Two lost runs anywhere in a mixed stream", .timeLimit(.minutes(3)))
struct TwoLossSweepTests {
    /// How the stream's messages go out.
    enum Shape: String, CaseIterable, Sendable, CustomTestStringConvertible {
        /// One packet per message, every WQE signaled (one acknowledgement asked for each).
        case singlePacket
        /// 256-byte MTU: WRITE, SEND and the READ's responses span several packets.
        case multiPacket
        /// Only the last WQE signaled: acknowledgements coalesce over the stream.
        case unsignaled
        var testDescription: String { rawValue }

        var mtu: PathMTU { self == .multiPacket ? .mtu256 : .mtu1024 }

        /// The opcodes of the runs the stream sends (a run is named by its first packet).
        var kinds: [Opcode] {
            let multi = self == .multiPacket
            return [
                multi ? .rcRDMAWriteFirst : .rcRDMAWriteOnly, multi ? .rcSendFirst : .rcSendOnly, .rcRDMAReadRequest,
                multi ? .rcRDMAReadResponseFirst : .rcRDMAReadResponseOnly, .rcFetchAdd, .rcAtomicAcknowledge, .rcAcknowledge,
            ]
        }
    }

    static let occurrences = [1, 2, 3]

    /// Runs the stream with `drops` lost; a description of what went wrong, or nil.
    static func stream(dropping drops: [Opcode: Set<Int>], shape: Shape, onDemand: Bool, subnet: UInt8) throws -> String? {
        try stream(ScriptedLossLink.Script(drop: drops), shape: shape, onDemand: onDemand, subnet: subnet)
    }

    /// Runs the stream through a link misbehaving as `script` says; a description of what went
    /// wrong, or nil.
    static func stream(
        _ script: ScriptedLossLink.Script, shape: Shape, onDemand: Bool, subnet: UInt8, timeout: Duration = .seconds(5)
    ) throws -> String? {
        let link = ScriptedLossLink(fabric: InProcessFabric(subnet: subnet), script: script)
        let client = try Endpoint(device: Device(name: "softroce-a", link: link), bufferSize: 1 << 17, onDemand: onDemand)
        let server = try Endpoint(device: Device(name: "softroce-b", link: link), bufferSize: 1 << 17, onDemand: onDemand)
        defer { shutDown(client, server) }
        try client.connect(to: server, mtu: shape.mtu, timeout: 8, retry: 7, rnrRetry: 7, minRNRTimer: 1)
        try server.connect(to: client, mtu: shape.mtu, timeout: 8, retry: 7, rnrRetry: 7, minRNRTimer: 1)
        let rounds = 2
        server.buffer.storeUInt64(100, at: 65536)
        for round in 0..<rounds {
            client.buffer.write(pattern(1000, seed: UInt8(round)), at: round * 4096)
            client.buffer.write(pattern(500, seed: UInt8(10 + round)), at: 16384 + round * 4096)
            server.buffer.write(pattern(512, seed: UInt8(20 + round)), at: 32768 + round * 4096)
            try server.qp.postReceive(ReceiveWorkRequest(id: UInt64(round), scatterGatherList: [server.sge(16384 + round * 4096, 4096)]))
        }
        let last = UInt64(4 * rounds - 1)
        func flags(_ id: UInt64) -> SendWorkRequest.Flags { shape != .unsignaled || id == last ? .signaled : [] }
        for round in 0..<rounds {
            let id = UInt64(4 * round)
            try client.qp.postSend(.rdmaWrite(
                id: id, scatterGatherList: [client.sge(round * 4096, 1000)], remoteAddress: server.address(round * 4096),
                rkey: server.region.rkey, flags: flags(id)))
            try client.qp.postSend(.send(id: id + 1, scatterGatherList: [client.sge(16384 + round * 4096, 500)], flags: flags(id + 1)))
            var read = SendWorkRequest.rdmaRead(
                id: id + 2, scatterGatherList: [client.sge(32768 + round * 4096, 512)], remoteAddress: server.address(32768 + round * 4096),
                rkey: server.region.rkey)
            read.flags = flags(id + 2)
            try client.qp.postSend(read)
            var atomic = SendWorkRequest.atomicFetchAndAdd(
                id: id + 3, result: client.sge(49152 + round * 8, 8), remoteAddress: server.address(65536), rkey: server.region.rkey, add: 1)
            atomic.flags = flags(id + 3)
            try client.qp.postSend(atomic)
        }
        let expected = shape == .unsignaled ? [last] : Array(0...last)
        let completions = client.waitSend(expected.count, timeout: timeout)
        if completions.map(\.wrID) != expected { return "completions \(completions.map(\.wrID))" }
        if let bad = completions.first(where: { $0.status != .success }) { return "WR \(bad.wrID): \(bad.status)" }
        let received = server.waitReceive(rounds, timeout: timeout)
        if received.map(\.wrID) != (0..<UInt64(rounds)).map({ $0 }) || server.receiveCQ.count != 0 { return "receives \(received.map(\.wrID))" }
        for round in 0..<rounds {
            if server.buffer.read(at: round * 4096, count: 1000) != pattern(1000, seed: UInt8(round)) { return "WRITE \(round) data" }
            if server.buffer.read(at: 16384 + round * 4096, count: 500) != pattern(500, seed: UInt8(10 + round)) { return "SEND \(round) data" }
            if client.buffer.read(at: 32768 + round * 4096, count: 512) != pattern(512, seed: UInt8(20 + round)) { return "READ \(round) data" }
            if client.buffer.loadUInt64(at: 49152 + round * 8) != UInt64(100 + round) { return "ATOMIC \(round) original" }
        }
        if server.buffer.loadUInt64(at: 65536) != UInt64(100 + rounds) { return "ATOMIC applied \(server.buffer.loadUInt64(at: 65536) - 100) times" }
        return nil
    }

    @Test("Two runs lost, anywhere", arguments: Shape.allCases, [false, true])
    func twoLosses(shape: Shape, onDemand: Bool) throws {
        var failures: [String] = []
        let kinds = shape.kinds
        let subnet = UInt8(220 + 2 * Shape.allCases.firstIndex(of: shape)! + (onDemand ? 1 : 0))
        for (first, firstOccurrence) in kinds.flatMap({ kind in Self.occurrences.map { (kind, $0) } }) {
            for second in kinds {
                for secondOccurrence in Self.occurrences where (second, secondOccurrence) != (first, firstOccurrence) {
                    var drops: [Opcode: Set<Int>] = [first: [firstOccurrence]]
                    drops[second, default: []].insert(secondOccurrence)
                    if let failure = try Self.stream(dropping: drops, shape: shape, onDemand: onDemand, subnet: subnet) {
                        failures.append("\(first) #\(firstOccurrence) + \(second) #\(secondOccurrence): \(failure)")
                    }
                }
            }
        }
        #expect(failures.isEmpty, "\(failures.count) failing pairs: \(failures.prefix(6))")
    }

    @Test("A run delivered twice, or a stale copy of it later, with or without another run lost", arguments: Shape.allCases, [false, true])
    func duplicates(shape: Shape, onDemand: Bool) throws {
        var failures: [String] = []
        let slots = shape.kinds.flatMap { kind in Self.occurrences.map { (kind, $0) } }
        let subnet = UInt8(240 + 2 * Shape.allCases.firstIndex(of: shape)! + (onDemand ? 1 : 0))
        for (kind, occurrence) in slots {
            var scripts = [
                ("twice", ScriptedLossLink.Script(duplicate: [kind: [occurrence]])),
                ("replayed", ScriptedLossLink.Script(replayLater: [kind: [occurrence]])),
            ]
            for (lost, lostOccurrence) in slots where (lost, lostOccurrence) != (kind, occurrence) {
                scripts.append(("replayed, \(lost) #\(lostOccurrence) lost", ScriptedLossLink.Script(drop: [lost: [lostOccurrence]], replayLater: [kind: [occurrence]])))
            }
            for (name, script) in scripts {
                if let failure = try Self.stream(script, shape: shape, onDemand: onDemand, subnet: subnet) {
                    failures.append("\(kind) #\(occurrence) \(name): \(failure)")
                }
            }
        }
        #expect(failures.isEmpty, "\(failures.count) failing scripts: \(failures.prefix(6))")
    }
}
