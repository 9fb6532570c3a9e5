/// What a ``UDPLink`` has sent, received and dropped since it was opened.
public struct UDPLinkCounters: Hashable, Sendable {
    /// Datagrams handed to the kernel.
    public var sentPackets = 0
    /// Datagrams received that decoded and passed the ICRC check.
    public var receivedPackets = 0
    /// Datagrams the kernel refused (full buffers, too large for the path); the device's
    /// retransmission recovers from these as from loss.
    public var sendErrors = 0
    /// Datagrams dropped as malformed: too short, truncated, an unsupported opcode or headers
    /// that do not fit (``SoftRoCEWire/RoCEPacketError``).
    public var malformedPackets = 0
    /// Datagrams whose ICRC matched no IPv4 header they could have arrived in.
    public var icrcErrors = 0
    /// Runs addressed to a GID that is not IPv4-mapped (this link speaks RoCEv2 over IPv4).
    public var unroutablePackets = 0
    /// Datagrams dropped on purpose by fault injection (``UDPLink/lossRate``).
    public var injectedLosses = 0
    /// Datagrams sent twice on purpose (``UDPLink/duplicateRate``).
    public var injectedDuplicates = 0
    /// Datagrams held back behind the next one on purpose (``UDPLink/reorderRate``).
    public var injectedReorders = 0
}
