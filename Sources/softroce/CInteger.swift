import ArgumentParser

/// An integer option value read as C's `strtol(optarg, NULL, 0)` reads it, as rdma-core's
/// examples parse theirs: decimal, `0x`/`0X` hexadecimal or `0`-prefixed octal, with an optional
/// sign. Unlike `strtol`, trailing characters are an error rather than ignored.
struct CInteger: ExpressibleByArgument, Hashable, Sendable, CustomStringConvertible {
    /// The value.
    var value: Int

    /// A value.
    init(_ value: Int) { self.value = value }

    /// Parses `argument`; nil unless it is a whole number in base 10, 16 (`0x`) or 8 (`0`).
    init?(argument: String) {
        var text = Substring(argument.drop { $0 == " " || $0 == "\t" })
        var negative = false
        if let sign = text.first, sign == "+" || sign == "-" {
            negative = sign == "-"
            text = text.dropFirst()
        }
        var radix = 10
        if text.hasPrefix("0x") || text.hasPrefix("0X") {
            radix = 16
            text = text.dropFirst(2)
        } else if text.hasPrefix("0") && text.count > 1 {
            radix = 8
            text = text.dropFirst()
        }
        guard !text.isEmpty, let magnitude = Int(text, radix: radix) else { return nil }
        value = negative ? -magnitude : magnitude
    }

    var description: String { String(value) }
}
