import SoftRoCEWire
import Testing

@Suite("PacketSequenceNumber")
struct PacketSequenceNumberTests {
    @Test("values are masked to 24 bits")
    func masking() {
        #expect(PacketSequenceNumber(rawValue: 0x1234_5678).rawValue == 0x34_5678)
        #expect(PacketSequenceNumber(rawValue: 0xFFFF_FFFF).rawValue == 0xFF_FFFF)
        let literal: PacketSequenceNumber = 0x0100_0001
        #expect(literal.rawValue == 1)
        #expect(PacketSequenceNumber(rawValue: 0x5C_CE62).description == "0x5cce62")
    }

    @Test("arithmetic wraps at 2^24")
    func wrapping() {
        let last: PacketSequenceNumber = 0xFF_FFFF
        #expect(last.next == 0)
        #expect(last + 2 == 1)
        #expect(PacketSequenceNumber(0) - 1 == last)
        #expect(PacketSequenceNumber(5).advanced(by: -6) == last)
        #expect(PacketSequenceNumber(7).advanced(by: PacketSequenceNumber.modulus) == 7)
        #expect(PacketSequenceNumber(7).advanced(by: Int.min) == 7)
    }

    @Test("distance is wrap-aware like rxe's psn_compare")
    func distance() {
        let last: PacketSequenceNumber = 0xFF_FFFF
        #expect(last.distance(to: 0) == 1)
        #expect(PacketSequenceNumber(0).distance(to: last) == -1)
        #expect(PacketSequenceNumber(10).distance(to: 3) == -7)
        #expect(PacketSequenceNumber(0).distance(to: 0x7F_FFFF) == 0x7F_FFFF)
        #expect(PacketSequenceNumber(0).distance(to: 0x80_0000) == -0x80_0000)
        #expect(PacketSequenceNumber(0xFF_FFF0).distance(to: 0x10) == 0x20)
    }

    @Test("precedes and follows across the wrap", arguments: [0, 1, 0x7F_FFFF, 0x80_0000, 0xFF_FFFE, 0xFF_FFFF])
    func ordering(_ raw: UInt32) {
        let psn = PacketSequenceNumber(rawValue: raw)
        for step in [1, 2, 1000, 0x7F_FFFF] {
            let later = psn.advanced(by: step)
            #expect(psn.precedes(later))
            #expect(later.follows(psn))
            #expect(!later.precedes(psn))
            #expect(psn.distance(to: later) == step)
            #expect(later.distance(to: psn) == -step)
        }
        #expect(!psn.precedes(psn) && !psn.follows(psn))
        // Exactly half the circle apart, each precedes the other (psn_compare gives -2^23 both ways).
        let opposite = psn.advanced(by: 0x80_0000)
        #expect(opposite.precedes(psn) && psn.precedes(opposite))
        #expect(!opposite.follows(psn) && !psn.follows(opposite))
    }

    @Test("matches the C expression (int32)((a - b) << 8) >> 8 on random pairs")
    func randomPairs() {
        var generator = SplitMix64(seed: 0x5053_4E)
        for _ in 0..<10_000 {
            let a = UInt32.random(in: 0...0xFF_FFFF, using: &generator)
            let b = UInt32.random(in: 0...0xFF_FFFF, using: &generator)
            var reference = Int(a) - Int(b)
            if reference >= 1 << 23 { reference -= 1 << 24 }
            if reference < -(1 << 23) { reference += 1 << 24 }
            #expect(PacketSequenceNumber(rawValue: b).distance(to: PacketSequenceNumber(rawValue: a)) == reference)
        }
    }
}

@Suite("MessageSequenceNumber, QueuePairNumber, PartitionKey")
struct SmallIntegerTests {
    @Test("MSN wraps at 2^24")
    func messageSequenceNumber() {
        let last: MessageSequenceNumber = 0xFF_FFFF
        #expect(last.next == 0)
        #expect(last.distance(to: 2) == 3)
        #expect(MessageSequenceNumber(rawValue: 0x0100_0005).rawValue == 5)
        #expect(MessageSequenceNumber(rawValue: 42).description == "42")
    }

    @Test("QPNs are masked to 24 bits")
    func queuePairNumber() {
        #expect(QueuePairNumber(rawValue: 0xAB00_0011).rawValue == 0x11)
        #expect(QueuePairNumber(rawValue: 0x11).description == "0x000011")
        #expect(QueuePairNumber.generalServices.rawValue == 1)
    }

    @Test("P_Key membership and partition")
    func partitionKey() {
        #expect(PartitionKey.default.rawValue == 0xFFFF)
        #expect(PartitionKey.default.isFullMember)
        #expect(PartitionKey.default.partition == 0x7FFF)
        #expect(!PartitionKey(rawValue: 0x7FFF).isFullMember)
        #expect(PartitionKey.default.description == "0xffff")
    }
}

extension PacketSequenceNumber {
    /// Test shorthand for `PacketSequenceNumber(rawValue:)`.
    init(_ value: UInt32) {
        self.init(rawValue: value)
    }
}
