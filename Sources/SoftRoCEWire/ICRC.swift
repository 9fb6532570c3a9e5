/// The RoCEv2 invariant CRC: the last 4 bytes of every RoCEv2 packet (IBTA Vol. 1 Annex A17.3.3; rxe_icrc.c).
///
/// It is the ``CRC32`` of a pseudo packet:
/// 1. 8 bytes of 0xFF standing for the InfiniBand LRH;
/// 2. the IP header with the variant fields set to ones: IPv4 TOS, TTL and header checksum; IPv6 traffic class,
///    flow label and hop limit. The IPv4 identification is *not* masked;
/// 3. the UDP header with the checksum set to ones;
/// 4. the BTH with byte 4 (FECN, BECN, reserved) set to ones;
/// 5. the rest of the packet: extension headers, payload and pad.
///
/// On the wire the CRC value is sent least significant byte first (Linux stores `~crc` as a little-endian
/// `u32`): an rxe ACK whose ICRC is 0x34A1D844 ends in the bytes `44 d8 a1 34`.
public enum ICRC {
    /// The length of the ICRC field, 4 bytes.
    public static let byteCount = 4

    /// The CRC register after the 8 bytes of 0xFF that stand for the masked LRH, from 0xFFFFFFFF
    /// (rxe's seed 0xdebb20e3).
    static let seedAfterMaskedLRH: UInt32 = 0xDEBB_20E3

    /// The ICRC of a RoCEv2 packet carried over IPv4.
    ///
    /// - Parameters:
    ///   - ipHeader: the IPv4 header as sent, lengths included (its variant fields are masked here).
    ///   - udpHeader: the UDP header as sent (its checksum is masked here).
    ///   - roce: the packet from the BTH up to, not including, the ICRC field.
    /// - Returns: the CRC value; ``write(_:into:)`` places it on the wire.
    public static func compute(ipHeader: IPv4Header, udpHeader: UDPHeader, roce: Span<UInt8>) -> UInt32 {
        var crc = CRC32(state: seedAfterMaskedLRH)
        crc.updateBigEndian(ipHeader.firstWord | 0x00FF_0000)  // TOS
        crc.updateBigEndian(ipHeader.secondWord)  // identification, flags: covered as sent
        crc.updateBigEndian(ipHeader.thirdWord(checksum: 0xFFFF) | 0xFF00_0000)  // TTL, checksum
        crc.updateBigEndian(ipHeader.source.rawValue)
        crc.updateBigEndian(ipHeader.destination.rawValue)
        updateMasked(&crc, udpHeader: udpHeader, roce: roce)
        return crc.value
    }

    /// The ICRC of a RoCEv2 packet carried over IPv6.
    ///
    /// - Parameters:
    ///   - ipHeader: the IPv6 header as sent, payload length included (its variant fields are masked here).
    ///   - udpHeader: the UDP header as sent (its checksum is masked here).
    ///   - roce: the packet from the BTH up to, not including, the ICRC field.
    /// - Returns: the CRC value; ``write(_:into:)`` places it on the wire.
    public static func compute(ipHeader: IPv6Header, udpHeader: UDPHeader, roce: Span<UInt8>) -> UInt32 {
        var crc = CRC32(state: seedAfterMaskedLRH)
        crc.updateBigEndian(0x6FFF_FFFF as UInt32)  // version 6; traffic class and flow label
        crc.updateBigEndian(UInt32(ipHeader.payloadLength) << 16 | UInt32(ipHeader.nextHeader) << 8 | 0xFF)
        crc.updateBigEndian(ipHeader.source.rawValue)
        crc.updateBigEndian(ipHeader.destination.rawValue)
        updateMasked(&crc, udpHeader: udpHeader, roce: roce)
        return crc.value
    }

    /// The ICRC of a RoCEv2 packet under `network`, its length fields taken as they are.
    ///
    /// - Parameters:
    ///   - roce: the packet from the BTH up to, not including, the ICRC field.
    public static func compute(network: NetworkHeaders, roce: Span<UInt8>) -> UInt32 {
        switch network {
        case .ipv4(let ip, let udp): compute(ipHeader: ip, udpHeader: udp, roce: roce)
        case .ipv6(let ip, let udp): compute(ipHeader: ip, udpHeader: udp, roce: roce)
        }
    }

    /// Reads the ICRC field, the last 4 bytes of `packet`, least significant byte first.
    ///
    /// - Returns: the CRC value, or `nil` if `packet` is shorter than 4 bytes.
    public static func read(from packet: Span<UInt8>) -> UInt32? {
        guard packet.count >= byteCount else { return nil }
        return packet.littleEndianUInt32(at: packet.count - byteCount)
    }

    /// Appends `value` as the 4-byte ICRC field, least significant byte first.
    public static func write(_ value: UInt32, into buffer: inout [UInt8]) {
        buffer.appendLittleEndian(value)
    }

    /// Feeds the masked UDP header and the packet with BTH byte 4 masked.
    private static func updateMasked(_ crc: inout CRC32, udpHeader: UDPHeader, roce: Span<UInt8>) {
        crc.updateBigEndian(UInt32(udpHeader.sourcePort) << 16 | UInt32(udpHeader.destinationPort))
        crc.updateBigEndian(UInt32(udpHeader.length) << 16 | 0xFFFF)
        let maskedIndex = 4  // FECN, BECN, reserved
        guard roce.count > maskedIndex else {
            crc.update(roce)
            return
        }
        crc.update(roce.extracting(0..<maskedIndex))
        crc.update(0xFF)
        crc.update(roce.extracting((maskedIndex + 1)...))
    }
}
