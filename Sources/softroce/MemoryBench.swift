import ArgumentParser
import SoftRoCEMemory

/// `softroce memory-bench`: the ODP memory core on real process memory, timed against the raw
/// kernel calls in the same run.
struct MemoryBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "memory-bench",
        abstract: "Map, access and invalidate an ODP region on fresh memory; compare with raw MADV_POPULATE_WRITE."
    )

    @Option(name: [.short, .long], help: "Region size in bytes (rounded up to pages).")
    var size: Int = 256 << 20

    @Option(name: [.customShort("n"), .long], help: "Rounds; the best round is reported.")
    var iters: Int = 5

    @Flag(help: "Print one JSON object instead of the table.")
    var json = false

    func validate() throws {
        guard size >= 4096, size <= 1 << 40 else { throw ValidationError("--size must be 4096 ... 1 TiB") }
        guard iters >= 1 else { throw ValidationError("--iters must be >= 1") }
    }

    func run() throws {
        let pages = (size + Host.pageSize - 1) / Host.pageSize
        var raw = Int.max, map = Int.max, invalidate = Int.max, register = Int.max
        var tableBytes = 0, faults = 0
        for _ in 0..<iters {
            let baseline = try AnonymousMemory(length: size)
            raw = min(raw, try nanoseconds { try baseline.populate(forWriting: true) })

            let memory = try AnonymousMemory(length: size)
            var umem: OnDemandUmem? = nil
            register = min(register, try nanoseconds {
                umem = try OnDemandUmem(address: memory.address, length: UInt64(memory.length), writable: true)
            })
            guard let umem else { return }
            map = min(map, try nanoseconds { try umem.map(memory.range, access: .write) })
            // The device writes through the access primitive: no fault, pages already mapped.
            try umem.withBytes(memory.range, access: .write) { $0.fill(0x5A) }
            tableBytes = umem.tableBytes
            invalidate = min(invalidate, nanoseconds { umem.invalidate(memory.range) })
            faults = umem.statistics.faults
        }
        let result = MemoryBenchResult(
            bytes: pages * Host.pageSize, pages: pages,
            rawPopulateNsPerPage: Double(raw) / Double(pages),
            odpMapNsPerPage: Double(map) / Double(pages),
            registerNs: register,
            invalidateNsPerPage: Double(invalidate) / Double(pages),
            tableBytesPerPage: Double(tableBytes) / Double(pages),
            faults: faults)
        print(json ? result.json : result.table)
    }

    private func nanoseconds(_ body: () throws -> Void) rethrows -> Int {
        let start = ContinuousClock.now
        try body()
        return Int((ContinuousClock.now - start).wholeNanoseconds)
    }
}

/// What `memory-bench` measured.
struct MemoryBenchResult {
    var bytes: Int
    var pages: Int
    var rawPopulateNsPerPage: Double
    var odpMapNsPerPage: Double
    var registerNs: Int
    var invalidateNsPerPage: Double
    var tableBytesPerPage: Double
    var faults: Int

    var mapRatio: Double { odpMapNsPerPage / rawPopulateNsPerPage }

    var table: String {
        func f(_ v: Double) -> String { String(Int((v * 100).rounded())).paddedDecimal }
        return """
        ---------------------------------------------------------------------------
         ODP memory core on \(bytes) bytes (\(pages) pages of \(Host.pageSize) B)
        ---------------------------------------------------------------------------
         raw MADV_POPULATE_WRITE      \(f(rawPopulateNsPerPage)) ns/page
         ODP map for write            \(f(odpMapNsPerPage)) ns/page   (\(f(mapRatio))x raw)
         ODP registration             \(registerNs) ns
         invalidate (fully mapped)    \(f(invalidateNsPerPage)) ns/page
         page table                   \(f(tableBytesPerPage)) bytes/mapped page
        ---------------------------------------------------------------------------
        """
    }

    var json: String {
        func f(_ v: Double) -> String { String(Int((v * 100).rounded())).paddedDecimal }
        return "{\"test\":\"memory-bench\",\"bytes\":\(bytes),\"pages\":\(pages),"
            + "\"raw_populate_ns_per_page\":\(f(rawPopulateNsPerPage)),\"odp_map_ns_per_page\":\(f(odpMapNsPerPage)),"
            + "\"map_vs_populate_ratio\":\(f(mapRatio)),\"register_ns\":\(registerNs),"
            + "\"invalidate_ns_per_page\":\(f(invalidateNsPerPage)),\"table_bytes_per_page\":\(f(tableBytesPerPage)),"
            + "\"page_faults\":\(faults)}"
    }
}

extension String {
    /// "12345" (hundredths) → "123.45".
    fileprivate var paddedDecimal: String {
        let negative = hasPrefix("-")
        var digits = negative ? String(dropFirst()) : self
        while digits.count < 3 { digits = "0" + digits }
        return (negative ? "-" : "") + digits.dropLast(2) + "." + digits.suffix(2)
    }
}
