import SoftRoCE
import SoftRoCEMemory
import SoftRoCEWire

/// A link that forwards to an in-process fabric and misbehaves where a script says: it drops the
/// n-th run (counting from 1) with a given opcode, delivers one twice in a row, or delivers a
/// copy of one again later (a stale duplicate), just before a run on the same path once at least
/// three more runs went by. Deterministic loss and duplication, for exact retransmission stories.
/// (Only runs on the path being transmitted are delivered during a transmit: the in-process
/// fabric's own rule, which the device's locking relies on.)
final class ScriptedLossLink: PacketLink {
    /// What to do with the n-th run of an opcode.
    struct Script: Sendable {
        var drop: [Opcode: Set<Int>] = [:]
        var duplicate: [Opcode: Set<Int>] = [:]
        var replayLater: [Opcode: Set<Int>] = [:]
    }
    private struct Delayed {
        var run: PacketRun
        var payload: [UInt8]?
        var source: GID
        var destination: GID
        /// Runs still to go by before this one is delivered again.
        var after: Int
    }
    private struct State {
        var script: Script
        /// Runs seen so far, per opcode.
        var seen: [Opcode: Int] = [:]
        var delayed: [Delayed] = []
    }
    private let fabric: InProcessFabric
    private let state: LockedValue<State>

    init(fabric: InProcessFabric, script: Script) {
        self.fabric = fabric
        state = LockedValue(State(script: script))
    }

    convenience init(fabric: InProcessFabric, drop: [Opcode: Set<Int>]) {
        self.init(fabric: fabric, script: Script(drop: drop))
    }

    var maxRunPayload: Int { fabric.maxRunPayload }
    func assignGID() -> GID { fabric.assignGID() }
    func attach(_ device: Device, at gid: GID) { fabric.attach(device, at: gid) }
    func detach(_ device: Device) { fabric.detach(device) }

    func transmit(_ run: PacketRun, payload: MappedBytes?, from source: GID, to destination: GID) {
        let opcode = run.headers.bth.opcode
        let (drop, duplicate, due) = state.withLockedValue { state -> (Bool, Bool, [Delayed]) in
            let occurrence = state.seen[opcode, default: 0] + 1
            state.seen[opcode] = occurrence
            for index in state.delayed.indices { state.delayed[index].after -= 1 }
            let isDue = { (delayed: Delayed) in delayed.after <= 0 && delayed.source == source && delayed.destination == destination }
            let due = state.delayed.filter(isDue)
            state.delayed.removeAll(where: isDue)
            if state.script.replayLater[opcode]?.contains(occurrence) ?? false {
                state.delayed.append(Delayed(run: run, payload: payload?.bytes(), source: source, destination: destination, after: 3))
            }
            return (
                state.script.drop[opcode]?.contains(occurrence) ?? false,
                state.script.duplicate[opcode]?.contains(occurrence) ?? false, due)
        }
        for var stale in due {
            if var bytes = stale.payload {
                MappedBytes.withBytes(of: &bytes) { fabric.transmit(stale.run, payload: $0, from: source, to: destination) }
                stale.payload = bytes
            } else {
                fabric.transmit(stale.run, payload: nil, from: source, to: destination)
            }
        }
        if !drop {
            fabric.transmit(run, payload: payload, from: source, to: destination)
            if duplicate { fabric.transmit(run, payload: payload, from: source, to: destination) }
        }
    }
}
