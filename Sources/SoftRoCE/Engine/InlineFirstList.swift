/// A short list whose first element is stored inline and the rest in an array: what a WQE's
/// regions and a run's memory pieces are. Almost every work request has one SGE, so the data path
/// allocates nothing for them.
struct InlineFirstList<Element>: RandomAccessCollection {
    private var first_: Element?
    private var rest: [Element] = []

    init() {}

    var startIndex: Int { 0 }
    var endIndex: Int { first_ == nil ? 0 : 1 + rest.count }

    subscript(position: Int) -> Element {
        position == 0 ? first_! : rest[position - 1]
    }

    mutating func append(_ element: Element) {
        if first_ == nil {
            first_ = element
        } else {
            rest.append(element)
        }
    }
}

/// A part of a local memory region, in message order.
typealias MemoryPiece = (region: MemoryRegion, range: Range<UInt64>)

/// Where a run's payload is read from or written to.
typealias MemoryPieces = InlineFirstList<MemoryPiece>
