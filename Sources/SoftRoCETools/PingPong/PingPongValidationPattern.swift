import SoftRoCEMemory

/// The pingpong tools' `-c` pattern: the client writes `buf[i] = i / page_size % sizeof(char)` at the start of each
/// page of the message before its first SEND, and the server checks those bytes after the run,
/// printing "invalid data in page %d" for each that differs. `sizeof(char)` is 1, so the byte is 0
/// on every page; the 0x7b fill stays elsewhere. ud_pingpong's message starts after the 40 bytes
/// reserved for the GRH, and so does its pattern (rdma-core 257470c29, "Fix pingpong buffer
/// validation").
struct PingPongValidationPattern {
    /// The buffer holding the message.
    let buffer: AnonymousMemory
    /// Where the message starts in ``buffer``: 0 for rc_pingpong, 40 (after the GRH) for
    /// ud_pingpong.
    let offset: Int
    /// The message size in bytes.
    let size: Int

    /// Writes the pattern's byte at the start of each page of the message.
    func write() {
        for index in stride(from: 0, to: size, by: Host.pageSize) { buffer[offset + index] = Self.byte(at: index) }
    }

    /// The pages (numbered from the message's start) whose first byte does not hold the pattern.
    func invalidPages() -> [Int] {
        stride(from: 0, to: size, by: Host.pageSize)
            .filter { buffer[offset + $0] != Self.byte(at: $0) }
            .map { $0 / Host.pageSize }
    }

    /// `i / page_size % sizeof(char)`.
    private static func byte(at index: Int) -> UInt8 {
        UInt8(index / Host.pageSize % MemoryLayout<CChar>.size)
    }
}
