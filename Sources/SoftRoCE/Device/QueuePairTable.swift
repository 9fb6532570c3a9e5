import SoftRoCEMemory
import SoftRoCEWire

/// The device's QP number → QP table.
///
/// Numbers are handed out cyclically from 17 (0 and 1 are the special QPs) through the 24-bit
/// space, skipping a number while a live QP holds its slot (`number mod 2^16`). Every live QP
/// thus has a slot of its own and a lookup, which the in-process fabric makes for every run it
/// delivers, is an array index: no hashing. A number comes back only after the whole space has
/// been used once, as rxe's cyclic index pool does.
final class QueuePairTable: Sendable {
    /// Slots, and so at most this many live QPs: `DeviceAttributes.maxQueuePairs`.
    static let slotCount = 1 << 16
    private static let firstNumber: UInt32 = 17

    private struct State {
        /// Grown on demand up to ``slotCount``.
        var slots: [QueuePair?] = []
        var next = QueuePairTable.firstNumber
        var count = 0
    }
    private let state = LockedValue(State())

    init() {}

    @inline(__always)
    private static func slot(of number: UInt32) -> Int { Int(number) & (slotCount - 1) }

    /// The number after `number`, cyclically over 17 ... 2^24 - 1.
    private static func successor(of number: UInt32) -> UInt32 {
        number >= QueuePairNumber.mask ? firstNumber : number + 1
    }

    /// Gives the QP that `make` builds the next free number and inserts it.
    /// - Throws: ``VerbsError`` `invalidAttributeValue` when ``slotCount`` QPs are live.
    func insert(_ make: (QueuePairNumber) -> QueuePair) throws -> QueuePair {
        try state.withLockedValue { state in
            guard state.count < Self.slotCount else {
                throw VerbsError(.invalidAttributeValue, "too many queue pairs (max \(Self.slotCount))")
            }
            var number = state.next
            while true {
                let slot = Self.slot(of: number)
                if slot >= state.slots.count || state.slots[slot] == nil { break }
                number = Self.successor(of: number)
            }
            state.next = Self.successor(of: number)
            let slot = Self.slot(of: number)
            if slot >= state.slots.count { state.slots.append(contentsOf: repeatElement(nil, count: slot + 1 - state.slots.count)) }
            let qp = make(QueuePairNumber(rawValue: number))
            state.slots[slot] = qp
            state.count += 1
            return qp
        }
    }

    /// The live QP with exactly this number, if any.
    @inline(__always)
    func lookup(_ number: QueuePairNumber) -> QueuePair? {
        state.withLockedValue { state in
            let slot = Self.slot(of: number.rawValue)
            guard slot < state.slots.count, let qp = state.slots[slot], qp.number == number else { return nil }
            return qp
        }
    }

    /// Removes `qp` (a no-op if it is not in the table).
    func remove(_ qp: QueuePair) {
        state.withLockedValue { state in
            let slot = Self.slot(of: qp.number.rawValue)
            if slot < state.slots.count, state.slots[slot] === qp {
                state.slots[slot] = nil
                state.count -= 1
            }
        }
    }

    /// The live QPs.
    var all: [QueuePair] { state.withLockedValue { $0.slots.compactMap { $0 } } }
}
