/// A set of extended transport headers that follow the BTH, as Linux rxe's opcode mask records them.
///
/// On the wire they appear in the order DETH, RETH, AtomicETH, AETH, AtomicAckETH, ImmDt, IETH
/// (no supported opcode carries both RETH and AtomicETH, or AETH and ImmDt).
public struct ExtensionHeaders: OptionSet, Hashable, Sendable, CustomStringConvertible {
    /// One bit per header kind.
    public var rawValue: UInt8

    /// Wraps a bit set; unknown bits are kept but contribute no bytes.
    public init(rawValue: UInt8) {
        self.rawValue = rawValue
    }

    /// Datagram Extended Transport Header, 8 bytes (UD).
    public static let deth = ExtensionHeaders(rawValue: 1 << 0)
    /// RDMA Extended Transport Header, 16 bytes (WRITE First/Only, READ Request).
    public static let reth = ExtensionHeaders(rawValue: 1 << 1)
    /// Atomic Extended Transport Header, 28 bytes (CmpSwap, FetchAdd).
    public static let atomicETH = ExtensionHeaders(rawValue: 1 << 2)
    /// ACK Extended Transport Header, 4 bytes (ACK, ATOMIC ACK, READ Response First/Last/Only).
    public static let aeth = ExtensionHeaders(rawValue: 1 << 3)
    /// Atomic ACK Extended Transport Header, 8 bytes (ATOMIC ACK).
    public static let atomicAckETH = ExtensionHeaders(rawValue: 1 << 4)
    /// Immediate Data, 4 bytes (the "with Immediate" opcodes).
    public static let immDt = ExtensionHeaders(rawValue: 1 << 5)
    /// Invalidate Extended Transport Header, 4 bytes (the "with Invalidate" opcodes).
    public static let ieth = ExtensionHeaders(rawValue: 1 << 6)

    /// The headers in wire order, with their names.
    private static let wireOrder: [(header: ExtensionHeaders, name: String)] = [
        (.deth, "DETH"), (.reth, "RETH"), (.atomicETH, "AtomicETH"), (.aeth, "AETH"),
        (.atomicAckETH, "AtomicAckETH"), (.immDt, "ImmDt"), (.ieth, "IETH"),
    ]

    /// The combined length of the headers in the set, in bytes.
    public var byteCount: Int {
        // Branches rather than a walk over `wireOrder`: this runs for every packet.
        var total = 0
        if contains(.deth) { total += DETH.byteCount }
        if contains(.reth) { total += RETH.byteCount }
        if contains(.atomicETH) { total += AtomicETH.byteCount }
        if contains(.aeth) { total += AETH.byteCount }
        if contains(.atomicAckETH) { total += AtomicAckETH.byteCount }
        if contains(.immDt) { total += ImmDt.byteCount }
        if contains(.ieth) { total += IETH.byteCount }
        return total
    }

    /// The header names in wire order, e.g. "[RETH, ImmDt]".
    public var description: String {
        "[" + Self.wireOrder.filter { contains($0.header) }.map(\.name).joined(separator: ", ") + "]"
    }
}
