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
        var result = MemoryBenchResult(
            bytes: pages * Host.pageSize, pages: pages,
            rawPopulateNsPerPage: Double(raw) / Double(pages),
            odpMapNsPerPage: Double(map) / Double(pages),
            registerNs: register,
            invalidateNsPerPage: Double(invalidate) / Double(pages),
            tableBytesPerPage: Double(tableBytes) / Double(pages),
            faults: faults)
        result.repopulate = try repopulate()
        print(json ? result.json : result.table)
    }

    /// The raw work of a cold 1 MiB message — `MADV_POPULATE_WRITE` of a buffer `MADV_DONTNEED`
    /// dropped, then a copy into it — with the drop made on the populating CPU or on another one,
    /// in ns per page (best of 3 × 200 rounds; nil with a single CPU). The kernel keeps freed
    /// pages on the freeing CPU's lists, cache-hot: a fault resolution on another CPU than the
    /// one that dropped the pages gets colder ones.
    private func repopulate() throws -> (sameCPU: Double, otherCPU: Double)? {
        let cpus = Host.allowedCPUs
        guard cpus.count >= 2, let first = cpus.first, let last = cpus.last else { return nil }
        defer { try? Host.pinCurrentThread(toCPUs: cpus) }
        let memory = try AnonymousMemory(length: 1 << 20)
        let source = try AnonymousMemory(length: memory.length)
        try source.populate(forWriting: true)
        let pages = memory.length / Host.pageSize
        func perPage(droppingOn dropCPU: Int) throws -> Double {
            var best = Int.max
            for _ in 0..<3 {
                var total = 0
                for _ in 0..<200 {
                    try Host.pinCurrentThread(toCPU: dropCPU)
                    try memory.dropPages(at: 0, count: memory.length)
                    try Host.pinCurrentThread(toCPU: last)
                    total += try nanoseconds {
                        try memory.populate(forWriting: true)
                        memory.copy(from: source, count: memory.length)
                    }
                }
                best = min(best, total)
            }
            return Double(best) / Double(200 * pages)
        }
        try memory.populate(forWriting: true)
        return (try perPage(droppingOn: last), try perPage(droppingOn: first))
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
    /// Populate + copy after a drop on the same CPU / on another CPU, ns per page.
    var repopulate: (sameCPU: Double, otherCPU: Double)?

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
        \(repopulateLines)---------------------------------------------------------------------------
        """
    }

    private var repopulateLines: String {
        guard let repopulate else { return "" }
        func f(_ v: Double) -> String { String(Int((v * 100).rounded())).paddedDecimal }
        return " cold 1 MiB populate + copy,  \(f(repopulate.sameCPU)) ns/page   (dropped on this CPU)\n"
            + " cold 1 MiB populate + copy,  \(f(repopulate.otherCPU)) ns/page   (dropped on another: \(f(repopulate.otherCPU / repopulate.sameCPU))x)\n"
    }

    var json: String {
        func f(_ v: Double) -> String { String(Int((v * 100).rounded())).paddedDecimal }
        return "{\"test\":\"memory-bench\",\"bytes\":\(bytes),\"pages\":\(pages),"
            + "\"raw_populate_ns_per_page\":\(f(rawPopulateNsPerPage)),\"odp_map_ns_per_page\":\(f(odpMapNsPerPage)),"
            + "\"map_vs_populate_ratio\":\(f(mapRatio)),\"register_ns\":\(registerNs),"
            + "\"invalidate_ns_per_page\":\(f(invalidateNsPerPage)),\"table_bytes_per_page\":\(f(tableBytesPerPage)),"
            + "\"page_faults\":\(faults)"
            + (repopulate.map {
                ",\"cold_copy_same_cpu_ns_per_page\":\(f($0.sameCPU)),\"cold_copy_other_cpu_ns_per_page\":\(f($0.otherCPU))"
            } ?? "") + "}"
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
