public import SoftRoCE

/// One side's address in the pingpong tools' out-of-band exchange: LID, QP number, first PSN
/// and GID. Corresponds to rdma-core's `struct pingpong_dest` (libibverbs/examples), and its
/// ``message`` is the text both sides write on the TCP connection:
///
///     sprintf(msg, "%04x:%06x:%06x:%s", lid, qpn, psn, wire_gid);   // rc_pingpong.c
///
/// in a buffer of `sizeof "0000:000000:000000:00000000000000000000000000000000"` (52) bytes,
/// written whole, so the 51 characters are followed by their NUL terminator.
public struct PingPongDestination: Hashable, Sendable {
    /// The port's LID (0 on RoCE, whose ports have none).
    public var lid: UInt16
    /// The queue pair's number.
    public var queuePairNumber: QueuePairNumber
    /// The PSN the queue pair sends first (its peer's expected PSN).
    public var packetSequenceNumber: PacketSequenceNumber
    /// The port GID at the sender's `-g` index, or zero without `-g`.
    public var gid: GID

    /// Creates a destination.
    public init(lid: UInt16 = 0, queuePairNumber: QueuePairNumber, packetSequenceNumber: PacketSequenceNumber, gid: GID) {
        self.lid = lid
        self.queuePairNumber = queuePairNumber
        self.packetSequenceNumber = packetSequenceNumber
        self.gid = gid
    }

    /// The size of the exchange message in bytes, its terminating NUL included:
    /// `sizeof "0000:000000:000000:00000000000000000000000000000000"` (52).
    public static let messageSize = 52

    /// The exchange message: `"%04x:%06x:%06x:%s"` of LID, QPN, PSN and ``wireGID``, then a NUL,
    /// ``messageSize`` bytes in all.
    public var message: [UInt8] {
        let text = Self.hex(UInt32(lid), width: 4) + ":" + Self.hex(queuePairNumber.rawValue, width: 6) + ":"
            + Self.hex(packetSequenceNumber.rawValue, width: 6) + ":" + Self.wireGID(gid)
        return Array(text.utf8) + [0]
    }

    /// Decodes a peer's exchange message, as rc_pingpong's `sscanf(msg, "%x:%x:%x:%s", ...)` and
    /// `wire_gid_to_gid` read it: the text before the first NUL (bytes after it are ignored) must
    /// be three hexadecimal fields (1 to 8 digits each; LID at most 0xffff, QPN and PSN at most
    /// 0xffffff) and 32 hexadecimal digits of GID, separated by colons. Upper- and lower-case
    /// digits are accepted. Anything else is rejected; no input traps.
    /// - Throws: ``PingPongError`` with ``PingPongError/Code/malformedMessage``.
    public init(message: some Collection<UInt8>) throws(PingPongError) {
        let text = Array(message.prefix { $0 != 0 })
        var index = 0
        func fail(_ reason: String) -> PingPongError {
            let shown = String(decoding: text.prefix(64).map { (0x20..<0x7F).contains($0) ? $0 : UInt8(ascii: "?") }, as: UTF8.self)
            return PingPongError(.malformedMessage, "Couldn't parse remote address", detail: "\(reason) in \"\(shown)\"")
        }
        func field(_ name: String, maximum: UInt32) throws(PingPongError) -> UInt32 {
            var value: UInt32 = 0
            var digits = 0
            while index < text.count, let digit = Self.hexValue(text[index]) {
                guard digits < 8 else { throw fail("\(name) has more than 8 hex digits") }
                value = value << 4 | UInt32(digit)
                digits += 1
                index += 1
            }
            guard digits > 0 else { throw fail("\(name) is not hexadecimal") }
            guard value <= maximum else { throw fail("\(name) 0x\(String(value, radix: 16)) exceeds 0x\(String(maximum, radix: 16))") }
            guard index < text.count, text[index] == UInt8(ascii: ":") else { throw fail("no ':' after the \(name)") }
            index += 1
            return value
        }
        let lid = try field("LID", maximum: 0xFFFF)
        let qpn = try field("QPN", maximum: QueuePairNumber.mask)
        let psn = try field("PSN", maximum: PacketSequenceNumber.mask)
        guard let gid = Self.gid(wire: text[index...]) else { throw fail("the GID is not 32 hex digits") }
        self.init(
            lid: UInt16(lid), queuePairNumber: QueuePairNumber(rawValue: qpn),
            packetSequenceNumber: PacketSequenceNumber(rawValue: psn), gid: gid)
    }

    /// The GID as rdma-core's `gid_to_wire_gid` writes it: its four 32-bit words, each
    /// `htobe32`'d and printed `%08x`, which is the 16 bytes in network order as 32 lower-case
    /// hex digits (`::ffff:192.168.1.1` is `00000000000000000000ffffc0a80101`).
    public static func wireGID(_ gid: GID) -> String {
        gid.bytes.map { hex(UInt32($0), width: 2) }.joined()
    }

    /// The GID of rdma-core's wire form (`wire_gid_to_gid`): exactly 32 hex digits; nil otherwise.
    public static func gid(wire: some Collection<UInt8>) -> GID? {
        guard wire.count == 32 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(16)
        var high: UInt8?
        for character in wire {
            guard let digit = hexValue(character) else { return nil }
            if let first = high {
                bytes.append(first << 4 | digit)
                high = nil
            } else {
                high = digit
            }
        }
        return GID(bytes: bytes)
    }

    /// `value` in lower-case hex, zero-padded to at least `width` digits (`%0<width>x`).
    static func hex(_ value: UInt32, width: Int) -> String {
        let digits = String(value, radix: 16)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }

    private static func hexValue(_ character: UInt8) -> UInt8? {
        switch character {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): character - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): character - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): character - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
