/// Fixed-capacity raw storage for elements that their owner initialises and deinitialises slot
/// by slot: what the device's work-request rings keep WQEs in. Elements are reached in place
/// (reading or changing a stored field copies no element and touches no `Optional` wrapper), and
/// the pages are made resident at creation, so a data-path thread that later stores into a slot
/// takes no kernel page fault.
///
/// The owner tracks which slots hold an element: it deinitialises those (``move(_:)`` or
/// ``deinitialize(_:)``) and then calls ``deallocate()``, exactly once.
public struct SlotStorage<Element>: @unchecked Sendable {
    // @unchecked: the owner serialises access to each slot.
    @usableFromInline internal let base: UnsafeMutablePointer<Element>
    /// The number of slots.
    public let capacity: Int

    /// Allocates `capacity` (at least 1) uninitialised slots and makes their pages resident.
    public init(capacity: Int) {
        self.capacity = max(capacity, 1)
        base = .allocate(capacity: self.capacity)
        // Zeros over uninitialised memory: the pages become resident, the slots stay
        // uninitialised as far as `Element` is concerned.
        UnsafeMutableRawPointer(base).initializeMemory(
            as: UInt8.self, repeating: 0, count: self.capacity * MemoryLayout<Element>.stride)
    }

    /// Stores `element` in the uninitialised slot `slot`.
    @inlinable @inline(__always)
    public func initialize(_ slot: Int, to element: consuming Element) {
        (base + slot).initialize(to: element)
    }

    /// Moves the element out of slot `slot`, which becomes uninitialised.
    @inlinable @inline(__always)
    public func move(_ slot: Int) -> Element {
        (base + slot).move()
    }

    /// Destroys the element in slot `slot`, which becomes uninitialised.
    @inlinable @inline(__always)
    public func deinitialize(_ slot: Int) {
        (base + slot).deinitialize(count: 1)
    }

    /// The element in the initialised slot `slot`, in place: addressors, so reading or changing a
    /// stored field of it copies nothing else of the element.
    @inlinable
    public subscript(slot: Int) -> Element {
        @inline(__always) unsafeAddress { UnsafePointer(base + slot) }
        @inline(__always) nonmutating unsafeMutableAddress { base + slot }
    }

    /// Frees the storage; every slot must be uninitialised.
    public func deallocate() { base.deallocate() }
}
