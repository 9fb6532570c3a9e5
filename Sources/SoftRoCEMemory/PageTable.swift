import Synchronization

/// The sparse per-page entry table of an ODP region: a radix tree shaped like a CPU page table.
///
/// Each page has a one-byte entry holding ``PageAccess`` bits (0 = not present). Eight entries
/// share one 64-bit atomic word, 64 words make a 512-page leaf (512 bytes), and interior nodes
/// hold 512 child pointers (4 KiB). Nodes exist only where pages were mapped, so registering
/// 1 TiB costs nothing until pages are touched, and a densely mapped range costs just over one
/// byte per page.
///
/// Concurrency: lookups are lock-free (acquire loads) and may run at any time. Every mutation
/// (``setBits(_:_:)``, ``clear(_:)``, ``releaseEmptyLeaves(_:)``) must be serialised by the
/// owner (the region's mutex). Nodes are freed only by `releaseEmptyLeaves` and `deinit`; the
/// owner makes sure no lookup still runs on a node it frees.
final class PageTable: @unchecked Sendable {
    // @unchecked: nodes are raw memory owned by this table; all access goes through atomics,
    // mutations are serialised by the owning region and frees are fenced by its reader gate.

    /// Pages per leaf (9 bits of the page index).
    static let leafPages = 512
    /// 64-bit words per leaf.
    static let wordsPerLeaf = leafPages / 8
    /// Children per interior node.
    static let fanout = 512
    private static let bitsPerLevel = 9

    /// The number of pages the table covers.
    let pageCount: Int
    /// Interior levels above the leaves (0 when one leaf covers everything).
    let levels: Int
    private let root = Atomic<UInt>(0)
    private let bytes = Atomic<Int>(0)

    /// Creates an empty table for `pageCount` pages; allocates no nodes.
    init(pageCount: Int) {
        precondition(pageCount > 0, "a page table covers at least one page")
        self.pageCount = pageCount
        var levels = 0
        var covered = PageTable.leafPages
        while covered < pageCount {
            covered = covered.multipliedReportingOverflow(by: PageTable.fanout).overflow ? Int.max : covered * PageTable.fanout
            levels += 1
        }
        self.levels = levels
    }

    deinit {
        let top = root.load(ordering: .acquiring)
        if top != 0 { free(node: top, level: levels) }
    }

    /// Bytes of node memory the table holds now.
    var allocatedBytes: Int { bytes.load(ordering: .relaxed) }

    // MARK: Lookups (lock-free)

    /// The first page in `pages` whose entry lacks any of `bits`, or `nil` when all carry them.
    func firstPageLacking(_ pages: Range<Int>, bits: UInt8) -> Int? {
        var page = pages.lowerBound
        while page < pages.upperBound {
            let leafEnd = min((page | (PageTable.leafPages - 1)) + 1, pages.upperBound)
            guard let leaf = leaf(containing: page) else { return page }
            if let missing = PageTable.firstLacking(in: leaf, base: page & ~(PageTable.leafPages - 1),
                                                    pages: page..<leafEnd, bits: bits) {
                return missing
            }
            page = leafEnd
        }
        return nil
    }

    /// The maximal runs of pages in `pages` whose entries lack any of `bits`, in order.
    func runsLacking(_ pages: Range<Int>, bits: UInt8) -> [Range<Int>] {
        var runs: [Range<Int>] = []
        var runStart: Int? = nil
        var page = pages.lowerBound
        while page < pages.upperBound {
            let leafEnd = min((page | (PageTable.leafPages - 1)) + 1, pages.upperBound)
            if let leaf = leaf(containing: page) {
                let base = page & ~(PageTable.leafPages - 1)
                for p in page..<leafEnd {
                    let lacking = PageTable.entry(in: leaf, index: p - base) & bits != bits
                    if lacking {
                        if runStart == nil { runStart = p }
                    } else if let start = runStart {
                        runs.append(start..<p)
                        runStart = nil
                    }
                }
            } else if runStart == nil {
                runStart = page
            }
            page = leafEnd
        }
        if let start = runStart { runs.append(start..<pages.upperBound) }
        return runs
    }

    /// The access bits of one page's entry.
    func entry(ofPage page: Int) -> PageAccess {
        guard let leaf = leaf(containing: page) else { return [] }
        return PageAccess(rawValue: PageTable.entry(in: leaf, index: page & (PageTable.leafPages - 1)))
    }

