import Benchmark
import SoftRoCEMemory

#if canImport(Glibc)
import Glibc
#endif

// Memory-core benchmarks. Each ratio's baseline runs in the same run and target:
//   odp-map-write-1GiB         vs  raw-populate-write-1GiB   (ps per 4 KiB page)
//   pinned-register-1GiB       vs  raw-mlock-1GiB            (ms per GiB)
//   odp-register-1TiB          (ns per registration)
//   odp-invalidate-1GiB        (ps per page)
// Run with: swift package benchmark --target SoftRoCEBenchmarks

private let gibibyte = 1 << 30
private let pagesPerGiB = gibibyte / 4096

private func configuration(iterations: Int, _ metrics: [BenchmarkMetric]) -> Benchmark.Configuration {
    .init(
        metrics: [.wallClock] + metrics,
        warmupIterations: 1,
        maxDuration: .seconds(20),
        maxIterations: iterations
    )
}

private let psPerPage = BenchmarkMetric.custom("ps/page", polarity: .prefersSmaller, useScalingFactor: false)
private let tableBytesPerPage = BenchmarkMetric.custom("table bytes/page (x100)", polarity: .prefersSmaller, useScalingFactor: false)

/// Fresh anonymous memory for one iteration: no page resident yet.
private func freshGiB() -> AnonymousMemory {
    do { return try AnonymousMemory(length: gibibyte) } catch { fatalError("mmap 1 GiB failed: \(error)") }
}

private func elapsedNanoseconds(_ body: () throws -> Void) rethrows -> Int {
    let start = ContinuousClock.now
    try body()
    let elapsed = ContinuousClock.now - start
    return Int(elapsed.components.seconds) * 1_000_000_000 + Int(elapsed.components.attoseconds / 1_000_000_000)
}

let benchmarks: @Sendable () -> Void = {
    Benchmark("raw-populate-write-1GiB", configuration: configuration(iterations: 8, [psPerPage])) { benchmark in
        for _ in benchmark.scaledIterations {
            let memory = freshGiB()
            benchmark.startMeasurement()
            let ns = elapsedNanoseconds {
                let rc = madvise(UnsafeMutableRawPointer(bitPattern: UInt(memory.address)), gibibyte, 23)
                precondition(rc == 0, "MADV_POPULATE_WRITE failed")
            }
            benchmark.stopMeasurement()
            benchmark.measurement(psPerPage, ns * 1000 / pagesPerGiB)
        }
    }

    Benchmark("odp-map-write-1GiB", configuration: configuration(iterations: 8, [psPerPage])) { benchmark in
        for _ in benchmark.scaledIterations {
            let memory = freshGiB()
            let umem = try OnDemandUmem(address: memory.address, length: UInt64(gibibyte), writable: true)
            benchmark.startMeasurement()
            let ns = try elapsedNanoseconds { try umem.map(memory.range, access: .write) }
            benchmark.stopMeasurement()
            precondition(umem.mappedPageCount == pagesPerGiB)
            benchmark.measurement(psPerPage, ns * 1000 / pagesPerGiB)
        }
    }

    Benchmark("raw-mlock-1GiB", configuration: configuration(iterations: 8, [])) { benchmark in
        for _ in benchmark.scaledIterations {
            let memory = freshGiB()
            benchmark.startMeasurement()
            let rc = mlock(UnsafeRawPointer(bitPattern: UInt(memory.address)), gibibyte)
            benchmark.stopMeasurement()
            precondition(rc == 0, "mlock failed")
            munlock(UnsafeRawPointer(bitPattern: UInt(memory.address)), gibibyte)
        }
    }

    Benchmark("pinned-register-1GiB", configuration: configuration(iterations: 8, [])) { benchmark in
        let account = MemlockAccount(limitBytes: nil)
        for _ in benchmark.scaledIterations {
            let memory = freshGiB()
            benchmark.startMeasurement()
            let umem = try PinnedUmem(address: memory.address, length: UInt64(gibibyte), writable: true, account: account)
            benchmark.stopMeasurement()
            umem.release()
        }
    }

    Benchmark(
        "odp-register-1TiB",
        configuration: .init(metrics: [.wallClock, tableBytesPerPage], maxDuration: .seconds(5), maxIterations: 1000)
    ) { benchmark in
        let tebibyte = 1 << 40
        let reservation = try AnonymousMemory(length: tebibyte, reserveOnly: true)
        var last: OnDemandUmem? = nil
        for _ in benchmark.scaledIterations {
            benchmark.startMeasurement()
            let umem = try OnDemandUmem(address: reservation.address, length: UInt64(tebibyte), writable: true)
            benchmark.stopMeasurement()
            precondition(umem.tableBytes == 0)
            last = umem
        }
        // Table cost of a densely mapped GiB inside the terabyte registration.
        if let umem = last {
            try umem.map(reservation.address..<reservation.address + UInt64(gibibyte), access: .write)
            benchmark.measurement(tableBytesPerPage, umem.tableBytes * 100 / umem.mappedPageCount)
            try reservation.dropPages(count: gibibyte)
        }
    }

    Benchmark("odp-invalidate-1GiB", configuration: configuration(iterations: 20, [psPerPage])) { benchmark in
        let memory = freshGiB()
        let umem = try OnDemandUmem(address: memory.address, length: UInt64(gibibyte), writable: true)
        for _ in benchmark.scaledIterations {
            try umem.map(memory.range, access: .write)
            benchmark.startMeasurement()
            let ns = elapsedNanoseconds { precondition(umem.invalidate(memory.range) == pagesPerGiB) }
            benchmark.stopMeasurement()
            benchmark.measurement(psPerPage, ns * 1000 / pagesPerGiB)
        }
    }
}
