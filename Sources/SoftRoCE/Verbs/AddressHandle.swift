/// An address handle: the path a UD send work request goes to.
///
/// In libibverbs an address handle is an object created on a protection domain by `ibv_create_ah` from
/// an `ibv_ah_attr`; here it is the value of that path, and the device that hands one out may check its
/// protection domain. Corresponds to `ibv_ah`.
public struct AddressHandle: Hashable, Sendable {
    /// The path to the remote port.
    public var addressVector: AddressVector

    /// Creates an address handle for a path.
    public init(addressVector: AddressVector) {
        self.addressVector = addressVector
    }
}
