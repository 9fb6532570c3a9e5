import Synchronization
import NIOConcurrencyHelpers
import SoftRoCEMemory
import SoftRoCEWire

/// One posted send work request and the engine's progress on it.
struct SendWQE {
    var request: SendWorkRequest
    /// Inline payload, copied at post time.
    var inlineData: [UInt8]?
    /// Local regions resolved for the SGEs when the requester starts the WQE.
    var regions: [MemoryRegion] = []
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

    var length: Int { inlineData?.count ?? Int(request.totalLength) }
    var lastPSN: SoftRoCEWire.PacketSequenceNumber { firstPSN + (psnCount - 1) }
    var isReadOrAtomic: Bool { request.opcode == .rdmaRead || request.opcode.isAtomic }

    /// Whether `psn` lies in this WQE's PSN range.
    func contains(_ psn: SoftRoCEWire.PacketSequenceNumber) -> Bool {
        started && firstPSN.distance(to: psn) >= 0 && psn.distance(to: lastPSN) >= 0
    }

    var completionOpcode: WorkCompletion.Opcode {
        switch request.opcode {
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
struct SendQueue {
    private var slots: [SendWQE?]
    private(set) var head = 0
    private(set) var count = 0
    /// Offset from `head` of the WQE the requester works on next.
    var cursor = 0
    /// The serial the next appended WQE gets.
    private var nextSerial: UInt64 = 1

    init(capacity: Int) { slots = Array(repeating: nil, count: max(capacity, 1)) }

    var capacity: Int { slots.count }
    var isFull: Bool { count == slots.count }
    var isEmpty: Bool { count == 0 }

    /// Appends `wqe`, giving it the next serial.
    mutating func append(_ wqe: SendWQE) {
        precondition(!isFull, "send queue overflow must be checked by the caller")
        var wqe = wqe
        wqe.serial = nextSerial
        nextSerial &+= 1
        slots[(head + count) % slots.count] = wqe
        count += 1
    }

    /// The offset of the WQE with `serial`.
    func offset(ofSerial serial: UInt64) -> Int? {
        for offset in 0..<count where self[offset].serial == serial { return offset }
        return nil
    }

    /// The WQE at `offset` from the head, accessed in place: reading or changing a field
    /// copies no WQE (a copy retains its arrays).
    subscript(offset: Int) -> SendWQE {
        _read { yield slots[slot(offset)]! }
        _modify { yield &slots[slot(offset)]! }
    }

    /// Moves the WQE at `offset` out of the ring, to be worked on while the ring is changed too;
    /// ``put(_:at:)`` moves it back. The slot must not be read in between.
    mutating func take(at offset: Int) -> SendWQE {
        slots[slot(offset)].take()!
    }

    /// Moves a WQE taken with ``take(at:)`` back into its slot.
    mutating func put(_ wqe: consuming SendWQE, at offset: Int) {
        slots[slot(offset)] = wqe
    }

    @inline(__always)
    private func slot(_ offset: Int) -> Int {
        let index = head + offset
        return index < slots.count ? index : index - slots.count
    }

    mutating func removeFirst() -> SendWQE {
        let wqe = slots[head].take()!
        head = (head + 1) % slots.count
        count -= 1
        cursor = max(cursor - 1, 0)
        return wqe
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
