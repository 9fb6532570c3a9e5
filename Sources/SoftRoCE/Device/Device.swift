import NIOConcurrencyHelpers
public import SoftRoCEMemory
public import SoftRoCEWire
import Synchronization

/// A SoftRoCE device: the user-space twin of an RDMA NIC. It owns an engine thread, a table of
/// memory regions and queue pairs, and a port attached to a ``PacketLink`` — by default the
/// in-process fabric, so everything works with no network and no kernel module.
/// Corresponds to `struct ibv_context` (`ibv_open_device`).
public final class Device: Sendable, CustomStringConvertible {
    /// The device name (`softroce0`).
    public let name: String
    /// Capabilities.
    public let attributes: DeviceAttributes
    /// Port 1.
    public let port: PortAttributes
    /// The link the port is attached to.
    public let link: any PacketLink
    /// The link's ``PacketLink/maxRunPayload``, read once (the engine asks for every run).
    let maxRunPayload: Int
    /// GID index 0 (and the only entry): the IPv4-mapped address the link assigned.
    public let gid: GID

    let engine: Engine
    let faultWorkqueue: FaultWorkqueue
    let memoryRegions: MemoryRegionTable
    let statistics = DeviceStatistics()
    private let dataPathThreads = DataPathThreads()
    private let queuePairs = QueuePairTable()
    private let nextHandle = Atomic<UInt32>(1)
    private let closed = Atomic<Bool>(false)

    /// Opens a device on `link` (the shared in-process fabric by default).
    ///
    /// - Parameters:
    ///   - name: the device name.
    ///   - link: where its packets go.
    ///   - activeMTU: the port's active MTU (4096 on the in-process fabric; what RC QPs use when
    ///     the application does not set a path MTU is still 1024, as ibverbs requires one).
    ///   - faultThreads: threads of the page-fault workqueue.
    ///   - engineCPU: pins the engine thread and the fault workqueue to this CPU (nil: the
    ///     scheduler places them). Pinning keeps the data path's caches warm and off the CPU an
    ///     application busy-polls; a CPU the process may not use leaves the threads unpinned. A
    ///     pinned engine treats the CPU as its own: alone there, it polls without yielding while
    ///     idle and resolves small page faults itself instead of handing them to a worker on the
    ///     same core, so keep application threads off it (engines of several devices pinned to
    ///     one CPU yield to each other).
    public init(
        name: String = "softroce0", link: any PacketLink = InProcessFabric.shared, activeMTU: PathMTU = .mtu4096,
        faultThreads: Int = 1, engineCPU: Int? = nil
    ) {
        self.name = name
        self.link = link
        self.maxRunPayload = link.maxRunPayload
        self.attributes = DeviceAttributes(
            firmwareVersion: "1.0.0", nodeGUID: 0x5352_4F43_4500_0001, vendorID: 0xFFFFFF,
            maxMemoryRegionSize: 1 << 47, pageSizeCapabilities: 0x1000 | 0x20_0000,
            maxQueuePairs: 1 << 16, maxQueuePairWorkRequests: 1 << 14, maxScatterGatherElements: 32,
            maxCompletionQueues: 1 << 14, maxCompletionQueueEntries: CompletionQueue.defaultMaximumCapacity,
            maxMemoryRegions: 1 << 20, maxProtectionDomains: 1 << 16,
            maxQueuePairReadAtomic: 128, maxQueuePairInitiatorReadAtomic: 128, maxInlineData: 256,
            atomicCapability: .hca,
            onDemandPaging: OnDemandPagingCapabilities(
                isSupported: true, supportsImplicit: true,
                reliableConnected: [.send, .receive, .write, .read, .atomic],
                unreliableDatagram: [.send, .receive]))
        self.port = PortAttributes(
            number: 1, state: .active, maxMTU: .mtu4096, activeMTU: activeMTU, linkLayer: "Ethernet", gidTableLength: 1)
        self.memoryRegions = MemoryRegionTable(maxRegions: attributes.maxMemoryRegions)
        self.faultWorkqueue = FaultWorkqueue(threads: faultThreads, statistics: statistics, cpu: engineCPU)
        self.engine = Engine(faults: faultWorkqueue, statistics: statistics, cpu: engineCPU)
        self.gid = link.assignGID()
        link.attach(self, at: gid)
    }

