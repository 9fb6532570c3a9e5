@testable import SoftRoCE
import SoftRoCEWire
import Testing

@Suite("Queue pair numbers")
struct QueuePairTableTests {
    @Test("numbers are distinct from 17 on, resolve to their QP, and stop resolving once destroyed")
    func numbersResolveUntilDestroyed() throws {
        let device = Device(name: "softroce-qpn")
        defer { device.close() }
        let pd = device.allocateProtectionDomain()
        let cq = try device.createCompletionQueue(capacity: 16)
        let caps = QueuePairCapabilities(maxSendWR: 4, maxReceiveWR: 4)
        var qps: [QueuePair] = []
        for _ in 0..<20 {
            qps.append(try device.createQueuePair(
                type: .rc, protectionDomain: pd, sendCompletionQueue: cq, receiveCompletionQueue: cq, capabilities: caps))
        }
        #expect(Set(qps.map(\.number)).count == qps.count)
        #expect(qps.allSatisfy { $0.number.rawValue >= 17 })
        for qp in qps { #expect(device.queuePair(number: qp.number) === qp) }
        let gone = qps.removeFirst()
        gone.destroy()
        #expect(device.queuePair(number: gone.number) == nil)
        // A number in the same slot but not handed out resolves to nothing.
        #expect(device.queuePair(number: QueuePairNumber(rawValue: qps[0].number.rawValue + (1 << 16))) == nil)
        let next = try device.createQueuePair(
            type: .rc, protectionDomain: pd, sendCompletionQueue: cq, receiveCompletionQueue: cq, capabilities: caps)
        #expect(next.number != gone.number, "a freed number is not handed out again right away")
        #expect(device.queuePair(number: next.number) === next)
    }
}
