/// `value` as `0x`-prefixed lower-case hexadecimal, zero-padded to `digits` digits.
func hexString(_ value: some BinaryInteger, digits: Int) -> String {
    let hex = String(value, radix: 16)
    return "0x" + String(repeating: "0", count: Swift.max(0, digits - hex.count)) + hex
}
