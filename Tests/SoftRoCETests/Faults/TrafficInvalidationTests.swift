import SoftRoCE
import SoftRoCEMemory
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

private let page = Host.pageSize

/// The MMU-notifier contract under traffic (test_odp.py's invalidation-while-traffic cases):
/// another thread keeps invalidating the pages the device is using — and dropping them with
/// MADV_DONTNEED inside the invalidation — while WRITEs and READs stream. Every request still
/// completes successfully, READs of pages only invalidated (not dropped) return the right bytes,
/// and the engine thread never touches a dropped page: `dataPathKernelFaults` stays 0.
@Suite("ODP faults: invalidations racing traffic", .timeLimit(.minutes(3)))
struct TrafficInvalidationTests {
    final class Flag: Sendable {
        let stop = Atomic<Bool>(false)
        let invalidations = Atomic<Int>(0)
    }

    /// Results written by the traffic thread, read after `runOnThreads` joined it.
    final class Results: @unchecked Sendable {
        var problems: [String] = []
        var completed = 0
        var attempted = 0
    }

    static func sleep(microseconds: Int) { usleep(UInt32(microseconds)) }

    @Test("WRITEs stream while the target is invalidated and dropped over and over: all succeed, no data-path kernel fault", arguments: [false, true])
    func writeVersusInvalidateAndDrop(twoDevices: Bool) throws {
        let (client, server) = try connectedPair(twoDevices: twoDevices, onDemand: (true, true))
        defer { shutDown(client, server) }
        let target = 32 * page
        let span = 16 * page
        // Warm-up outside the measurement.
        for index in 0..<16 {
            client.buffer.write(pattern(2 * page, seed: UInt8(index)), at: 0)
            _ = try client.run(.rdmaWrite(id: 0, scatterGatherList: [client.sge(0, 2 * page)], remoteAddress: server.address(target + (index % 8) * 2 * page), rkey: server.region.rkey))
        }
        let clientBefore = client.device.counters
        let serverBefore = server.device.counters
        let flag = Flag()
        let results = Results()
        let rounds = 200
        client.buffer.write(pattern(2 * page, seed: 200), at: 0)
        runOnThreads(2) { thread in
            if thread == 0 {
                defer { flag.stop.store(true, ordering: .releasing) }
                // At least `rounds` WRITEs, and on until the invalidator ran a few times (a fast
                // engine may finish `rounds` before the other thread gets going).
                var index = 0
                while index < rounds || (flag.invalidations.load(ordering: .relaxed) <= 20 && index < 100 * rounds) {
                    defer { index += 1 }
                    results.attempted += 1
                    do {
                        let completion = try client.run(.rdmaWrite(
                            id: UInt64(index), scatterGatherList: [client.sge(0, 2 * page)],
                            remoteAddress: server.address(target + (index % 8) * 2 * page), rkey: server.region.rkey))
                        if completion?.status != .success { results.problems.append("WRITE \(index): \(String(describing: completion?.status))") }
                        results.completed += 1
                    } catch {
                        results.problems.append("WRITE \(index): \(error)")
                    }
                    if results.problems.count > 5 { break }
                }
            } else {
                while !flag.stop.load(ordering: .acquiring) {
                    try? server.makeCold(target, span)
                    flag.invalidations.add(1, ordering: .relaxed)
                    Self.sleep(microseconds: 50)
                }
            }
        }
        #expect(results.problems.isEmpty, "\(results.problems)")
        #expect(results.completed == results.attempted && results.completed >= rounds)
        let clientDelta = CounterDelta(from: clientBefore, to: client.device.counters)
        let serverDelta = CounterDelta(from: serverBefore, to: server.device.counters)
        #expect(flag.invalidations.load(ordering: .relaxed) > 10, "the race really ran")
        #expect(serverDelta.pageFaults > 0, "the device faulted the invalidated pages back in: \(serverDelta)")
        if !underSanitizer {
            #expect(clientDelta.dataPathKernelFaults == 0, "client engine: \(clientDelta)")
            #expect(serverDelta.dataPathKernelFaults == 0, "server engine: \(serverDelta)")
        }
        #expect(client.qp.state == .readyToSend && server.qp.state == .readyToSend)

        // Quiet again: the next WRITE lands byte for byte.
        let last = pattern(2 * page, seed: 201)
        client.buffer.write(last, at: 0)
        #expect(try client.run(.rdmaWrite(id: 999, scatterGatherList: [client.sge(0, 2 * page)], remoteAddress: server.address(target), rkey: server.region.rkey))?.status == .success)
        #expect(mismatch(server.buffer.read(at: target, count: 2 * page), last) == nil)
    }

