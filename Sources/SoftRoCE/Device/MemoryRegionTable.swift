import SoftRoCEMemory
import Synchronization
import NIOConcurrencyHelpers

/// The device's key → region table. Keys are `index << 8 | variant`; the variant of an index
/// changes with every registration, so a stale key from a deregistered region never resolves.
final class MemoryRegionTable: Sendable {
    private struct State {
        var regions: [UInt32: MemoryRegion] = [:]
        var variants: [UInt32: UInt8] = [:]
        var freeIndices: [UInt32] = []
        var nextIndex: UInt32 = 1
    }
    private let state = LockedValue(State())
    let maxRegions: Int

    init(maxRegions: Int) { self.maxRegions = maxRegions }

    /// Allocates a key and inserts the region `make` builds with it.
    func insert(_ make: (UInt32) -> MemoryRegion) throws -> MemoryRegion {
        try state.withLockedValue { state in
            guard state.regions.count < maxRegions else {
                throw VerbsError(.invalidAttributeValue, "too many memory regions (max \(maxRegions))")
            }
            let index: UInt32
            if let reused = state.freeIndices.popLast() {
                index = reused
            } else {
                index = state.nextIndex
                state.nextIndex += 1
            }
            let variant = state.variants[index, default: 0] &+ 1
            state.variants[index] = variant
            let region = make(index << 8 | UInt32(variant))
            state.regions[index] = region
            return region
        }
    }

    /// The live region with exactly this key (index and variant), if any.
    @inline(__always)
    func lookup(_ key: UInt32) -> MemoryRegion? {
        state.withLockedValue { state in
            guard let region = state.regions[key >> 8], region.lkey.rawValue == key else { return nil }
            return region
        }
    }

    func remove(_ region: MemoryRegion) {
        state.withLockedValue { state in
            let index = region.lkey.rawValue >> 8
            if state.regions[index] === region {
                state.regions[index] = nil
                state.freeIndices.append(index)
            }
        }
    }

    var count: Int { state.withLockedValue { $0.regions.count } }

    /// The live regions.
    var all: [MemoryRegion] { state.withLockedValue { Array($0.regions.values) } }
}
