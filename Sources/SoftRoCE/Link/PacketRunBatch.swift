import SoftRoCEMemory
import Synchronization

/// Runs a requester hands the link at once: consecutive runs of one QP for one destination QP, in
/// PSN order (up to 16 of an RC QP; one of a UD QP, whose WQEs may each go elsewhere). A link that
/// delivers them together (the in-process fabric) pays for the destination lookup and the
/// responder's lock once per batch instead of once per run.
///
/// Each run's payload is read from the sender's memory only while it is delivered
/// (``withPayload(at:_:)``), so a batch holds descriptions, not bytes. The batch ends early at a
/// run that cannot go out: its payload cannot be read (a page fault or an error), or what was
/// built must not go out any more (the sender's completer rewound the send queue after a NAK or
/// RNR NAK, or the QP went to ERR or RESET, while the batch was on its way). The runs from there
/// on were never sent; the requester takes them back.
///
/// One batch belongs to a device's engine thread and is reused for every QP it runs: only that
/// thread, and the link during ``PacketLink/transmit(_:from:to:)`` on it, touch it.
public final class PacketRunBatch: @unchecked Sendable {
    // @unchecked: used by the engine thread only (see above).
    /// The most runs in one batch.
    static let capacity = 16

    /// Run descriptions, initialised in every slot (reused, not moved).
    private let slots: SlotStorage<PendingTransmit>
    /// The runs in the batch.
    public private(set) var count = 0
    /// The QP whose runs these are, while the batch is in use (unretained: the engine holds it
    /// while its requester runs, which is the only time the batch is in use).
    private var queuePair: Unmanaged<QueuePair>?
    /// The QP's rewind count when the runs were built.
    private var rewindsAtBuild = 0
    /// The run whose payload could not be read, and why (set by ``withPayload(at:_:)``).
    private(set) var failure: (index: Int, access: DataPathAccess)?

    init() {
        slots = SlotStorage(capacity: Self.capacity)
        for slot in 0..<Self.capacity { slots.initialize(slot, to: PendingTransmit()) }
    }

    deinit {
        for slot in 0..<Self.capacity { slots.deinitialize(slot) }
        slots.deallocate()
    }

    /// The destination GID of every run.
    public var destination: GID { slots[0].destination }

    /// The headers and sizes of run `index` (0 ..< ``count``).
    public func run(at index: Int) -> PacketRun {
        precondition(index < count, "run index out of the batch")
        return slots[index].run
    }

    /// Runs `body` with the payload of run `index` (nil for a run without one), valid only during
    /// the call, and returns true; returns false without calling `body` when the run cannot go
    /// out (see the type's description): the batch ends there.
    public func withPayload(at index: Int, _ body: (MappedBytes?) -> Void) -> Bool {
        precondition(index < count, "run index out of the batch")
        guard let queuePair, failure == nil,
            queuePair._withUnsafeGuaranteedRef({ $0.requesterRewinds.load(ordering: .acquiring) }) == rewindsAtBuild
        else { return false }
        let access: DataPathAccess
        if let region = slots[index].soleRegion {
            // The common case, without reference counting: the slot keeps the region alive.
            let range = slots[index].soleRange
            access = region._withUnsafeGuaranteedRef { QueuePair.accessMemory($0, range, .read, body) }
        } else {
            // The fields, not the whole description: a value borrowed from the slots across a
            // call to `body` would be copied whole.
            access = QueuePair.readPayload(
                inline: slots[index].inline, pieces: slots[index].pieces, length: slots[index].run.payloadLength, body)
        }
        guard case .completed = access else {
            failure = (index, access)
            return false
        }
        return true
    }

    /// Calls `deliver` with each run and its payload (valid only during the call), in order,
    /// until the batch ends; returns how many runs it was called for.
    @discardableResult
    public func forEachRun(_ deliver: (PacketRun, MappedBytes?) -> Void) -> Int {
        for index in 0..<count {
            let run = slots[index].run
            guard withPayload(at: index, { deliver(run, $0) }) else { return index }
        }
        return count
    }

    // MARK: Building (the requester)

    /// Starts a batch of `queuePair`'s runs; call with its send-side lock held, so the rewind
    /// count matches the queue the runs are built from.
    func begin(for queuePair: QueuePair) {
        self.queuePair = .passUnretained(queuePair)
        rewindsAtBuild = queuePair.requesterRewinds.load(ordering: .acquiring)
        count = 0
        failure = nil
    }

    /// Whether another run fits.
    var isFull: Bool { count == Self.capacity }

    /// Describes the next run in place (the slot is reused) and appends it when `build` returns true.
    @discardableResult
    func append(_ build: (inout PendingTransmit) -> Bool) -> Bool {
        precondition(!isFull, "batch overflow must be checked by the caller")
        guard build(&slots[count]) else { return false }
        count += 1
        return true
    }

    /// Sets the ACK request of the last run (the batch ends before a WQE that fails).
    func asksForAcknowledgeOnLastRun() {
        precondition(count > 0, "no run to ask for an acknowledgement")
        slots[count - 1].run.headers.bth.acknowledgeRequest = true
    }

    /// The description of run `index`.
    subscript(index: Int) -> PendingTransmit { slots[index] }

    /// Ends the batch: drops the references its runs hold (regions, inline bytes).
    func end() {
        for slot in 0..<count { slots[slot].dropPayload() }
        count = 0
        queuePair = nil
        failure = nil
    }
}
