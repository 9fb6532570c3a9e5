/// The largest payload of one packet on a path. Raw values are libibverbs' `enum ibv_mtu`.
/// Corresponds to `ibv_mtu`.
public enum PathMTU: UInt8, Hashable, Sendable, CaseIterable, CustomStringConvertible {
    /// 256 bytes. Corresponds to `IBV_MTU_256` (1).
    case mtu256 = 1
    /// 512 bytes. Corresponds to `IBV_MTU_512` (2).
    case mtu512 = 2
    /// 1024 bytes, the default. Corresponds to `IBV_MTU_1024` (3).
    case mtu1024 = 3
    /// 2048 bytes. Corresponds to `IBV_MTU_2048` (4).
    case mtu2048 = 4
    /// 4096 bytes. Corresponds to `IBV_MTU_4096` (5).
    case mtu4096 = 5

    /// Creates the MTU whose size is `bytes`; `nil` unless it is 256, 512, 1024, 2048 or 4096.
    public init?(bytes: Int) {
        guard let match = Self.allCases.first(where: { $0.bytes == bytes }) else { return nil }
        self = match
    }

    /// The MTU in bytes: 256 << (rawValue − 1).
    public var bytes: Int { 128 << Int(rawValue) }

    /// The size in bytes, e.g. `"1024"` (as `ibv_devinfo` prints `active_mtu`).
    public var description: String { String(bytes) }
}