    @Test("READs stream while source and destination entries are invalidated (pages kept): every READ returns the right bytes", arguments: [false, true])
    func readVersusInvalidate(twoDevices: Bool) throws {
        // A short transport timeout (4 ms, retry_cnt 7): nothing is lost on the in-process
        // fabric, so the timeout must never decide the outcome. A responder fault met while
        // answering (mid-response, or a READ asked for again) is a page fault like any other and
        // must be ridden out under rnr_retry 7, not consume retry_cnt until RETRY_EXC_ERR.
        let (client, server) = try connectedPair(twoDevices: twoDevices, onDemand: (true, true), timeout: 10, retry: 7)
        defer { shutDown(client, server) }
        let source = 16 * page
        let destination = 64 * page
        let length = 6 * page
        let data = pattern(length, seed: 202)
        server.buffer.write(data, at: source)
        let serverUmem = try #require(server.umem)
        let clientUmem = try #require(client.umem)
        for _ in 0..<4 {
            _ = try client.run(.rdmaRead(id: 0, scatterGatherList: [client.sge(destination, length)], remoteAddress: server.address(source), rkey: server.region.rkey))
        }
        let clientBefore = client.device.counters
        let serverBefore = server.device.counters
        let flag = Flag()
        let results = Results()
        let rounds = 150
        runOnThreads(2) { thread in
            if thread == 0 {
                defer { flag.stop.store(true, ordering: .releasing) }
                var index = 0
                while index < rounds || (flag.invalidations.load(ordering: .relaxed) <= 20 && index < 100 * rounds) {
                    defer { index += 1 }
                    results.attempted += 1
                    client.buffer.fill(0, at: destination, count: length)
                    do {
                        let completion = try client.run(.rdmaRead(
                            id: UInt64(index), scatterGatherList: [client.sge(destination, length)],
                            remoteAddress: server.address(source), rkey: server.region.rkey))
                        if completion?.status != .success {
                            results.problems.append("READ \(index): \(String(describing: completion?.status))")
                        } else if client.buffer.read(at: destination, count: length) != data {
                            results.problems.append("READ \(index): wrong data")
                        }
                        results.completed += 1
                    } catch {
                        results.problems.append("READ \(index): \(error)")
                    }
                    if results.problems.count > 5 { break }
                }
            } else {
                var turn = 0
                while !flag.stop.load(ordering: .acquiring) {
                    // Invalidate only: the pages and their bytes stay.
                    if turn % 2 == 0 {
                        serverUmem.invalidate(server.address(source)..<server.address(source + length))
                    } else {
                        clientUmem.invalidate(client.address(destination)..<client.address(destination + length))
                    }
                    turn += 1
                    flag.invalidations.add(1, ordering: .relaxed)
                    Self.sleep(microseconds: 30)
                }
            }
        }
        #expect(results.problems.isEmpty, "\(results.problems)")
        #expect(results.completed == results.attempted && results.completed >= rounds)
        #expect(flag.invalidations.load(ordering: .relaxed) > 10, "the race really ran")
        let clientDelta = CounterDelta(from: clientBefore, to: client.device.counters)
        let serverDelta = CounterDelta(from: serverBefore, to: server.device.counters)
        #expect(clientDelta.pageFaults + serverDelta.pageFaults > 0, "invalidated entries were faulted back in")
        if !underSanitizer {
            #expect(clientDelta.dataPathKernelFaults == 0 && serverDelta.dataPathKernelFaults == 0, "client \(clientDelta); server \(serverDelta)")
        }
        #expect(client.qp.state == .readyToSend)
    }
}
