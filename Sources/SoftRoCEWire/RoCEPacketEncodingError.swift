/// Why ``RoCEPacket/encode(headers:payload:network:into:)`` refused to build a packet. Nothing is appended
/// when it throws.
public enum RoCEPacketEncodingError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The opcode is not one this codec knows (see ``Opcode/isSupported``).
    case unsupportedOpcode(Opcode)
    /// Extension headers the opcode calls for are `nil`.
    case missingHeaders(opcode: Opcode, missing: ExtensionHeaders)
    /// Extension headers the opcode does not carry are set.
    case unexpectedHeaders(opcode: Opcode, unexpected: ExtensionHeaders)
    /// The opcode carries no payload, yet a non-empty one was given.
    case unexpectedPayload(opcode: Opcode, byteCount: Int)
    /// The packet, BTH through ICRC, would not fit the IP and UDP length fields.
    case packetTooLarge(byteCount: Int, maximum: Int)

    /// A one-line explanation with the offending values.
    public var description: String {
        switch self {
        case .unsupportedOpcode(let opcode):
            "cannot encode unsupported \(opcode)"
        case .missingHeaders(let opcode, let missing):
            "\(opcode) requires \(missing)"
        case .unexpectedHeaders(let opcode, let unexpected):
            "\(opcode) does not carry \(unexpected)"
        case .unexpectedPayload(let opcode, let byteCount):
            "\(opcode) carries no payload, got \(byteCount) bytes"
        case .packetTooLarge(let byteCount, let maximum):
            "packet of \(byteCount) bytes exceeds the maximum of \(maximum)"
        }
    }
}
