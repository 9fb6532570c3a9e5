extension AETH {
    /// The 5-bit credit count of an ACK syndrome: how many receive WQEs the responder has posted
    /// (IBTA Vol. 1, 9.7.7.2.2, Table 44).
    ///
    /// Codes 0-30 stand for 0, 1, 2, 3, 4, 6, 8, 12 … 32768 credits (roughly doubling every two codes);
    /// 31 is "invalid", meaning no end-to-end credit is advertised. Linux rxe always sends 31.
    public struct CreditCount: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        /// The code, always below 32.
        public let rawValue: UInt8

        /// Wraps a code, keeping only its low 5 bits.
        public init(rawValue: UInt8) {
            self.rawValue = rawValue & 0x1F
        }

        /// Code 31: no credit count (rxe's `AETH_ACK_UNLIMITED`).
        public static let unlimited = CreditCount(rawValue: 31)

        /// The number of credits, or `nil` for ``unlimited``.
        public var credits: Int? {
            guard rawValue < 31 else { return nil }
            return Self.creditsByCode[Int(rawValue)]
        }

        /// "credits unlimited" or e.g. "credits 48".
        public var description: String {
            credits.map { "credits \($0)" } ?? "credits unlimited"
        }

        /// IBTA Table 44, codes 0-30.
        private static let creditsByCode: [Int] = [
            0, 1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024, 1536, 2048, 3072,
            4096, 6144, 8192, 12288, 16384, 24576, 32768,
        ]
    }
}
