extension Duration {
    /// The duration in whole nanoseconds (attoseconds below a nanosecond are dropped).
    @inline(__always)
    package var wholeNanoseconds: Int64 {
        components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000
    }

    /// The duration in seconds, as a `Double` (for rates and timeouts).
    @inline(__always)
    package var inSeconds: Double {
        Double(components.seconds) + Double(components.attoseconds) * 1e-18
    }
}
