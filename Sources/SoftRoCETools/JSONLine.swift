/// A one-line JSON object writer with stable key order: the `--json` contract prints one object
/// per line, and scripts read it with any JSON parser.
public struct JSONLine: CustomStringConvertible, Sendable {
    private var fields: [String] = []

    /// An empty object.
    public init() {}

    /// Appends a string field.
    public mutating func add(_ key: String, _ value: String) {
        fields.append("\(Self.quote(key)):\(Self.quote(value))")
    }

    /// Appends an integer field.
    public mutating func add(_ key: String, _ value: Int) { fields.append("\(Self.quote(key)):\(value)") }

    /// Appends a number field with `decimals` digits after the point (non-finite values become null).
    public mutating func add(_ key: String, _ value: Double, decimals: Int = 2) {
        guard value.isFinite else { fields.append("\(Self.quote(key)):null"); return }
        fields.append("\(Self.quote(key)):\(Self.format(value, decimals: decimals))")
    }

    /// Appends a boolean field, or null for `nil`.
    public mutating func add(_ key: String, _ value: Bool?) {
        fields.append("\(Self.quote(key)):\(value.map { $0 ? "true" : "false" } ?? "null")")
    }

    /// Appends a field whose value is already JSON text (an array or object).
    public mutating func addRaw(_ key: String, _ json: String) { fields.append("\(Self.quote(key)):\(json)") }

    public var description: String { "{" + fields.joined(separator: ",") + "}" }

    /// `value` with exactly `decimals` fractional digits, no exponent.
    public static func format(_ value: Double, decimals: Int) -> String {
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let scaled = (abs(value) * scale).rounded()
        guard scaled < 9.0e18 else { return String(value) }
        let integer = UInt64(scaled)
        let divisor = UInt64(scale)
        let whole = integer / divisor
        var fraction = String(integer % divisor)
        while fraction.count < decimals { fraction = "0" + fraction }
        let sign = value < 0 && integer != 0 ? "-" : ""
        return decimals == 0 ? "\(sign)\(whole)" : "\(sign)\(whole).\(fraction)"
    }

    static func quote(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}
