/// The transport service an opcode belongs to: the top three bits of the opcode (IBTA Vol. 1, Table 38).
///
/// A closed set: three bits give exactly these eight values.
public enum Transport: UInt8, Hashable, Sendable, CaseIterable, CustomStringConvertible {
    /// Reliable Connection (0b000).
    case reliableConnection = 0
    /// Unreliable Connection (0b001).
    case unreliableConnection = 1
    /// Reliable Datagram (0b010).
    case reliableDatagram = 2
    /// Unreliable Datagram (0b011).
    case unreliableDatagram = 3
    /// Congestion Notification Packet (0b100), RoCEv2 annex A17.
    case congestionNotification = 4
    /// Extended Reliable Connection (0b101).
    case extendedReliableConnection = 5
    /// Reserved (0b110).
    case reserved = 6
    /// Manufacturer specific (0b111).
    case manufacturerSpecific = 7

    /// The transport of `opcode`, from its top three bits.
    public init(_ opcode: Opcode) {
        // Three bits always name a case.
        self = Transport(rawValue: opcode.rawValue >> 5) ?? .reserved
    }

    /// The IBTA abbreviation: "RC", "UC", "RD", "UD", "CNP", "XRC", "reserved" or "MSP".
    public var description: String {
        switch self {
        case .reliableConnection: "RC"
        case .unreliableConnection: "UC"
        case .reliableDatagram: "RD"
        case .unreliableDatagram: "UD"
        case .congestionNotification: "CNP"
        case .extendedReliableConnection: "XRC"
        case .reserved: "reserved"
        case .manufacturerSpecific: "MSP"
        }
    }
}
