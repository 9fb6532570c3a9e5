extension ICRC {
    /// Finds the IPv4 identification for which a packet's ICRC is correct.
    ///
    /// The ICRC covers the IPv4 identification, but a receiver on a UDP socket never sees it, and Linux fills it
    /// per packet (rxe: a hashed per-destination counter). CRC-32 is linear, so the 16 unknown bits can be solved
    /// for instead of guessed: the ICRC is computed with identification 0, the difference to the received ICRC is
    /// run backwards over the bytes after the field, and what remains must be the CRC image of two bytes, which
    /// identifies them. Cost: one ICRC pass plus about 2000 bit operations.
    ///
    /// A `nil` result proves the packet corrupt. A non-`nil` result means the packet is intact for *some*
    /// identification: a random corruption passes with probability 2^-16 instead of 2^-32.
    ///
    /// - Parameters:
    ///   - ipHeader: the IPv4 header with correct addresses, protocol, flags and total length; its
    ///     identification is ignored.
    ///   - udpHeader: the UDP header with correct ports and length.
    ///   - roce: the packet from the BTH up to, not including, the ICRC field.
    ///   - icrc: the received ICRC value (``read(from:)``).
    /// - Returns: the identification, or `nil` if no value makes the ICRC match.
    public static func recoverIdentification(
        ipHeader: IPv4Header,
        udpHeader: UDPHeader,
        roce: Span<UInt8>,
        icrc: UInt32
    ) -> UInt16? {
        var withoutIdentification = ipHeader
        withoutIdentification.identification = 0
        let difference = compute(ipHeader: withoutIdentification, udpHeader: udpHeader, roce: roce) ^ icrc
        // The identification is bytes 4-5 of the IPv4 header; after it come 14 more IPv4 bytes, the UDP header
        // and the packet. Undo those, plus the table step of the low identification byte.
        let bytesAfterField = IPv4Header.byteCount - 6 + UDPHeader.byteCount + roce.count
        let image = CRC32Tables.unshift(difference, zeroByteCount: bytesAfterField + 1)
        // image == T0[high] ^ low: the top byte of T0 entries is unique, so it names `high`.
        let high = CRC32Tables.topByteIndex[Int(image >> 24)]
        let low = image ^ CRC32Tables.slicing16[Int(high)]
        guard low & 0xFFFF_FF00 == 0 else { return nil }
        return UInt16(high) << 8 | UInt16(low)
    }
}
