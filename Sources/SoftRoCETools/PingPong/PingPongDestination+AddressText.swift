import SoftRoCE

extension PingPongDestination {
    /// `"LID 0x%04x, QPN 0x%06x, PSN 0x%06x, GID %s"` with the GID as `inet_ntop(AF_INET6)`
    /// writes it: what the pingpong tools print after `"  remote address: "` (and rc_pingpong
    /// after `"  local address:  "`).
    public var addressText: String { addressText(beforeGID: ", ") }

    /// The address text with `separator` before `"GID"`: `", "`, or `": "` in ud_pingpong's local
    /// address line.
    func addressText(beforeGID separator: String) -> String {
        "LID 0x\(Self.hex(UInt32(lid), width: 4)), "
            + "QPN 0x\(Self.hex(queuePairNumber.rawValue, width: 6)), "
            + "PSN 0x\(Self.hex(packetSequenceNumber.rawValue, width: 6))\(separator)"
            + "GID \(gid.presentationAddress)"
    }
}