    /// Detaches from the link, moves every QP to ERR, deregisters the regions still registered,
    /// and stops the engine thread and the fault workqueue. Later calls do nothing. Corresponds to
    /// `ibv_close_device` (which, unlike this, refuses while resources remain).
    public func close() {
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        link.detach(self)
        let all = queuePairs.all
        for qp in all { qp.destroy() }
        // The device is gone: its keys stop resolving (this also ends the region → PD → device
        // references that would otherwise keep a closed device alive).
        for region in memoryRegions.all { region.deregister() }
        engine.stop()
        faultWorkqueue.stop()
    }

    /// Fault injection: extra time every page-fault resolution takes (a slow fault, such as a
    /// page coming back from swap). `.zero` (the default) for none.
    public var injectedFaultDelay: Duration {
        get { .nanoseconds(faultWorkqueue.injectedDelayNanoseconds.load(ordering: .relaxed)) }
        set {
            faultWorkqueue.injectedDelayNanoseconds.store(max(0, newValue.wholeNanoseconds), ordering: .relaxed)
        }
    }

    public var description: String { "\(name) (\(gid))" }

    // MARK: Objects

    /// Allocates a protection domain. Corresponds to `ibv_alloc_pd`.
    public func allocateProtectionDomain() -> ProtectionDomain {
        ProtectionDomain(device: self, handle: nextHandle.wrappingAdd(1, ordering: .relaxed).oldValue)
    }

    /// Creates a completion queue of at least `capacity` entries.
    /// - Throws: ``VerbsError`` `invalidCompletionQueueSize`. Corresponds to `ibv_create_cq`.
    public func createCompletionQueue(capacity: Int) throws -> CompletionQueue {
        try CompletionQueue(minimumCapacity: capacity)
    }

    /// Creates a shared receive queue. Corresponds to `ibv_create_srq`.
    public func createSharedReceiveQueue(
        protectionDomain: ProtectionDomain, maxWorkRequests: Int, maxScatterGatherElements: Int = 1
    ) throws -> SharedReceiveQueue {
        guard maxWorkRequests > 0, maxWorkRequests <= attributes.maxQueuePairWorkRequests else {
            throw VerbsError(.invalidAttributeValue, "SRQ size \(maxWorkRequests) out of range")
        }
        return SharedReceiveQueue(protectionDomain: protectionDomain, maxWorkRequests: maxWorkRequests, maxScatterGatherElements: maxScatterGatherElements)
    }

    /// Creates a queue pair in RESET.
    ///
    /// - Parameters:
    ///   - type: RC or UD.
    ///   - protectionDomain: a domain of this device.
    ///   - sendCompletionQueue / receiveCompletionQueue: where completions go (may be the same).
    ///   - capabilities: queue sizes and SGE / inline limits (checked against the device's).
    ///   - sharedReceiveQueue: take receives from this SRQ instead of an own receive queue.
    ///   - signalsAll: every send WR completes with a CQE (`sq_sig_all`).
    /// - Throws: ``VerbsError`` `invalidAttributeValue` for limits beyond the device's, a PD of
    ///   another device, or `maxQueuePairs` QPs already live. Corresponds to `ibv_create_qp`.
    public func createQueuePair(
        type: QueuePairType, protectionDomain: ProtectionDomain,
        sendCompletionQueue: CompletionQueue, receiveCompletionQueue: CompletionQueue,
        capabilities: QueuePairCapabilities, sharedReceiveQueue: SharedReceiveQueue? = nil, signalsAll: Bool = false
    ) throws -> QueuePair {
        guard protectionDomain.device === self else { throw VerbsError(.invalidAttributeValue, "the PD belongs to another device") }
        guard capabilities.maxSendWR > 0, capabilities.maxSendWR <= attributes.maxQueuePairWorkRequests,
            capabilities.maxReceiveWR >= 0, capabilities.maxReceiveWR <= attributes.maxQueuePairWorkRequests,
            capabilities.maxSendSGE <= attributes.maxScatterGatherElements,
            capabilities.maxReceiveSGE <= attributes.maxScatterGatherElements,
            capabilities.maxInlineData <= attributes.maxInlineData
        else { throw VerbsError(.invalidAttributeValue, "QP capabilities exceed the device's") }
        return try queuePairs.insert { number in
            QueuePair(
                device: self, number: number, type: type, protectionDomain: protectionDomain,
                sendCompletionQueue: sendCompletionQueue, receiveCompletionQueue: receiveCompletionQueue,
                sharedReceiveQueue: sharedReceiveQueue, capabilities: capabilities, signalsAll: signalsAll)
        }
    }

