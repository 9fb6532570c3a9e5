import Synchronization
import Testing

@testable import SoftRoCEMemory

#if canImport(Glibc)
import Glibc
#endif

@Suite("Invalidation races")
struct InvalidationRaceTests {
    let page = UInt64(Host.pageSize)

    #if DEBUG
    @Test("a map raced by an invalidation does not publish and retries")
    func mapRetriesAfterInvalidation() throws {
        let memory = try AnonymousMemory(length: 4 * Host.pageSize)
        let umem = try OnDemandUmem(address: memory.address, length: UInt64(memory.length), writable: true)
        let fired = TestCounter()
        let range = memory.range
        umem.testHooks.beforePublish = { [umem] in
            // The first time only: an invalidation lands between populate and publish.
            if fired.increment() == 0 {
                umem.invalidate(range)
            }
        }
        let published = try umem.map(memory.range, access: .write)
        #expect(fired.value == 2)
        #expect(umem.statistics.mapRetries == 1)
        #expect(umem.statistics.invalidations == 1)
        #expect(published == 4)
        #expect(umem.mappedPageCount == 4)
    }
    #endif

    @Test("invalidate waits for an access that is using the pages")
    func invalidateWaitsForAccess() async throws {
        let memory = try AnonymousMemory(length: 2 * Host.pageSize)
        let umem = try OnDemandUmem(address: memory.address, length: UInt64(memory.length), writable: true)
        try umem.map(memory.range, access: .write)
        let inside = TestCounter()
        let release = TestCounter()
        let range = memory.range
        let accessor = Thread {
            _ = try? umem.access(range, access: .write) { bytes in
                inside.set()
                while release.value == 0 { sched_yield() }
                bytes.fill(7)
            }
        }
        while inside.value == 0 { sched_yield() }
        let returned = TestCounter()
        let invalidator = Thread {
            umem.invalidate(range)
            returned.set()
        }
        // The entries get cleared (new accesses fault) but the invalidation cannot return while
        // the access runs.
        while umem.mappedPageCount != 0 { sched_yield() }
        for _ in 0..<2_000 { sched_yield() }
        #expect(returned.value == 0)
        let late = try umem.access(range, access: .read) { _ in () }
        if case .completed = late { Issue.record("an access after the entries were cleared must fault") }
        release.set()
        invalidator.join()
        accessor.join()
        #expect(returned.value == 1)
        #expect(memory.read(count: 8) == [UInt8](repeating: 7, count: 8))
    }

