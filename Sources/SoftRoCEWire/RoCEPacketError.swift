/// Why a RoCEv2 packet was rejected by ``RoCEPacket``'s decoder. Each case is a distinct reason to drop and
/// count a packet; none of them traps.
public enum RoCEPacketError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Fewer bytes than a BTH and an ICRC (16).
    case tooShort(byteCount: Int)
    /// The BTH TVer is not 0.
    case unsupportedTransportVersion(UInt8)
    /// The opcode is not one this codec knows (see ``Opcode/isSupported``).
    case unsupportedOpcode(Opcode)
    /// The packet ends inside the extension headers its opcode calls for, or leaves no room for the ICRC.
    case truncatedHeaders(opcode: Opcode, byteCount: Int, required: Int)
    /// The BTH pad count is larger than the bytes between the headers and the ICRC.
    case padExceedsPayload(padCount: Int, available: Int)
    /// The opcode carries no payload, yet bytes sit between its headers and the ICRC.
    case unexpectedPayload(opcode: Opcode, byteCount: Int)
    /// The packet length is not a multiple of 4 bytes, which the pad count guarantees for valid packets.
    case unalignedLength(byteCount: Int)
    /// The ICRC field does not match the ICRC computed over the packet.
    case icrcMismatch(computed: UInt32, received: UInt32)

    /// A one-line explanation with the offending numbers.
    public var description: String {
        switch self {
        case .tooShort(let byteCount):
            "packet of \(byteCount) bytes is shorter than a BTH and an ICRC (16 bytes)"
        case .unsupportedTransportVersion(let version):
            "unsupported BTH transport version \(version)"
        case .unsupportedOpcode(let opcode):
            "unsupported \(opcode)"
        case .truncatedHeaders(let opcode, let byteCount, let required):
            "\(opcode) needs at least \(required) bytes, packet has \(byteCount)"
        case .padExceedsPayload(let padCount, let available):
            "pad count \(padCount) exceeds the \(available) bytes after the headers"
        case .unexpectedPayload(let opcode, let byteCount):
            "\(opcode) carries no payload, packet has \(byteCount) bytes of it"
        case .unalignedLength(let byteCount):
            "packet length \(byteCount) is not a multiple of 4"
        case .icrcMismatch(let computed, let received):
            "ICRC mismatch: computed \(hexString(computed, digits: 8)), received \(hexString(received, digits: 8))"
        }
    }
}
