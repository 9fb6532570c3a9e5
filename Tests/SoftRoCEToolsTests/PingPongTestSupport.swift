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

/// A server device and a client device on a fabric of their own.
struct DevicePair: Sendable {
    /// The server's device.
    let server: Device
    /// The client's device.
    let client: Device

    /// Two devices whose ports have `activeMTU`.
    init(activeMTU: PathMTU = .mtu4096) {
        let fabric = InProcessFabric()
        server = Device(link: fabric, activeMTU: activeMTU)
        client = Device(link: fabric, activeMTU: activeMTU)
    }

    /// Closes both devices.
    func close() {
        server.close()
        client.close()
    }
}

/// A pingpong tool's configuration as the suites run it (``RCPingPongConfiguration``,
/// ``UDPingPongConfiguration``).
protocol PingPongTestConfiguration: PingPongToolConfiguration, Sendable {
    /// The tool's defaults for `role`.
    init(role: PingPongRole)
    /// Runs the tool with these options on `device`.
    func run(on device: Device, events: (PingPongEvent) -> Void) throws(PingPongError) -> PingPongReport
}

extension RCPingPongConfiguration: PingPongTestConfiguration {
    func run(on device: Device, events: (PingPongEvent) -> Void) throws(PingPongError) -> PingPongReport {
        try RCPingPong(self).run(on: device, events: events)
    }
}

extension UDPingPongConfiguration: PingPongTestConfiguration {
    func run(on device: Device, events: (PingPongEvent) -> Void) throws(PingPongError) -> PingPongReport {
        try UDPingPong(self).run(on: device, events: events)
    }
}

extension PingPongTestConfiguration {
    /// A configuration for tests: a kernel-chosen port, GID index 0, time limits so nothing hangs.
    static func test(_ role: PingPongRole) -> Self {
        var configuration = Self(role: role)
        configuration.port = 0
        configuration.gidIndex = 0
        configuration.exchangeTimeout = .seconds(10)
        configuration.completionTimeout = .seconds(20)
        return configuration
    }

    /// The client of a server with these options: the same options, connecting to 127.0.0.1.
    var client: Self {
        var client = self
        client.role = .client(serverName: "127.0.0.1")
        return client
    }
}

/// Runs a server with `configuration` on `device` (on a kernel-chosen port) on its own thread.
func startServer(_ configuration: some PingPongTestConfiguration, on device: Device, port: PortSignal) -> ThreadRun<Outcome> {
    startServer(port: port) { events in try configuration.run(on: device, events: events) }
}

/// Starts a client with `configuration` on its own thread against the server that announces its
/// port on `port`.
func startClient(_ configuration: some PingPongTestConfiguration, on device: Device, port: PortSignal) -> ThreadRun<Outcome> {
    startClient(port: port) { serverPort, events in
        var configuration = configuration
        configuration.port = serverPort
        return try configuration.run(on: device, events: events)
    }
}

/// Starts a server with `server`'s options on `devices.server` and its client
/// (``PingPongTestConfiguration/client``, changed by `client`) on `devices.client`, each on its own
/// thread.
func runPair<Configuration: PingPongTestConfiguration>(
    _ server: Configuration, on devices: DevicePair, client: (inout Configuration) -> Void = { _ in }
) -> (server: ThreadRun<Outcome>, client: ThreadRun<Outcome>) {
    var clientConfiguration = server.client
    client(&clientConfiguration)
    let port = PortSignal()
    let serverRun = startServer(server, on: devices.server, port: port)
    return (serverRun, startClient(clientConfiguration, on: devices.client, port: port))
}

/// Runs `configuration` on a device of its own, on this thread, and expects it to fail with
/// `code` and `message`.
func expectRunError(
    _ configuration: some PingPongTestConfiguration, code: PingPongError.Code, message: String,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    let device = Device(link: InProcessFabric())
    defer { device.close() }
    let error = pingPongError { _ = try configuration.run(on: device, events: { _ in }) }
    #expect(error?.code == code, sourceLocation: sourceLocation)
    #expect(error?.message == message, sourceLocation: sourceLocation)
}

/// Runs `configuration` on `device` on a thread of its own, and returns the ``PingPongError`` it
/// throws; nil if it returned.
func threadRunError(_ configuration: some PingPongTestConfiguration, on device: Device) -> PingPongError? {
    pingPongError { _ = try ThreadRun { try configuration.run(on: device, events: { _ in }) }.value }
}

/// Runs `configuration` on `device` on a thread of its own, awaited without holding a thread of
/// the cooperative pool, and returns the ``PingPongError`` it throws; nil if it returned.
func awaitThreadRunError(_ configuration: some PingPongTestConfiguration, on device: Device) async -> PingPongError? {
    await awaitPingPongError { _ = try await ThreadRun { try configuration.run(on: device, events: { _ in }) }.asyncValue }
}

/// A fake server on its own thread: accepts one client on `listener`, reads its 52-byte address
/// message, answers `reply` and reads the client's 5-byte "done"; returns the message and "done".
func fakeServer(_ listener: TCPListener, reply: [UInt8]) -> ThreadRun<(message: [UInt8], done: [UInt8])> {
    ThreadRun {
        let connection = try listener.accept(timeout: .seconds(10))
        let message = try connection.receive(count: 52, timeout: .seconds(10))
        try connection.send(reply)
        let done = try connection.receive(count: 5, timeout: .seconds(10))
        return (message, done)
    }
}

/// Catches the ``PingPongError`` a run throws; nil if it returned.
func pingPongError(_ body: () throws -> Void) -> PingPongError? {
    do {
        try body()
        return nil
    } catch {
        return expectPingPongError(error)
    }
}

/// Catches the ``PingPongError`` an asynchronous run throws; nil if it returned.
func awaitPingPongError(_ body: () async throws -> Void) async -> PingPongError? {
    do {
        try await body()
        return nil
    } catch {
        return expectPingPongError(error)
    }
}

/// `error` as the ``PingPongError`` it should be; nil (and an issue) for any other error.
private func expectPingPongError(_ error: any Error) -> PingPongError? {
    if let error = error as? PingPongError { return error }
    Issue.record("expected a PingPongError, got \(error)")
    return nil
}