    func removeQueuePair(_ qp: QueuePair) { queuePairs.remove(qp) }

    /// The live queue pair with this number.
    public func queuePair(number: QueuePairNumber) -> QueuePair? { queuePairs.lookup(number) }

    // MARK: Packets

    /// Delivers a run from the link: requests go to the destination QP's responder, responses to
    /// its completer. Unknown QPs and malformed runs are dropped and counted.
    public func receive(_ run: PacketRun, payload: MappedBytes?, from source: GID) {
        guard let qp = queuePair(number: run.headers.bth.destinationQueuePair), qp.accepts(run, payload: payload) else {
            statistics.droppedPackets.add(1, ordering: .relaxed)
            return
        }
        if run.headers.opcode.isResponse {
            qp.receiveResponse(run, payload: payload)
        } else {
            qp.receiveRequest(run, payload: payload, from: source)
        }
    }

    /// Delivers a batch of request runs for one RC QP (``PacketRunBatch``): the QP is looked up
    /// once and its responder handles every run under one hold of its lock, each as
    /// ``receive(_:payload:from:)`` would. Returns how many runs were taken: all of them unless
    /// the batch ended early.
    public func receive(_ batch: PacketRunBatch, from source: GID) -> Int {
        guard batch.count > 0 else { return 0 }
        let first = batch.run(at: 0)
        guard !first.headers.opcode.isResponse, let qp = queuePair(number: first.headers.bth.destinationQueuePair), qp.type == .rc else {
            return batch.forEachRun { receive($0, payload: $1, from: source) }
        }
        return qp.receiveRequests(batch, from: source)
    }

    /// Counts the calling thread's kernel page faults in ``DeviceCounters/dataPathKernelFaults``
    /// from now on: for a link whose own thread delivers packets (``receive(_:payload:from:)``
    /// runs the responder and completer on it). Call from that thread before its first delivery,
    /// with its buffers and stack already touched, and ``leaveDataPath()`` when it stops.
    public func joinDataPath() { dataPathThreads.join() }

    /// Stops counting the calling thread (see ``joinDataPath()``); what it took stays counted.
    public func leaveDataPath() { dataPathThreads.leave() }

    func reportCompletionQueueOverflow(_ cq: CompletionQueue) {
        statistics.completionQueueOverflows.add(1, ordering: .relaxed)
    }

    // MARK: Counters

    /// The device's counters now, with ODP totals over its live regions.
    public var counters: DeviceCounters {
        var counters = DeviceCounters(
            rnrNaksSent: statistics.rnrNaksSent.load(ordering: .relaxed),
            rnrNaksReceived: statistics.rnrNaksReceived.load(ordering: .relaxed),
            retransmits: statistics.retransmits.load(ordering: .relaxed),
            duplicatePackets: statistics.duplicatePackets.load(ordering: .relaxed),
            droppedPackets: statistics.droppedPackets.load(ordering: .relaxed),
            completionQueueOverflows: statistics.completionQueueOverflows.load(ordering: .relaxed),
            pageFaults: statistics.pageFaults.load(ordering: .relaxed),
            faultedPages: statistics.faultedPages.load(ordering: .relaxed),
            invalidations: 0, invalidatedPages: 0)
        counters.failedFaults = statistics.failedFaults.load(ordering: .relaxed)
        counters.prefetchedPages = statistics.prefetchedPages.load(ordering: .relaxed)
        counters.engineResolvedFaults = statistics.engineResolvedFaults.load(ordering: .relaxed)
        let (p50, p99) = statistics.faultLatencyPercentiles()
        counters.faultLatencyP50Nanoseconds = p50
        counters.faultLatencyP99Nanoseconds = p99
        counters.dataPathKernelFaults = engine.dataPathKernelFaults + dataPathThreads.kernelFaults
        for region in memoryRegions.all {
            guard let odp = region.onDemandUmem else { continue }
            let stats = odp.statistics
            counters.invalidations += stats.invalidations
            counters.invalidatedPages += stats.invalidatedPages
        }
        return counters
    }
}
