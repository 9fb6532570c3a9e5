import SoftRoCEVectors
import SoftRoCEWire
import Testing

/// One capture in `Vectors/` and what its README says it contains.
struct VectorFile: Sendable, CustomTestStringConvertible {
    /// The file name in `Vectors/`.
    var name: String
    /// The number of pcap records (all frames, RoCE or not).
    var recordCount: Int
    /// The number of RoCEv2 packets.
    var roceCount: Int
    /// Exactly the opcodes that occur.
    var opcodes: Set<Opcode>

    var testDescription: String { name }

    /// The six rxe captures.
    static let all: [VectorFile] = [
        VectorFile(
            name: "rc-pingpong.pcap",
            recordCount: 120,
            roceCount: 109,
            opcodes: [.rcSendFirst, .rcSendMiddle, .rcSendLast, .rcAcknowledge]
        ),
        VectorFile(name: "ud-pingpong.pcap", recordCount: 60, roceCount: 49, opcodes: [.udSendOnly]),
        VectorFile(
            name: "write-bw.pcap",
            recordCount: 200,
            roceCount: 179,
            opcodes: [.rcRDMAWriteFirst, .rcRDMAWriteMiddle, .rcRDMAWriteLast, .rcAcknowledge]
        ),
        VectorFile(
            name: "read-bw.pcap",
            recordCount: 220,
            roceCount: 180,
            opcodes: [
                .rcRDMAReadRequest, .rcRDMAReadResponseFirst, .rcRDMAReadResponseMiddle, .rcRDMAReadResponseLast,
            ]
        ),
        VectorFile(
            name: "atomic-bw.pcap",
            recordCount: 82,
            roceCount: 40,
            opcodes: [.rcFetchAdd, .rcAtomicAcknowledge]
        ),
        VectorFile(name: "send-bw-ud.pcap", recordCount: 48, roceCount: 20, opcodes: [.udSendOnly]),
    ]

    /// The parsed capture.
    func load() throws -> PcapFile {
        try PcapFile.vector(named: name)
    }

    /// The RoCEv2 packets of the capture.
    func packets() throws -> [CapturedRoCEPacket] {
        try load().rocePackets
    }
}
