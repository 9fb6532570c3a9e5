extension AETH {
    /// The AETH syndrome byte (IBTA Vol. 1, 9.7.5.1; rxe's `enum aeth_syndrome`).
    ///
    /// ```
    /// bit 7       reserved (0)
    /// bits 6-5    type: 00 ACK, 01 RNR NAK, 10 reserved, 11 NAK
    /// bits 4-0    ACK: credit count | RNR NAK: timer | NAK: code
    /// ```
    /// Every byte is representable; ``kind`` interprets it.
    public struct Syndrome: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        /// The syndrome byte as it appears on the wire.
        public var rawValue: UInt8

        /// Wraps a syndrome byte; any value is accepted.
        public init(rawValue: UInt8) {
            self.rawValue = rawValue
        }

        /// An ACK advertising `credits` (type 00).
        public static func ack(_ credits: CreditCount) -> Syndrome {
            Syndrome(rawValue: 0x00 | credits.rawValue)
        }

        /// An RNR NAK asking the requester to wait `timer` before retrying (type 01).
        public static func rnrNak(_ timer: RNRTimer) -> Syndrome {
            Syndrome(rawValue: 0x20 | timer.rawValue)
        }

        /// A NAK with `code` (type 11).
        public static func nak(_ code: NAKCode) -> Syndrome {
            Syndrome(rawValue: 0x60 | code.rawValue)
        }

        /// An ACK with the "invalid" credit count 31, which rxe always sends (`AETH_ACK_UNLIMITED`, 0x1F).
        public static let ackUnlimited = Syndrome.ack(.unlimited)

        /// The decoded meaning of a syndrome byte.
        public enum Kind: Hashable, Sendable {
            /// A positive acknowledgement with the responder's end-to-end credit count.
            case ack(CreditCount)
            /// Receiver Not Ready: retry after the timer expires.
            case rnrNak(RNRTimer)
            /// A negative acknowledgement.
            case nak(NAKCode)
            /// Type 10 or bit 7 set: no defined meaning; the raw byte is kept.
            case reserved(UInt8)
        }

        /// The meaning of the byte, by its top three bits (rxe's `AETH_TYPE_MASK`, 0xE0).
        public var kind: Kind {
            let value = rawValue & 0x1F
            switch rawValue & 0xE0 {
            case 0x00: return .ack(CreditCount(rawValue: value))
            case 0x20: return .rnrNak(RNRTimer(rawValue: value))
            case 0x60: return .nak(NAKCode(rawValue: value))
            default: return .reserved(rawValue)
            }
        }

        /// E.g. "ACK (credits unlimited)", "RNR NAK (timer 0.64 ms)" or "NAK (remote access error)".
        public var description: String {
            switch kind {
            case .ack(let credits): "ACK (\(credits))"
            case .rnrNak(let timer): "RNR NAK (\(timer))"
            case .nak(let code): "NAK (\(code))"
            case .reserved(let byte): "reserved syndrome " + hexString(byte, digits: 2)
            }
        }
    }
}
