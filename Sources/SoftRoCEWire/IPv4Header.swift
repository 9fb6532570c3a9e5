/// The fixed 20-byte IPv4 header (RFC 791) that carries RoCEv2 over IPv4.
///
/// Options, when the IHL announces them, are not modelled: ``decode(from:at:)`` skips nothing and
/// ``headerLength`` says where the UDP header starts. The ICRC covers these 20 bytes (as rxe's `struct iphdr`),
/// with TOS, TTL and header checksum masked to ones; the identification field is covered as sent.
public struct IPv4Header: Hashable, Sendable {
    /// The length of the fixed header, 20 bytes.
    public static let byteCount = 20

    /// The protocol number of UDP, 17.
    public static let udpProtocol: UInt8 = 17

    private var storedInternetHeaderLength: UInt8
    /// The type-of-service byte: DSCP in the top six bits, ECN in the low two. Masked in the ICRC.
    public var typeOfService: UInt8
    /// The length of the whole IP datagram in bytes, header included.
    public var totalLength: UInt16
    /// The identification field. Not masked in the ICRC: a receiver must know what the sender wrote.
    public var identification: UInt16
    /// The flags (top three bits: reserved, DF, MF) and the 13-bit fragment offset in 8-byte units.
    public var flagsAndFragmentOffset: UInt16
    /// The time to live. Masked in the ICRC.
    public var timeToLive: UInt8
    /// The payload protocol; 17 (UDP) for RoCEv2.
    public var protocolNumber: UInt8
    /// The header checksum as stored; see ``computedChecksum``. Masked in the ICRC.
    public var headerChecksum: UInt16
    /// The sender's address.
    public var source: IPv4Address
    /// The receiver's address.
    public var destination: IPv4Address

    /// The IHL: the header length in 32-bit words, 5 without options; only the low 4 bits are kept.
    public var internetHeaderLength: UInt8 {
        get { storedInternetHeaderLength }
        set { storedInternetHeaderLength = newValue & 0xF }
    }

    /// The header length in bytes, options included (IHL × 4).
    public var headerLength: Int { Int(storedInternetHeaderLength) * 4 }

    /// Whether DF (don't fragment) is set; Linux sets it on rxe's packets and on UDP sockets doing path MTU
    /// discovery.
    public var dontFragment: Bool {
        get { flagsAndFragmentOffset & 0x4000 != 0 }
        set {
            if newValue {
                flagsAndFragmentOffset |= 0x4000
            } else {
                flagsAndFragmentOffset &= ~0x4000
            }
        }
    }

    /// Creates a header. Defaults are what Linux rxe sends: DF set, TTL 64, TOS 0, UDP, no options.
    ///
    /// - Parameters:
    ///   - totalLength: bytes in the datagram; ``NetworkHeaders/settingLengths(roceByteCount:)`` fills it in.
    ///   - headerChecksum: as stored; call ``updateChecksum()`` to make it valid.
    public init(
        source: IPv4Address,
        destination: IPv4Address,
        totalLength: UInt16 = 0,
        identification: UInt16 = 0,
        flagsAndFragmentOffset: UInt16 = 0x4000,
        timeToLive: UInt8 = 64,
        typeOfService: UInt8 = 0,
        protocolNumber: UInt8 = IPv4Header.udpProtocol,
        headerChecksum: UInt16 = 0,
        internetHeaderLength: UInt8 = 5
    ) {
        self.storedInternetHeaderLength = internetHeaderLength & 0xF
        self.typeOfService = typeOfService
        self.totalLength = totalLength
        self.identification = identification
        self.flagsAndFragmentOffset = flagsAndFragmentOffset
        self.timeToLive = timeToLive
        self.protocolNumber = protocolNumber
        self.headerChecksum = headerChecksum
        self.source = source
        self.destination = destination
    }

    /// Reads the fixed header at `offset`.
    ///
    /// - Returns: the header, or `nil` if the version is not 4, the IHL is below 5, or fewer than
    ///   ``headerLength`` bytes follow `offset`.
    public static func decode(from bytes: Span<UInt8>, at offset: Int = 0) -> IPv4Header? {
        guard bytes.containsBytes(at: offset, length: byteCount) else { return nil }
        let versionAndLength = bytes[offset]
        let internetHeaderLength = versionAndLength & 0xF
        guard versionAndLength >> 4 == 4, internetHeaderLength >= 5,
            bytes.containsBytes(at: offset, length: Int(internetHeaderLength) * 4)
        else { return nil }
        return IPv4Header(
            source: IPv4Address(rawValue: bytes.bigEndianUInt32(at: offset + 12)),
            destination: IPv4Address(rawValue: bytes.bigEndianUInt32(at: offset + 16)),
            totalLength: bytes.bigEndianUInt16(at: offset + 2),
            identification: bytes.bigEndianUInt16(at: offset + 4),
            flagsAndFragmentOffset: bytes.bigEndianUInt16(at: offset + 6),
            timeToLive: bytes[offset + 8],
            typeOfService: bytes[offset + 1],
            protocolNumber: bytes[offset + 9],
            headerChecksum: bytes.bigEndianUInt16(at: offset + 10),
            internetHeaderLength: internetHeaderLength
        )
    }

    /// Appends the 20 fixed bytes to `buffer`, checksum as stored; options, if the IHL announces any, are the
    /// caller's to append.
    ///
    /// - Returns: the number of bytes written, 20.
    @discardableResult
    public func encode(into buffer: inout [UInt8]) -> Int {
        buffer.appendBigEndian(firstWord)
        buffer.appendBigEndian(secondWord)
        buffer.appendBigEndian(thirdWord(checksum: headerChecksum))
        buffer.appendBigEndian(source.rawValue)
        buffer.appendBigEndian(destination.rawValue)
        return Self.byteCount
    }

    /// The RFC 1071 checksum of the fixed 20 bytes with the checksum field taken as zero (options, which it
    /// should also cover, are not modelled).
    public var computedChecksum: UInt16 {
        func halves(_ word: UInt32) -> UInt32 { (word >> 16) + (word & 0xFFFF) }
        var sum =
            halves(firstWord) + halves(secondWord) + halves(thirdWord(checksum: 0)) + halves(source.rawValue)
            + halves(destination.rawValue)
        while sum > 0xFFFF {
            sum = (sum >> 16) + (sum & 0xFFFF)
        }
        return ~UInt16(truncatingIfNeeded: sum)
    }

    /// Whether ``headerChecksum`` matches ``computedChecksum``.
    public var hasValidChecksum: Bool { headerChecksum == computedChecksum }

    /// Sets ``headerChecksum`` to ``computedChecksum``.
    public mutating func updateChecksum() {
        headerChecksum = computedChecksum
    }

    /// Bytes 0-3: version, IHL, TOS, total length.
    var firstWord: UInt32 {
        UInt32(0x40 | storedInternetHeaderLength) << 24 | UInt32(typeOfService) << 16 | UInt32(totalLength)
    }

    /// Bytes 4-7: identification, flags, fragment offset.
    var secondWord: UInt32 {
        UInt32(identification) << 16 | UInt32(flagsAndFragmentOffset)
    }

    /// Bytes 8-11: TTL, protocol and `checksum`.
    func thirdWord(checksum: UInt16) -> UInt32 {
        UInt32(timeToLive) << 24 | UInt32(protocolNumber) << 16 | UInt32(checksum)
    }
}
