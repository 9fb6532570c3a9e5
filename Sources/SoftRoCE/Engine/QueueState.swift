import Synchronization
import NIOConcurrencyHelpers
import SoftRoCEMemory
import SoftRoCEWire

/// Path and protocol parameters a QP's roles use, copied from the attributes at each modify.
struct PathParameters: Sendable {
    var mtu = 1024
    var destinationQP = QueuePairNumber(rawValue: 0)
    var destinationGID = GID.zero
    var timeout: Duration? = .milliseconds(67)
    var retryCount = 7
    var rnrRetry = 7
    var minRNRTimer = SoftRoCEWire.RNRTimer(rawValue: 12)
    var maxReadAtomic = 1
    var qkey: UInt32 = 0
    var access: AccessFlags = []
}

/// Requester and completer state of a QP (guarded by one lock: both touch the send queue).
struct SendSide: Sendable {
    let queue: SendQueue
    var path = PathParameters()
    /// PSN the next new packet gets.
    var nextPSN: PacketSequenceNumber = 0
    /// PSN of the newest acknowledged packet.
    var lastAckedPSN: PacketSequenceNumber = PacketSequenceNumber(rawValue: PacketSequenceNumber.mask)
    var retryRemaining = 7
    /// A retransmission the completer started on a gap or a NAK, until the next progress: the
    /// responses still in flight behind a lost one each show the same gap, and must not each
    /// start (and spend) another retry (rxe's `comp.started_retry`). Timeouts retry regardless.
    var retryStarted = false
    var rnrRemaining = 7
    var retransmitDeadline: MonotonicInstant?
    /// Acknowledged progress since the deadline was armed: the timer re-arms instead of retrying
    /// (saves a clock read per acknowledgement).
    var progressSinceArmed = false
    var rnrDeadline: MonotonicInstant?
    var packetsSinceAckRequest = 0
    /// Set when the QP went to ERR: the requester flushes the queue.
    var flushPending = false
    /// The serial of the WQE the send queue is stalled at for a requester page fault.
    var stalledSerial: UInt64?
    /// The PSN an RNR NAK named while its back-off runs: an acknowledgement of the PSN before it
    /// (the responder's "fault resolved" hint) ends the back-off early.
    var rnrPSN: PacketSequenceNumber?
    /// The local region the last WQE's SGEs named.
    var localRegionCache = MemoryRegionCache()

    init(capacity: Int) { queue = SendQueue(capacity: capacity) }

    /// READ and ATOMIC requests sent and still waiting for their responses.
    var outstandingReadAtomic: Int {
        var count = 0
        for offset in 0..<queue.cursor {
            // Stored fields only: reading them in place copies no WQE.
            if queue[offset].opcode.isReadOrAtomic && queue[offset].started && queue[offset].status == nil { count += 1 }
        }
        return count
    }

    /// Packets a requester sends at most between two acknowledgement requests.
    static let acknowledgeInterval = 256

    /// Whether the run about to go out (its packets already counted in `packetsSinceAckRequest`)
    /// asks the responder for an ACK: coalesced as rxe and hardware do, so one ACK completes a
    /// batch of WQEs. A run asks when ``acknowledgeInterval`` packets went out without one, or
    /// when it ends a message (the WQE at `endingMessageAt`) that is signaled (its completion
    /// should not wait) or the last one queued: the last message before the queue idles always
    /// asks, so everything sent is acknowledged or retransmitted. `morePosted` tells whether
    /// WQEs wait in the inbox, not yet moved into ``queue``.
    func needsAcknowledgeRequest(endingMessageAt offset: Int?, signaled: Bool, morePosted: @autoclosure () -> Bool) -> Bool {
        if packetsSinceAckRequest >= Self.acknowledgeInterval { return true }
        guard let offset else { return false }
        return signaled || (offset + 1 >= queue.count && !morePosted())
    }

    /// Whether any sent packet is still unacknowledged.
    var hasOutstanding: Bool { lastAckedPSN.next != nextPSN }
}

/// A multi-packet message the responder is in the middle of.
enum InboundMessage: Sendable {
    case send(ReceiveWorkRequest, offset: Int)
    case write(MemoryRegion, address: UInt64, remaining: Int, total: Int)
}

/// Responder state of a QP.
struct ResponderSide: Sendable {
    var path = PathParameters()
    var expectedPSN: PacketSequenceNumber = 0
    var msn = MessageSequenceNumber(rawValue: 0)
    var nakSequenceSent = false
    var message: InboundMessage?
    /// Recent atomic results by PSN, to answer a duplicate atomic request without executing it twice.
    var atomicReplay: [(psn: PacketSequenceNumber, original: UInt64)] = []
    /// The region the last RDMA request's rkey named.
    var remoteRegionCache = MemoryRegionCache()
}
