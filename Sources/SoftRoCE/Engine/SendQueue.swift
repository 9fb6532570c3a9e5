import Synchronization
import NIOConcurrencyHelpers
import SoftRoCEMemory
import SoftRoCEWire

/// One posted send work request and the engine's progress on it.
struct SendWQE {
    let request: SendWorkRequest
    /// `request.opcode`, stored flat: the engine tests it on WQEs in the ring, and reading a field
    /// nested in the request there copies the whole WQE.
    let opcode: SendWorkRequest.Opcode
    /// Inline payload, copied at post time.
    let inlineData: [UInt8]?
    /// The message length in bytes (the inline payload's, or the SGEs' total), stored: a stored
    /// field of a WQE in the ring is read in place, a computed one copies the WQE.
    let length: Int
    /// Local regions resolved for the SGEs when the requester starts the WQE.
    var regions = InlineFirstList<MemoryRegion>()
    /// Whether the requester has started (validated, PSNs assigned).
    var started = false
    /// First PSN and number of PSNs the message uses (a READ uses one per response packet).
    var firstPSN: SoftRoCEWire.PacketSequenceNumber = 0
    var psnCount = 0
    /// Requester progress: payload bytes handed to the link, and whether the request is fully out.
    var bytesSent = 0
    var fullySent = false
    /// Completer progress for READ responses: bytes and packets received.
    var bytesReceived = 0
    var packetsReceived = 0
    /// Set once the operation finished (successfully or not); completions leave in order.
    var status: WorkCompletion.Status?
    /// Whether a completion must be generated on success.
    var signaled: Bool
    /// A number unique within the QP, given at post time: names the WQE a page fault stalls at.
    var serial: UInt64 = 0

    init(request: SendWorkRequest, signaled: Bool, inlineData: [UInt8]? = nil) {
        self.request = request
        self.opcode = request.opcode
        self.signaled = signaled
        self.inlineData = inlineData
        self.length = inlineData?.count ?? Int(request.totalLength)
    }

    @inline(__always)
    var lastPSN: SoftRoCEWire.PacketSequenceNumber { firstPSN + (psnCount - 1) }
    /// (On a WQE in the ring, test `opcode.isReadOrAtomic` instead: any computed property of a
    /// WQE read in place copies the whole WQE, retaining its arrays; stored fields do not.)
    @inline(__always)
    var isReadOrAtomic: Bool { opcode.isReadOrAtomic }

    /// Whether `psn` lies in this WQE's PSN range.
    @inline(__always)
    func contains(_ psn: SoftRoCEWire.PacketSequenceNumber) -> Bool {
        started && firstPSN.distance(to: psn) >= 0 && psn.distance(to: lastPSN) >= 0
    }

    var completionOpcode: WorkCompletion.Opcode {
        switch opcode {
        case .send, .sendWithImmediate: .send
        case .rdmaWrite, .rdmaWriteWithImmediate: .rdmaWrite
        case .rdmaRead: .rdmaRead
        case .atomicCompareAndSwap: .compareAndSwap
        case .atomicFetchAndAdd: .fetchAndAdd
        }
    }
}

/// A fixed-capacity ring of send WQEs: `head` is the oldest not yet completed, `cursor` the next
/// the requester works on (head ≤ cursor ≤ tail, as offsets from head).
///
/// The WQEs live in ``SlotStorage``, initialised exactly in `head..<head + count`, and are
/// reached in place: reading or changing a stored field copies
/// no WQE (a copy retains its arrays) and touches no `Optional` wrapper. A reference type so the
/// ring is never copied along with the state that holds it; only the send-side lock's holder
/// uses it.
final class SendQueue: @unchecked Sendable {
    // @unchecked: used only with the QP's send-side lock held (or by the inbox's reset, on a
    // private instance).
    private let slots: SlotStorage<SendWQE>
    var capacity: Int { slots.capacity }
    private(set) var head = 0
    private(set) var count = 0
    /// Offset from `head` of the WQE the requester works on next.
    var cursor = 0
    /// The serial the next appended WQE gets.
    private var nextSerial: UInt64 = 1

    init(capacity: Int) { slots = SlotStorage(capacity: capacity) }

    deinit {
        for offset in 0..<count { slots.deinitialize(slot(offset)) }
        slots.deallocate()
    }

    var isFull: Bool { count == capacity }
    var isEmpty: Bool { count == 0 }

    /// Appends `wqe`, giving it the next serial.
    func append(_ wqe: consuming SendWQE) {
        precondition(!isFull, "send queue overflow must be checked by the caller")
        wqe.serial = nextSerial
        nextSerial &+= 1
        slots.initialize(slot(count), to: wqe)
        count += 1
    }

    /// The offset of the WQE with `serial`.
    func offset(ofSerial serial: UInt64) -> Int? {
        for offset in 0..<count where self[offset].serial == serial { return offset }
        return nil
    }

    /// The WQE at `offset` from the head, accessed in place (stored fields; a computed property
    /// of the WQE copies it, see ``SendWQE/isReadOrAtomic``).
    subscript(offset: Int) -> SendWQE {
        _read { yield slots[slot(offset)] }
        _modify { yield &slots[slot(offset)] }
    }

    @inline(__always)
    private func slot(_ offset: Int) -> Int {
        let index = head + offset
        return index < capacity ? index : index - capacity
    }

    func removeFirst() -> SendWQE {
        let wqe = slots.move(head)
        advanceHead()
        return wqe
    }

    /// Destroys the oldest WQE in place (one that needs no completion).
    func discardFirst() {
        slots.deinitialize(head)
        advanceHead()
    }

    private func advanceHead() {
        head = head + 1 == capacity ? 0 : head + 1
        count -= 1
        cursor = max(cursor - 1, 0)
    }
}

/// Posted receive work requests of one QP (or an SRQ's), in order.
struct ReceiveRing {
    private var slots: [ReceiveWorkRequest?]
    private var head = 0
    private(set) var count = 0
    private let capacity: Int

    init(capacity: Int) {
        self.capacity = max(capacity, 1)
        slots = Array(repeating: nil, count: self.capacity + 1)
    }

    /// Full at the posted capacity (a receive pushed back may use a slot beyond it).
    var isFull: Bool { count >= capacity }

    mutating func append(_ request: ReceiveWorkRequest) {
        slots[(head + count) % slots.count] = request
        count += 1
    }

    /// Puts `request` back at the head (a receive the responder took for a message whose first
    /// packet hit a page fault). Grows the ring if it is full.
    mutating func pushFront(_ request: ReceiveWorkRequest) {
        if count == slots.count {
            var grown: [ReceiveWorkRequest?] = Array(repeating: nil, count: slots.count * 2)
            for index in 0..<count { grown[index + 1] = slots[(head + index) % slots.count] }
            slots = grown
            head = 1
        }
        head = (head + slots.count - 1) % slots.count
        slots[head] = request
        count += 1
    }

    mutating func popFirst() -> ReceiveWorkRequest? {
        guard count > 0 else { return nil }
        let request = slots[head]
        slots[head] = nil
        head = (head + 1) % slots.count
        count -= 1
        return request
    }

    mutating func removeAll() -> [ReceiveWorkRequest] {
        var all: [ReceiveWorkRequest] = []
        while let request = popFirst() { all.append(request) }
        return all
    }
}
