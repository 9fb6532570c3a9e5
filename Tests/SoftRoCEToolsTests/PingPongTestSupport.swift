import Dispatch
import Foundation
import SoftRoCE
import SoftRoCETools
import Synchronization
import Testing

// Helpers of the pingpong suites (RCPingPongTests, UDPingPongTests).

/// A run on a thread of its own, started at once: not when a thread of the cooperative pool is
/// free (other suites' synchronous tests may hold all of them for seconds, and a server that
/// has not started listening fails its client).
final class ThreadRun<T: Sendable>: @unchecked Sendable {
    // @unchecked: `result` is written by the thread before `finished` is signaled, and read only
    // after waiting for it.
    private let finished = DispatchSemaphore(value: 0)
    private var result: Result<T, any Error>?

    init(_ body: @escaping @Sendable () throws -> T) {
        Thread {
            self.result = Result { try body() }
            self.finished.signal()
        }.start()
    }

    /// The thread's result, once it has one (blocks the caller until then).
    var value: T {
        get throws {
            finished.wait()
            finished.signal()
            return try result!.get()
        }
    }

    /// The thread's result, awaited without holding a thread of the cooperative pool (a helper
    /// thread waits for it): a test that awaits it leaves the pool to other suites meanwhile.
    var asyncValue: T {
        get async throws {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
                Thread {
                    continuation.resume(with: Result { try self.value })
                }.start()
            }
        }
    }
}

/// The server's port, handed from its `.listening` event to whoever connects.
final class PortSignal: Sendable {
    private let semaphore = DispatchSemaphore(value: 0)
    private let value = Atomic<UInt16>(0)

    func publish(_ port: UInt16) {
        value.store(port, ordering: .releasing)
        semaphore.signal()
    }

    /// The port, or nil if the server did not listen within 20 s.
    func wait() -> UInt16? {
        semaphore.wait(timeout: .now() + .seconds(20)) == .success ? value.load(ordering: .acquiring) : nil
    }
}

/// One run's report and the lines it printed.
struct Outcome: Sendable {
    var report: PingPongReport
    var lines: [String]
}

/// Runs a server (`run`, given the event sink) on its own thread, publishing its listening port.
func startServer(port: PortSignal, _ run: @escaping @Sendable ((PingPongEvent) -> Void) throws -> PingPongReport) -> ThreadRun<Outcome> {
    ThreadRun {
        var lines: [String] = []
        let report = try run { event in
            switch event {
            case .standardOutput(let line): lines.append(line)
            case .standardError: break
            case .listening(let listening): port.publish(listening)
            }
        }
        return Outcome(report: report, lines: lines)
    }
}

/// Runs a client (`run`, given the server's port and the event sink) on its own thread once the
/// server announced its port on `port`, and waits for it.
func runClient(port: PortSignal, _ run: @escaping @Sendable (Int, (PingPongEvent) -> Void) throws -> PingPongReport) throws -> Outcome {
    try startClient(port: port, run).value
}

/// Starts a client (`run`, given the server's port and the event sink) on its own thread, which
/// waits until the server announced its port on `port`.
func startClient(port: PortSignal, _ run: @escaping @Sendable (Int, (PingPongEvent) -> Void) throws -> PingPongReport) -> ThreadRun<Outcome> {
    ThreadRun {
        let serverPort = Int(try #require(port.wait(), "the server never listened"))
        var lines: [String] = []
        let report = try run(serverPort) { event in
            if case .standardOutput(let line) = event { lines.append(line) }
        }
        return Outcome(report: report, lines: lines)
    }
}

/// A server device and a client device on a fabric of their own (`activeMTU`: their ports').
func devicePair(activeMTU: PathMTU = .mtu4096) -> (server: Device, client: Device) {
    let fabric = InProcessFabric()
    return (Device(link: fabric, activeMTU: activeMTU), Device(link: fabric, activeMTU: activeMTU))
}

/// Catches the ``PingPongError`` a run throws; nil if it returned.
func pingPongError(_ body: () throws -> Void) -> PingPongError? {
    do {
        try body()
        return nil
    } catch let error as PingPongError {
        return error
    } catch {
        Issue.record("expected a PingPongError, got \(error)")
        return nil
    }
}


/// Catches the ``PingPongError`` an asynchronous run throws; nil if it returned.
func awaitPingPongError(_ body: () async throws -> Void) async -> PingPongError? {
    do {
        try await body()
        return nil
    } catch let error as PingPongError {
        return error
    } catch {
        Issue.record("expected a PingPongError, got \(error)")
        return nil
    }
}
