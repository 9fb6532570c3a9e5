import Synchronization
import NIOConcurrencyHelpers
public import SoftRoCEMemory

/// How packet runs travel between devices: the boundary between what a QP does and how bytes
/// move. The in-process fabric hands runs to the destination device directly; RoCEv2 over UDP
/// serialises them into datagrams.
///
/// `transmit` may be called with the sending QP's responder lock held (acknowledgements go out
/// from inside the responder), so a link may deliver, during the call, only the run it is given,
/// and only to its destination: the in-process fabric does exactly that, synchronously; a
/// network link sends it and delivers what arrives from its own receive thread. `payload` is
/// valid only during the call.
public protocol PacketLink: AnyObject, Sendable {
    /// The largest payload the link carries as one run (segmentation offload), in bytes; a link
    /// of single packets returns 0 (runs are one MTU).
    var maxRunPayload: Int { get }

    /// Assigns the GID a new device will be reachable at.
    func assignGID() -> GID

    /// Attaches a device at the GID ``assignGID()`` gave it.
    func attach(_ device: Device, at gid: GID)

    /// Detaches a device; runs for its GID are dropped afterwards.
    func detach(_ device: Device)

    /// Sends `run` with `payload` from `source` to `destination`.
    func transmit(_ run: PacketRun, payload: MappedBytes?, from source: GID, to destination: GID)

    /// Sends the runs of `batch` from `source` to `destination`, in order, reading each payload
    /// through the batch while sending it; returns how many went out: all of them unless the
    /// batch ended early (``PacketRunBatch/withPayload(at:_:)`` returned false). The default
    /// sends them one by one (``transmitEach(_:from:to:)``).
    func transmit(_ batch: PacketRunBatch, from source: GID, to destination: GID) -> Int
}

extension PacketLink {
    public func transmit(_ batch: PacketRunBatch, from source: GID, to destination: GID) -> Int {
        transmitEach(batch, from: source, to: destination)
    }

    /// Sends the runs of `batch` one by one with ``transmit(_:payload:from:to:)``; returns how
    /// many went out.
    public func transmitEach(_ batch: PacketRunBatch, from source: GID, to destination: GID) -> Int {
        batch.forEachRun { transmit($0, payload: $1, from: source, to: destination) }
    }
}
