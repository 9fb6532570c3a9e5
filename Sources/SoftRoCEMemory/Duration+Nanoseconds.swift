extension Duration {
    /// The duration in whole nanoseconds (attoseconds below a nanosecond are dropped).
    @inline(__always)
    package var wholeNanoseconds: Int64 {
        components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000
    }
}