    @Test(
        "racing map, device writes and invalidate+DONTNEED: no stale entry is ever published or used",
        .timeLimit(.minutes(3)))
    func race() throws {
        let pages = 256
        let memory = try AnonymousMemory(length: pages * Host.pageSize)
        let umem = try OnDemandUmem(address: memory.address, length: UInt64(memory.length), writable: true)
        let base = memory.address
        let page = self.page
        let stop = TestCounter()
        let staleEntries = TestCounter()
        let deviceFaults = TestCounter()
        let deviceWrites = TestCounter()
        let invalidations = TestCounter()
        let writers = 2

        // Fault handlers: map random runs for write.
        let mappers = (0..<2).map { seed in
            Thread {
                var rng = SplitMix(seed: UInt64(seed) + 1)
                while stop.value == 0 {
                    let first = Int(rng.next() % UInt64(pages))
                    let count = 1 + Int(rng.next() % 32)
                    let range = base + UInt64(first) * page..<base + UInt64(min(pages, first + count)) * page
                    _ = try? umem.map(range, access: .write)
                }
            }
        }
        // Device writers: write only through the access primitive, each to its own pages. Inside
        // an access the page must be resident (the application drops pages only inside an
        // invalidation, which waits for the access); and the accesses take no kernel page fault,
        // which a write through a stale entry to a dropped page would (not counted under
        // ThreadSanitizer, whose shadow memory faults on first use).
        let devices = (0..<writers).map { id in
            Thread {
                var rng = SplitMix(seed: UInt64(id) + 100)
                while stop.value == 0 {
                    let first = (Int(rng.next() % UInt64(pages / writers)) * writers) + id
                    let range = base + UInt64(first) * page..<base + UInt64(first + 1) * page
                    _ = try? umem.access(range, access: .write) { bytes in
                        let resident = (try? memory.residentPages(at: first * Int(page), count: Int(page))) ?? [false]
                        if !resident[0] { staleEntries.add(1) }
                        let before = Host.threadPageFaults()
                        bytes.fill(UInt8(id + 1))
                        let after = Host.threadPageFaults()
                        deviceFaults.add(Int((after.minor - before.minor) + (after.major - before.major)))
                        deviceWrites.add(1)
                    }
                }
            }
        }
        // The application: invalidate, drop the pages, then check that every present entry in the
        // range is backed by a resident page.
        let application = Thread {
            var rng = SplitMix(seed: 7)
            let started = ContinuousClock.now
            while ContinuousClock.now - started < .seconds(3) {
                let first = Int(rng.next() % UInt64(pages))
                let count = 1 + Int(rng.next() % 64)
                let last = min(pages, first + count)
                let range = base + UInt64(first) * page..<base + UInt64(last) * page
                _ = umem.invalidate(range) {
                    try? memory.dropPages(at: first * Int(page), count: (last - first) * Int(page))
                }
                let resident = (try? memory.residentPages(at: first * Int(page), count: (last - first) * Int(page))) ?? []
                for (i, isResident) in resident.enumerated()
                where !isResident && umem.pageAccess(at: range.lowerBound + UInt64(i) * page) != [] {
                    // A mapper may populate and publish between our two looks: stale only if the
                    // page is still not resident on a second look while the entry is present.
                    let present = umem.pageAccess(at: range.lowerBound + UInt64(i) * page) != []
                    let again = (try? memory.residentPages(at: (first + i) * Int(page), count: Int(page))) ?? [false]
                    if present && !again[0] { staleEntries.add(1) }
                }
                invalidations.add(1)
            }
            stop.set()
        }
        application.join()
        mappers.forEach { $0.join() }
        devices.forEach { $0.join() }
        #expect(invalidations.value > 100)
        #expect(deviceWrites.value > 100)
        #expect(staleEntries.value == 0)
        if !underThreadSanitizer && !underAddressSanitizer { #expect(deviceFaults.value == 0) }
        #expect(umem.statistics.invalidations == invalidations.value)
    }
}

/// Whether the test process runs under ThreadSanitizer (its runtime exports `__tsan_init`).
let underThreadSanitizer = dlsym(nil, "__tsan_init") != nil
/// AddressSanitizer checks shadow memory on every access, and the kernel faults shadow pages in
/// lazily: kernel-fault counts of instrumented threads say nothing about the data path then.
let underAddressSanitizer = dlsym(nil, "__asan_init") != nil

/// A small deterministic generator for the race tests.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// A joinable thread for tests (pthread based).
final class Thread: @unchecked Sendable {
    private var handle = pthread_t()
    private let body: @Sendable () -> Void

    init(_ body: @escaping @Sendable () -> Void) {
        self.body = body
        let box = Unmanaged.passRetained(self)
        let rc = pthread_create(&handle, nil, { context in
            let thread = Unmanaged<Thread>.fromOpaque(context!).takeRetainedValue()
            thread.body()
            return nil
        }, box.toOpaque())
        precondition(rc == 0, "pthread_create failed")
    }

    func join() { pthread_join(handle, nil) }
}

/// A shared counter / flag for test threads.
final class TestCounter: Sendable {
    private let storage = Atomic<Int>(0)
    var value: Int { storage.load(ordering: .acquiring) }
    @discardableResult func increment() -> Int { storage.wrappingAdd(1, ordering: .acquiringAndReleasing).oldValue }
    func add(_ n: Int) { storage.wrappingAdd(n, ordering: .relaxed) }
    func set() { storage.store(1, ordering: .releasing) }
}