    /// The number of pages with any access bit set.
    func presentPageCount() -> Int {
        var count = 0
        forEachLeaf(in: 0..<pageCount, creating: false) { leaf, _, _ in
            for w in 0..<PageTable.wordsPerLeaf {
                count += (leaf[w].load(ordering: .relaxed) & PageTable.readBitInEveryByte).nonzeroBitCount
            }
        }
        return count
    }

    // MARK: Mutations (serialised by the owner)

    /// Sets `bits` on every entry in `pages`, creating nodes as needed.
    func setBits(_ pages: Range<Int>, _ bits: UInt8) {
        forEachLeaf(in: pages, creating: true) { leaf, base, local in
            PageTable.update(leaf, local.lowerBound - base..<local.upperBound - base) { word, mask in
                word | (mask & PageTable.replicate(bits))
            }
        }
    }

    /// Clears every entry in `pages`; returns how many entries were present.
    @discardableResult
    func clear(_ pages: Range<Int>) -> Int {
        var cleared = 0
        forEachLeaf(in: pages, creating: false) { leaf, base, local in
            PageTable.update(leaf, local.lowerBound - base..<local.upperBound - base) { word, mask in
                cleared += (word & mask & PageTable.readBitInEveryByte).nonzeroBitCount
                return word & ~mask
            }
        }
        return cleared
    }

    /// Detaches the leaves in `pages` that have no present entry and returns them; free them with
    /// ``freeDetached(_:)`` once no lookup can still be using them.
    func detachEmptyLeaves(_ pages: Range<Int>) -> [UInt] {
        var detached: [UInt] = []
        let top = root.load(ordering: .acquiring)
        // Leaves hang below interior nodes; a single-leaf table keeps its root leaf.
        if top != 0, levels > 0, !pages.isEmpty {
            detachEmpty(in: top, level: levels, base: 0, pages: pages, into: &detached)
        }
        return detached
    }

    /// Frees leaves returned by ``detachEmptyLeaves(_:)``.
    func freeDetached(_ leaves: [UInt]) {
        for leaf in leaves { free(node: leaf, level: 0) }
    }

    // MARK: Internals

    private typealias Node = UnsafeMutablePointer<Atomic<UInt64>>
    private static let readBitInEveryByte: UInt64 = 0x0101_0101_0101_0101

    @inline(__always)
    private static func node(_ bits: UInt) -> Node {
        UnsafeMutablePointer<Atomic<UInt64>>(bitPattern: bits).unsafelyUnwrapped
    }

    @inline(__always)
    private static func replicate(_ bits: UInt8) -> UInt64 { UInt64(bits) &* readBitInEveryByte }

    @inline(__always)
    private static func entry(in leaf: Node, index: Int) -> UInt8 {
        UInt8(truncatingIfNeeded: leaf[index >> 3].load(ordering: .acquiring) >> UInt64((index & 7) << 3))
    }

    /// Byte mask selecting entries `[from, to)` of one word (0 ≤ from < to ≤ 8).
    @inline(__always)
    private static func byteMask(from: Int, to: Int) -> UInt64 {
        let high: UInt64 = to == 8 ? ~0 : (1 << UInt64(to * 8)) - 1
        let low: UInt64 = (1 << UInt64(from * 8)) - 1
        return high & ~low
    }

    private static func firstLacking(in leaf: Node, base: Int, pages: Range<Int>, bits: UInt8) -> Int? {
        let want = replicate(bits)
        var index = pages.lowerBound - base
        let end = pages.upperBound - base
        while index < end {
            let wordEnd = min((index | 7) + 1, end)
            let mask = byteMask(from: index & 7, to: wordEnd - (index & ~7)) & want
            let word = leaf[index >> 3].load(ordering: .acquiring)
            if word & mask != mask {
                for i in index..<wordEnd where entry(in: leaf, index: i) & bits != bits { return base + i }
            }
            index = wordEnd
        }
        return nil
    }

    private static func update(_ leaf: Node, _ local: Range<Int>, _ transform: (UInt64, UInt64) -> UInt64) {
        var index = local.lowerBound
        while index < local.upperBound {
            let wordEnd = min((index | 7) + 1, local.upperBound)
            let mask = byteMask(from: index & 7, to: wordEnd - (index & ~7))
            let old = leaf[index >> 3].load(ordering: .relaxed)
            let new = transform(old, mask)
            if new != old { leaf[index >> 3].store(new, ordering: .releasing) }
            index = wordEnd
        }
    }

