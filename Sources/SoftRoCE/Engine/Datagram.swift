import Synchronization
import NIOConcurrencyHelpers
import SoftRoCEMemory
import SoftRoCEWire

extension QueuePair {
    /// Bytes at the start of every UD receive buffer reserved for the GRH, as in ibverbs.
    static let grhLength = 40

    /// The UD responder: checks the Q_Key, takes a receive, writes the 40-byte GRH area and the
    /// payload, and completes the receive. Unreliable: no receive posted, or a wrong Q_Key, drops
    /// the datagram (counted).
    func receiveDatagram(_ run: PacketRun, payload: MappedBytes?, from source: GID) {
        guard let deth = run.headers.deth else {
            device.statistics.droppedPackets.add(1, ordering: .relaxed)
            return
        }
        let qkey = responderSide.withLockedValue { $0.path.qkey }
        guard deth.queueKey == qkey else {
            device.statistics.droppedPackets.add(1, ordering: .relaxed)
            return
        }
        guard let receive = takeReceive() else {
            device.statistics.droppedPackets.add(1, ordering: .relaxed)
            return
        }
        let length = run.payloadLength
        guard Self.grhLength + length <= Int(receive.totalLength) else {
            complete(receive, status: .localLengthError, byteLength: 0, run: run, sourceQP: deth.sourceQueuePair)
            return
        }
        var grh = Self.globalRouteHeader(payloadLength: length, source: source, destination: device.gid)
        var outcome = MappedBytes.withBytes(of: &grh) { scatter($0, into: receive, at: 0) }
        if case .completed = outcome, let payload, length > 0 { outcome = scatter(payload, into: receive, at: Self.grhLength) }
        switch outcome {
        case .completed:
            break
        case .failed:
            complete(receive, status: .localProtectionError, byteLength: 0, run: run, sourceQP: deth.sourceQueuePair)
            return
        case .pageFault(let region, let fault):
            // UD has no RNR: the datagram is dropped (as a NIC drops it) and the receive stays
            // first in line; the fault is resolved for the next one.
            returnReceive(receive)
            device.statistics.droppedPackets.add(1, ordering: .relaxed)
            queueResponderFault(PageFaultRequest(context: .responderWrite, region: region, fault: fault))
            return
        }
        complete(receive, status: .success, byteLength: Self.grhLength + length, run: run, sourceQP: deth.sourceQueuePair, hasGRH: true)
    }

    /// A 40-byte IBA global route header (IPv6 layout) for the GRH area.
    static func globalRouteHeader(payloadLength: Int, source: GID, destination: GID) -> [UInt8] {
        var header = [UInt8](repeating: 0, count: grhLength)
        header[0] = 0x60
        let length = UInt16(truncatingIfNeeded: payloadLength)
        header[4] = UInt8(length >> 8)
        header[5] = UInt8(truncatingIfNeeded: length)
        header[6] = 0x1B
        header[7] = 64
        header.replaceSubrange(8..<24, with: source.bytes)
        header.replaceSubrange(24..<40, with: destination.bytes)
        return header
    }
}
