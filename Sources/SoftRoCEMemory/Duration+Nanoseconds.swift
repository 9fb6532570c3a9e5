extension Duration {
    /// The duration in whole nanoseconds (attoseconds below a nanosecond are dropped).
    @inline(__always)
    package var wholeNanoseconds: Int64 {
        // `components` is a runtime call (128-bit arithmetic): read it once.
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }

    /// The duration in seconds, as a `Double` (for rates and timeouts).
    @inline(__always)
    package var inSeconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) * 1e-18
    }
}
