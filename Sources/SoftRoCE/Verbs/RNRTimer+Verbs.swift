import SoftRoCEWire

extension RNRTimer {
    /// Creates a timer from the 5-bit code `ibv_modify_qp` takes as `min_rnr_timer`; `nil` unless `code` is
    /// in 0…31 (``RNRTimer/init(rawValue:)`` would silently mask it instead).
    public init?(code: UInt8) {
        guard code <= 31 else { return nil }
        self.init(rawValue: code)
    }

    /// The 5-bit code (`min_rnr_timer`), 0…31: the same value as ``RNRTimer/rawValue``.
    public var code: UInt8 { rawValue }

    /// The delay the 5-bit `code` stands for, per the IBTA table in the `ibv_modify_qp(3)` man page
    /// (0 = 655.36 ms, 1 = 0.01 ms, … 31 = 491.52 ms); `nil` if `code` > 31.
    public static func duration(forCode code: UInt8) -> Duration? {
        RNRTimer(code: code)?.duration
    }

    /// The code with the shortest delay that is at least `minimum`; code 0 (655.36 ms, the longest) if no
    /// other code is long enough.
    public init(atLeast minimum: Duration) {
        var best = RNRTimer(rawValue: 0)
        for code in UInt8(1)...31 {
            let candidate = RNRTimer(rawValue: code)
            if candidate.duration >= minimum && candidate.duration < best.duration {
                best = candidate
            }
        }
        self = best
    }
}
