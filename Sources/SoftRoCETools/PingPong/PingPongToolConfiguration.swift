/// A pingpong tool's configuration (``RCPingPongConfiguration``, ``UDPingPongConfiguration``):
/// the options both tools have, in ``session``, whose fields read and write as the
/// configuration's own (`configuration.size` is `configuration.session.size`).
@dynamicMemberLookup
public protocol PingPongToolConfiguration {
    /// The options both tools have.
    var session: PingPongSessionConfiguration { get set }
}

extension PingPongToolConfiguration {
    /// A shared option (``PingPongSessionConfiguration``), read and written as this
    /// configuration's own.
    public subscript<Value>(dynamicMember keyPath: WritableKeyPath<PingPongSessionConfiguration, Value>) -> Value {
        get { session[keyPath: keyPath] }
        set { session[keyPath: keyPath] = newValue }
    }

    /// A shared read-only value (``PingPongSessionConfiguration/isClient``).
    public subscript<Value>(dynamicMember keyPath: KeyPath<PingPongSessionConfiguration, Value>) -> Value {
        session[keyPath: keyPath]
    }
}
