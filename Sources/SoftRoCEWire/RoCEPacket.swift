/// A decoded RoCEv2 packet: the UDP payload of a datagram to port 4791, laid out as
/// `BTH | extension headers | payload | pad (0-3) | ICRC (4)`.
///
/// Decoding reads headers and locates the payload without copying it: ``payloadRange`` holds offsets from the
/// start of the decoded span. Malformed input throws a ``RoCEPacketError``; it never traps.
///
/// ```swift
/// let datagram: [UInt8] = …  // one UDP payload received on port 4791
/// let packet = try RoCEPacket(decoding: datagram.span, verifying: .ipv4(ip, udp))
/// let payload = datagram.span.extracting(packet.payloadRange)
/// ```
public struct RoCEPacket: Hashable, Sendable {
    /// The BTH and extension headers.
    public var headers: TransportHeaders
    /// Where the payload lies, as offsets from the start of the decoded span (pad and ICRC excluded); empty if
    /// there is none.
    public var payloadRange: Range<Int>
    /// The ICRC field as received.
    public var icrc: UInt32

    /// Decodes the structure of a packet without checking its ICRC.
    ///
    /// Checks, in order: length for a BTH and ICRC, TVer 0, a supported opcode, room for the opcode's
    /// extension headers, the pad count, no payload on opcodes without one, and 4-byte alignment.
    ///
    /// - Parameter bytes: the UDP payload, BTH through ICRC.
    /// - Throws: ``RoCEPacketError`` other than ``RoCEPacketError/icrcMismatch(computed:received:)``.
    public init(decoding bytes: Span<UInt8>) throws(RoCEPacketError) {
        let count = bytes.count
        guard count >= BTH.byteCount + ICRC.byteCount, let bth = BTH.decode(from: bytes) else {
            throw .tooShort(byteCount: count)
        }
        guard bth.transportVersion == 0 else {
            throw .unsupportedTransportVersion(bth.transportVersion)
        }
        let opcode = bth.opcode
        guard opcode.isSupported else {
            throw .unsupportedOpcode(opcode)
        }
        let headerLength = opcode.headerLength
        guard count >= headerLength + ICRC.byteCount,
            let headers = TransportHeaders.decode(extensionHeadersOf: bth, from: bytes)
        else {
            throw .truncatedHeaders(opcode: opcode, byteCount: count, required: headerLength + ICRC.byteCount)
        }
        let payloadAndPad = count - headerLength - ICRC.byteCount
        let padCount = Int(bth.padCount)
        guard padCount <= payloadAndPad else {
            throw .padExceedsPayload(padCount: padCount, available: payloadAndPad)
        }
        guard opcode.hasPayload || payloadAndPad == 0 else {
            throw .unexpectedPayload(opcode: opcode, byteCount: payloadAndPad)
        }
        guard count % 4 == 0 else {
            throw .unalignedLength(byteCount: count)
        }
        self.headers = headers
        self.payloadRange = headerLength..<(headerLength + payloadAndPad - padCount)
        self.icrc = bytes.littleEndianUInt32(at: count - ICRC.byteCount)
    }

    /// Decodes a packet and checks its ICRC against `network`.
    ///
    /// The length fields of `network` are set from `bytes.count` first
    /// (``NetworkHeaders/settingLengths(roceByteCount:)``), so a receiver only supplies addresses, ports and,
    /// for IPv4, the identification the sender used.
    ///
    /// - Parameters:
    ///   - bytes: the UDP payload, BTH through ICRC.
    ///   - network: the IP and UDP headers the packet arrived in.
    /// - Throws: any ``RoCEPacketError``; ``RoCEPacketError/icrcMismatch(computed:received:)`` when the structure
    ///   is valid but the ICRC is not.
    public init(decoding bytes: Span<UInt8>, verifying network: NetworkHeaders) throws(RoCEPacketError) {
        try self.init(decoding: bytes)
        let covered = bytes.extracting(0..<(bytes.count - ICRC.byteCount))
        let computed = ICRC.compute(network: network.settingLengths(roceByteCount: bytes.count), roce: covered)
        guard computed == icrc else {
            throw .icrcMismatch(computed: computed, received: icrc)
        }
    }

    /// The number of pad bytes between the payload and the ICRC (the BTH pad count).
    public var padCount: Int { Int(headers.bth.padCount) }

    /// The length of the decoded packet in bytes, BTH through ICRC.
    public var byteCount: Int { payloadRange.upperBound + padCount + ICRC.byteCount }
}
