/// The CRC-32 of Ethernet and zlib: reflected polynomial 0xEDB88320, initial register 0xFFFFFFFF, final XOR
/// 0xFFFFFFFF. The RoCEv2 ICRC is this CRC over a masked pseudo packet (see ``ICRC``).
///
/// Slicing-by-16 over safe spans: about 2.5 GB/s per core on x86-64 in release builds.
public struct CRC32: Hashable, Sendable {
    /// The reflected generator polynomial, 0xEDB88320.
    public static let polynomial: UInt32 = 0xEDB8_8320

    /// The running register, before the final XOR.
    public private(set) var state: UInt32

    /// Starts a CRC with the register at 0xFFFFFFFF.
    public init() {
        state = 0xFFFF_FFFF
    }

    /// Resumes a CRC from a register value (``state`` of an earlier computation).
    public init(state: UInt32) {
        self.state = state
    }

    /// The CRC of everything fed so far: the register XOR 0xFFFFFFFF.
    public var value: UInt32 { ~state }

    /// The CRC-32 of `bytes`; "123456789" gives 0xCBF43926.
    public static func checksum(_ bytes: Span<UInt8>) -> UInt32 {
        var crc = CRC32()
        crc.update(bytes)
        return crc.value
    }

    /// Feeds one byte.
    @inline(__always)
    public mutating func update(_ byte: UInt8) {
        let tables = CRC32Tables.slicing16
        let table = tables.span
        state = (state >> 8) ^ table[Int((state ^ UInt32(byte)) & 0xFF)]
    }

    /// Feeds `bytes` in order.
    public mutating func update(_ bytes: Span<UInt8>) {
        let tables = CRC32Tables.slicing16
        let table = tables.span
        var register = state
        var index = 0
        let count = bytes.count
        while count - index >= 16 {
            let a =
                UInt32(bytes[index]) | UInt32(bytes[index + 1]) << 8 | UInt32(bytes[index + 2]) << 16
                | UInt32(bytes[index + 3]) << 24
            let b =
                UInt32(bytes[index + 4]) | UInt32(bytes[index + 5]) << 8 | UInt32(bytes[index + 6]) << 16
                | UInt32(bytes[index + 7]) << 24
            let c =
                UInt32(bytes[index + 8]) | UInt32(bytes[index + 9]) << 8 | UInt32(bytes[index + 10]) << 16
                | UInt32(bytes[index + 11]) << 24
            let d =
                UInt32(bytes[index + 12]) | UInt32(bytes[index + 13]) << 8 | UInt32(bytes[index + 14]) << 16
                | UInt32(bytes[index + 15]) << 24
            let x = register ^ a
            let first =
                table[15 * 256 + Int(x & 0xFF)] ^ table[14 * 256 + Int((x >> 8) & 0xFF)]
                ^ table[13 * 256 + Int((x >> 16) & 0xFF)] ^ table[12 * 256 + Int(x >> 24)]
            let second =
                table[11 * 256 + Int(b & 0xFF)] ^ table[10 * 256 + Int((b >> 8) & 0xFF)]
                ^ table[9 * 256 + Int((b >> 16) & 0xFF)] ^ table[8 * 256 + Int(b >> 24)]
            let third =
                table[7 * 256 + Int(c & 0xFF)] ^ table[6 * 256 + Int((c >> 8) & 0xFF)]
                ^ table[5 * 256 + Int((c >> 16) & 0xFF)] ^ table[4 * 256 + Int(c >> 24)]
            let fourth =
                table[3 * 256 + Int(d & 0xFF)] ^ table[2 * 256 + Int((d >> 8) & 0xFF)]
                ^ table[256 + Int((d >> 16) & 0xFF)] ^ table[Int(d >> 24)]
            register = first ^ second ^ third ^ fourth
            index += 16
        }
        while index < count {
            register = (register >> 8) ^ table[Int((register ^ UInt32(bytes[index])) & 0xFF)]
            index += 1
        }
        state = register
    }

    /// Feeds the sixteen bytes of `value` most significant first (an IPv6 address).
    @inline(__always)
    mutating func updateBigEndian(_ value: UInt128) {
        updateBigEndian(UInt32(truncatingIfNeeded: value >> 96))
        updateBigEndian(UInt32(truncatingIfNeeded: value >> 64))
        updateBigEndian(UInt32(truncatingIfNeeded: value >> 32))
        updateBigEndian(UInt32(truncatingIfNeeded: value))
    }

    /// Feeds the four bytes of `word` most significant first (a big-endian header word).
    @inline(__always)
    mutating func updateBigEndian(_ word: UInt32) {
        let tables = CRC32Tables.slicing16
        let table = tables.span
        let x = state ^ word.byteSwapped
        state =
            table[3 * 256 + Int(x & 0xFF)] ^ table[2 * 256 + Int((x >> 8) & 0xFF)]
            ^ table[256 + Int((x >> 16) & 0xFF)] ^ table[Int(x >> 24)]
    }
}
