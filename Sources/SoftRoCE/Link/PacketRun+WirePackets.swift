public import SoftRoCEWire

extension PacketRun {
    /// One packet of a run as it goes on the wire: its headers and which payload bytes of the run
    /// it carries.
    public struct WirePacket: Hashable, Sendable {
        /// The packet's BTH and exactly the extension headers its opcode carries.
        public var headers: TransportHeaders
        /// The packet's payload, as offsets into the run's payload.
        public var payloadRange: Range<Int>
    }

    /// Packet `index` (0 ..< ``packetCount``) of the run: PSN `bth.psn + index`, the
    /// FIRST / MIDDLE / LAST / ONLY opcode of its place in the message, only the extension
    /// headers that opcode carries (RETH on the first packet of a WRITE, ImmDt on the last, AETH
    /// on the first and last READ responses), and AckReq / SE only on the run's last packet.
    public func wirePacket(_ index: Int) -> WirePacket {
        precondition(index >= 0 && index < packetCount, "packet index out of the run")
        var headers = self.headers
        let first = index == 0 && beginsMessage
        let last = index == packetCount - 1 && endsMessage
        let opcode = headers.opcode
        if packetCount > 1 {
            if opcode.isSend || opcode.isRDMAWrite {
                headers.bth.opcode = Opcode.forRun(
                    write: opcode.isRDMAWrite, begins: first, ends: last, single: true, immediate: headers.immDt != nil)
            } else if opcode.isReadResponse {
                switch (first, last) {
                case (true, true): headers.bth.opcode = .rcRDMAReadResponseOnly
                case (true, false): headers.bth.opcode = .rcRDMAReadResponseFirst
                case (false, true): headers.bth.opcode = .rcRDMAReadResponseLast
                case (false, false): headers.bth.opcode = .rcRDMAReadResponseMiddle
                }
            }
            headers.bth.psn = headers.bth.psn + index
            let endsRun = index == packetCount - 1
            headers.bth.acknowledgeRequest = headers.bth.acknowledgeRequest && endsRun
            headers.bth.solicitedEvent = headers.bth.solicitedEvent && endsRun
        }
        let carried = headers.bth.opcode.extensionHeaders
        if !carried.contains(.deth) { headers.deth = nil }
        if !carried.contains(.reth) { headers.reth = nil }
        if !carried.contains(.atomicETH) { headers.atomicETH = nil }
        if !carried.contains(.aeth) { headers.aeth = nil }
        if !carried.contains(.atomicAckETH) { headers.atomicAckETH = nil }
        if !carried.contains(.immDt) { headers.immDt = nil }
        if !carried.contains(.ieth) { headers.ieth = nil }
        let start = min(payloadLength, index * mtu)
        let end = index == packetCount - 1 ? payloadLength : min(payloadLength, start + mtu)
        return WirePacket(headers: headers, payloadRange: start..<end)
    }

    /// The run one packet received from the wire forms: a run of one packet that ends the
    /// message if its opcode is LAST or ONLY (or a single-packet operation).
    public init(wirePacket headers: TransportHeaders, payloadLength: Int) {
        let opcode = headers.opcode
        self.init(
            headers: headers, packetCount: 1, endsMessage: !(opcode.isFirst || opcode.isMiddle),
            mtu: max(1, payloadLength), payloadLength: payloadLength)
    }
}