    @inline(__always)
    private func shift(ofLevel level: Int) -> Int { PageTable.bitsPerLevel * (level + 1) }

    /// Pages covered by one child of a node at `level` (level 0 = leaf entries).
    @inline(__always)
    private func childSpan(ofLevel level: Int) -> Int { 1 << (PageTable.bitsPerLevel * level) }

    private func leaf(containing page: Int) -> Node? {
        var bits = root.load(ordering: .acquiring)
        var level = levels
        while level > 0 {
            if bits == 0 { return nil }
            let index = (page >> shift(ofLevel: level - 1)) & (PageTable.fanout - 1)
            bits = UInt(truncatingIfNeeded: PageTable.node(bits)[index].load(ordering: .acquiring))
            level -= 1
        }
        return bits == 0 ? nil : PageTable.node(bits)
    }

    private func allocateNode(level: Int) -> UInt {
        let words = level == 0 ? PageTable.wordsPerLeaf : PageTable.fanout
        let raw = UnsafeMutableRawPointer.allocate(byteCount: words * 8, alignment: 64)
        let node = raw.bindMemory(to: Atomic<UInt64>.self, capacity: words)
        for i in 0..<words { (node + i).initialize(to: Atomic(0)) }
        bytes.add(words * 8, ordering: .relaxed)
        return UInt(bitPattern: node)
    }

    private func free(node bits: UInt, level: Int) {
        let node = PageTable.node(bits)
        let words = level == 0 ? PageTable.wordsPerLeaf : PageTable.fanout
        if level > 0 {
            for i in 0..<words {
                let child = UInt(truncatingIfNeeded: node[i].load(ordering: .acquiring))
                if child != 0 { free(node: child, level: level - 1) }
            }
        }
        node.deinitialize(count: words)
        UnsafeMutableRawPointer(node).deallocate()
        bytes.subtract(words * 8, ordering: .relaxed)
    }

    /// Calls `body(leaf, leafBasePage, pagesInLeaf)` for each leaf overlapping `pages`, in order,
    /// skipping absent subtrees (or creating them when `creating`).
    private func forEachLeaf(in pages: Range<Int>, creating: Bool, _ body: (Node, Int, Range<Int>) -> Void) {
        guard !pages.isEmpty else { return }
        var top = root.load(ordering: .acquiring)
        if top == 0 {
            guard creating else { return }
            top = allocateNode(level: levels)
            root.store(top, ordering: .releasing)
        }
        visit(node: top, level: levels, base: 0, pages: pages, creating: creating, body)
    }

    private func visit(node bits: UInt, level: Int, base: Int, pages: Range<Int>, creating: Bool,
                       _ body: (Node, Int, Range<Int>) -> Void) {
        let node = PageTable.node(bits)
        if level == 0 {
            body(node, base, max(base, pages.lowerBound)..<min(base + PageTable.leafPages, pages.upperBound))
            return
        }
        let span = childSpan(ofLevel: level)
        let first = (max(base, pages.lowerBound) - base) / span
        let last = (min(base + span * PageTable.fanout, pages.upperBound) - 1 - base) / span
        guard first <= last else { return }
        for index in first...last {
            var child = UInt(truncatingIfNeeded: node[index].load(ordering: .acquiring))
            if child == 0 {
                guard creating else { continue }
                child = allocateNode(level: level - 1)
                node[index].store(UInt64(child), ordering: .releasing)
            }
            visit(node: child, level: level - 1, base: base + index * span, pages: pages, creating: creating, body)
        }
    }

    private func detachEmpty(in bits: UInt, level: Int, base: Int, pages: Range<Int>, into detached: inout [UInt]) {
        let node = PageTable.node(bits)
        let span = childSpan(ofLevel: level)
        let first = (max(base, pages.lowerBound) - base) / span
        let last = (min(base + span * PageTable.fanout, pages.upperBound) - 1 - base) / span
        guard first <= last else { return }
        for index in first...last {
            let child = UInt(truncatingIfNeeded: node[index].load(ordering: .acquiring))
            if child == 0 { continue }
            if level == 1 {
                let leaf = PageTable.node(child)
                let empty = (0..<PageTable.wordsPerLeaf).allSatisfy { leaf[$0].load(ordering: .relaxed) == 0 }
                if empty {
                    node[index].store(0, ordering: .releasing)
                    detached.append(child)
                }
            } else {
                detachEmpty(in: child, level: level - 1, base: base + index * span, pages: pages, into: &detached)
            }
        }
    }
}
