/// The IP and UDP headers around a RoCEv2 packet: what the ICRC covers besides the packet itself.
///
/// A sender over a UDP socket never writes these bytes (the kernel does), but must predict them to compute the
/// ICRC: addresses and ports are known, lengths follow from the packet, TOS/TTL/checksums are masked, and the
/// IPv4 identification is whatever the kernel writes
/// (see ``ICRC/recoverIdentification(ipHeader:udpHeader:roce:icrc:)``).
public enum NetworkHeaders: Hashable, Sendable {
    /// RoCEv2 over IPv4.
    case ipv4(IPv4Header, UDPHeader)
    /// RoCEv2 over IPv6.
    case ipv6(IPv6Header, UDPHeader)

    /// The UDP header.
    public var udp: UDPHeader {
        switch self {
        case .ipv4(_, let udp), .ipv6(_, let udp): udp
        }
    }

    /// The largest RoCE packet (BTH through ICRC) these headers can carry, in bytes: 65507 over IPv4 (the
    /// 16-bit total length), 65527 over IPv6 (the 16-bit UDP length).
    public var maximumRoCEByteCount: Int {
        switch self {
        case .ipv4: Int(UInt16.max) - IPv4Header.byteCount - UDPHeader.byteCount
        case .ipv6: Int(UInt16.max) - UDPHeader.byteCount
        }
    }

    /// These headers with their length fields set for a RoCE packet of `roceByteCount` bytes (BTH through
    /// ICRC): the IPv4 total length or IPv6 payload length, and the UDP length.
    ///
    /// Lengths beyond ``maximumRoCEByteCount`` are truncated to 16 bits.
    public func settingLengths(roceByteCount: Int) -> NetworkHeaders {
        let udpLength = UInt16(truncatingIfNeeded: UDPHeader.byteCount + roceByteCount)
        switch self {
        case .ipv4(var ip, var udp):
            ip.totalLength = UInt16(truncatingIfNeeded: IPv4Header.byteCount + UDPHeader.byteCount + roceByteCount)
            udp.length = udpLength
            return .ipv4(ip, udp)
        case .ipv6(var ip, var udp):
            ip.payloadLength = udpLength
            udp.length = udpLength
            return .ipv6(ip, udp)
        }
    }
}
