import SoftRoCE
import SoftRoCEMemory
import SoftRoCEWire

/// A link that forwards to an in-process fabric but drops the runs a script names: the n-th run
/// (counting from 1) with a given opcode. Deterministic loss, for one exact retransmission story.
final class ScriptedLossLink: PacketLink {
    private struct Script {
        /// The occurrences to drop, per opcode.
        var drop: [Opcode: Set<Int>]
        /// Runs seen so far, per opcode.
        var seen: [Opcode: Int] = [:]
    }
    private let fabric: InProcessFabric
    private let script: LockedValue<Script>

    init(fabric: InProcessFabric, drop: [Opcode: Set<Int>]) {
        self.fabric = fabric
        script = LockedValue(Script(drop: drop))
    }

    var maxRunPayload: Int { fabric.maxRunPayload }
    func assignGID() -> GID { fabric.assignGID() }
    func attach(_ device: Device, at gid: GID) { fabric.attach(device, at: gid) }
    func detach(_ device: Device) { fabric.detach(device) }

    func transmit(_ run: PacketRun, payload: MappedBytes?, from source: GID, to destination: GID) {
        let opcode = run.headers.bth.opcode
        let dropped = script.withLockedValue { script -> Bool in
            let occurrence = script.seen[opcode, default: 0] + 1
            script.seen[opcode] = occurrence
            return script.drop[opcode]?.contains(occurrence) ?? false
        }
        if !dropped { fabric.transmit(run, payload: payload, from: source, to: destination) }
    }
}
