import SoftRoCEMemory
import Synchronization
import NIOConcurrencyHelpers

/// The device's key → region table. Keys are `index << 8 | variant`; the variant of an index
/// changes with every registration, so a stale key from a deregistered region never resolves.
///
/// Indices are dense (freed ones are reused), so the table is an array indexed by them: a
/// lookup — two per RDMA WRITE, on the engine's hot path — hashes nothing.
final class MemoryRegionTable: Sendable {
    private struct State {
        /// The live region at each index (slot 0 is never used).
        var regions: [MemoryRegion?] = [nil]
        /// The variant last used at each index.
        var variants: [UInt8] = [0]
        var freeIndices: [UInt32] = []
        var count = 0
    }
    private let state = LockedValue(State())
    let maxRegions: Int

    init(maxRegions: Int) { self.maxRegions = maxRegions }

    /// Allocates a key and inserts the region `make` builds with it.
    func insert(_ make: (UInt32) -> MemoryRegion) throws -> MemoryRegion {
        try state.withLockedValue { state in
            guard state.count < maxRegions else {
                throw VerbsError(.invalidAttributeValue, "too many memory regions (max \(maxRegions))")
            }
            let index: UInt32
            if let reused = state.freeIndices.popLast() {
                index = reused
            } else {
                index = UInt32(state.regions.count)
                state.regions.append(nil)
                state.variants.append(0)
            }
            let variant = state.variants[Int(index)] &+ 1
            state.variants[Int(index)] = variant
            let region = make(index << 8 | UInt32(variant))
            state.regions[Int(index)] = region
            state.count += 1
            return region
        }
    }

    /// The live region with exactly this key (index and variant), if any.
    @inline(__always)
    func lookup(_ key: UInt32) -> MemoryRegion? {
        state.withLockedValue { state in
            let index = Int(key >> 8)
            guard index < state.regions.count, let region = state.regions[index], region.lkey.rawValue == key else { return nil }
            return region
        }
    }

    func remove(_ region: MemoryRegion) {
        state.withLockedValue { state in
            let index = Int(region.lkey.rawValue >> 8)
            if index < state.regions.count, state.regions[index] === region {
                state.regions[index] = nil
                state.freeIndices.append(UInt32(index))
                state.count -= 1
            }
        }
    }

    var count: Int { state.withLockedValue { $0.count } }

    /// The live regions.
    var all: [MemoryRegion] { state.withLockedValue { $0.regions.compactMap { $0 } } }
}

/// The region a QP's requester or responder found last, kept for the next lookup of the same key:
/// a read of its deregistration flag instead of the table's lock on the data path. A stale key
/// never matches it (each registration at an index has another variant), and once the region is
/// deregistered the key is looked up in the table again, which fails: the table's own answer.
struct MemoryRegionCache: Sendable {
    private var last: MemoryRegion?

    init() {}

    /// The live region with `key`: the cached one, or `table`'s (then cached).
    mutating func lookup(_ key: UInt32, in table: MemoryRegionTable) -> MemoryRegion? {
        if let last, last.lkey.rawValue == key, !last.isDeregistered { return last }
        guard let found = table.lookup(key) else { return nil }
        last = found
        return found
    }
}
