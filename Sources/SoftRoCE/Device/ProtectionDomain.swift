import NIOConcurrencyHelpers
import Synchronization

/// A protection domain: memory regions and queue pairs only work together within one.
/// Corresponds to `struct ibv_pd` (`ibv_alloc_pd`).
public final class ProtectionDomain: Sendable, Hashable {
    /// The device the domain belongs to.
    public let device: Device
    /// A device-unique handle.
    public let handle: UInt32

    init(device: Device, handle: UInt32) {
        self.device = device
        self.handle = handle
    }

    public static func == (lhs: ProtectionDomain, rhs: ProtectionDomain) -> Bool { lhs === rhs }
    public func hash(into hasher: inout Hasher) { hasher.combine(ObjectIdentifier(self)) }
}
