import Synchronization
import NIOConcurrencyHelpers
public import SoftRoCEWire

/// A run of consecutive packets of one message, handed across a link as one unit: the device's
/// segmentation offload. A link that carries single packets (RoCEv2 over UDP) splits a run into
/// wire packets and delivers runs of one; the in-process link carries runs whole, so a 64 KiB
/// RDMA WRITE costs one copy from the source region into the target region.
///
/// `headers` are those of the first packet; ImmDt (and, for READ responses, the AETH) belong to
/// the last packet and are carried here too. Packet `k` of the run has PSN `bth.psn + k`.
public struct PacketRun: Hashable, Sendable {
    /// The first packet's headers (plus ImmDt of the last packet, when the message has one).
    public var headers: TransportHeaders
    /// Packets in the run, at least 1.
    public var packetCount: Int
    /// Whether the run's last packet ends the message (a LAST or ONLY opcode).
    public var endsMessage: Bool
    /// Payload bytes per packet, except the last, which carries the rest.
    public var mtu: Int
    /// Total payload bytes of the run.
    public var payloadLength: Int

    /// Creates a run.
    public init(headers: TransportHeaders, packetCount: Int = 1, endsMessage: Bool = true, mtu: Int, payloadLength: Int) {
        self.headers = headers
        self.packetCount = packetCount
        self.endsMessage = endsMessage
        self.mtu = mtu
        self.payloadLength = payloadLength
    }

    /// The PSN of the run's last packet.
    public var lastPSN: SoftRoCEWire.PacketSequenceNumber { headers.bth.psn + (packetCount - 1) }

    /// Whether the run's first packet begins a message (FIRST or ONLY opcode).
    public var beginsMessage: Bool { headers.opcode.isFirst || headers.opcode.isOnly }
}
