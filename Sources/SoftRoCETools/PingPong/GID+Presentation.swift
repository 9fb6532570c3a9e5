public import SoftRoCE

extension GID {
    /// The GID as `inet_ntop(AF_INET6, ...)` writes it (glibc's `inet_ntop6`), which is how the
    /// pingpong tools print it: groups in lower-case hex without leading zeros, the first longest
    /// run of two or more zero groups as `::`, and the last 32 bits as a dotted quad after
    /// `::ffff:` (IPv4-mapped, the RoCEv2 GID of an IPv4 address) or after six zero groups
    /// (IPv4-compatible). `::ffff:192.168.1.1`, `fe80::1`, `::` (the zero GID).
    public var presentationAddress: String {
        let words = (0..<8).map { i -> UInt16 in
            UInt16(truncatingIfNeeded: (i < 4 ? high : low) >> (48 - 16 * UInt64(i % 4)))
        }
        // The first longest run of zero words, if at least 2 long.
        var best: (base: Int, length: Int)?
        var current: (base: Int, length: Int)?
        for (index, word) in words.enumerated() {
            if word == 0 {
                current = current.map { ($0.base, $0.length + 1) } ?? (index, 1)
            } else if let run = current {
                if run.length > (best?.length ?? 0) { best = run }
                current = nil
            }
        }
        if let run = current, run.length > (best?.length ?? 0) { best = run }
        if let run = best, run.length < 2 { best = nil }

        var text = ""
        var index = 0
        while index < 8 {
            if let run = best, index >= run.base, index < run.base + run.length {
                if index == run.base { text += ":" }
                index += 1
                continue
            }
            if index != 0 { text += ":" }
            if index == 6, let run = best, run.base == 0, run.length == 6 || (run.length == 5 && words[5] == 0xFFFF) {
                let v4 = UInt32(truncatingIfNeeded: low)
                text += "\(v4 >> 24).\(v4 >> 16 & 0xFF).\(v4 >> 8 & 0xFF).\(v4 & 0xFF)"
                return text
            }
            text += String(words[index], radix: 16)
            index += 1
        }
        if let run = best, run.base + run.length == 8 { text += ":" }
        return text
    }
}
