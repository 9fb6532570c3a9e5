/// The 5-bit Receiver Not Ready timer code of an RNR NAK and of a QP's `min_rnr_timer` attribute
/// (IBTA Vol. 1, 9.7.5.2.8, Table 45; `enum ib_rnr_timeout` in the kernel).
///
/// Code 0 is the longest wait, 655.36 ms; codes 1-31 run from 0.01 ms to 491.52 ms.
public struct RNRTimer: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// The code, always below 32.
    public let rawValue: UInt8

    /// Wraps a code, keeping only its low 5 bits.
    public init(rawValue: UInt8) {
        self.rawValue = rawValue & 0x1F
    }

    /// How long the requester waits before retrying.
    public var duration: Duration {
        .microseconds(Self.microsecondsByCode[Int(rawValue)])
    }

    /// E.g. "timer 0.64 ms".
    public var description: String {
        let microseconds = Self.microsecondsByCode[Int(rawValue)]
        let fraction = String(microseconds % 1000 / 10)
        return "timer \(microseconds / 1000).\(fraction.count < 2 ? "0" + fraction : fraction) ms"
    }

    /// IBTA Table 45 in microseconds, codes 0-31.
    private static let microsecondsByCode: [Int64] = [
        655_360, 10, 20, 30, 40, 60, 80, 120, 160, 240, 320, 480, 640, 960, 1_280, 1_920, 2_560, 3_840, 5_120,
        7_680, 10_240, 15_360, 20_480, 30_720, 40_960, 61_440, 81_920, 122_880, 163_840, 245_760, 327_680, 491_520,
    ]
}
