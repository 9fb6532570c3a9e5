/// The InfiniBand transport headers of one packet: the BTH and the extension headers its opcode calls for.
///
/// The optional headers are present exactly when ``BTH/opcode``'s ``Opcode/extensionHeaders`` lists them;
/// ``RoCEPacket`` decoding guarantees it and ``RoCEPacket/encode(headers:payload:network:into:)`` checks it.
public struct TransportHeaders: Hashable, Sendable {
    /// The base transport header.
    public var bth: BTH
    /// The DETH of a UD packet.
    public var deth: DETH?
    /// The RETH of RDMA WRITE First/Only and RDMA READ Request.
    public var reth: RETH?
    /// The AtomicETH of CmpSwap and FetchAdd.
    public var atomicETH: AtomicETH?
    /// The AETH of Acknowledge, ATOMIC Acknowledge and RDMA READ Response First/Last/Only.
    public var aeth: AETH?
    /// The AtomicAckETH of ATOMIC Acknowledge.
    public var atomicAckETH: AtomicAckETH?
    /// The immediate data of the "with Immediate" opcodes.
    public var immDt: ImmDt?
    /// The IETH of the "with Invalidate" opcodes.
    public var ieth: IETH?

    /// Creates the headers of a packet.
    @inlinable
    public init(
        bth: BTH,
        deth: DETH? = nil,
        reth: RETH? = nil,
        atomicETH: AtomicETH? = nil,
        aeth: AETH? = nil,
        atomicAckETH: AtomicAckETH? = nil,
        immDt: ImmDt? = nil,
        ieth: IETH? = nil
    ) {
        self.bth = bth
        self.deth = deth
        self.reth = reth
        self.atomicETH = atomicETH
        self.aeth = aeth
        self.atomicAckETH = atomicAckETH
        self.immDt = immDt
        self.ieth = ieth
    }

    /// The opcode, from the BTH.
    @inlinable public var opcode: Opcode { bth.opcode }

    /// The extension headers that are present.
    public var presentExtensionHeaders: ExtensionHeaders {
        var present: ExtensionHeaders = []
        if deth != nil { present.insert(.deth) }
        if reth != nil { present.insert(.reth) }
        if atomicETH != nil { present.insert(.atomicETH) }
        if aeth != nil { present.insert(.aeth) }
        if atomicAckETH != nil { present.insert(.atomicAckETH) }
        if immDt != nil { present.insert(.immDt) }
        if ieth != nil { present.insert(.ieth) }
        return present
    }

    /// The encoded length of the present headers, in bytes.
    public var byteCount: Int { BTH.byteCount + presentExtensionHeaders.byteCount }

    /// Reads the BTH at offset 0 and the extension headers its opcode calls for.
    ///
    /// - Returns: the headers, or `nil` if `bytes` is shorter than the opcode's ``Opcode/headerLength``.
    ///   Unsupported opcodes yield a lone BTH.
    public static func decode(from bytes: Span<UInt8>) -> TransportHeaders? {
        guard let bth = BTH.decode(from: bytes) else { return nil }
        return decode(extensionHeadersOf: bth, from: bytes)
    }

    /// `bth` with the extension headers its opcode calls for, read from `bytes` after the BTH.
    ///
    /// - Returns: `nil` if `bytes` is shorter than the opcode's ``Opcode/headerLength``.
    static func decode(extensionHeadersOf bth: BTH, from bytes: Span<UInt8>) -> TransportHeaders? {
        let expected = bth.opcode.extensionHeaders
        guard bytes.count >= BTH.byteCount + expected.byteCount else { return nil }
        var headers = TransportHeaders(bth: bth)
        var offset = BTH.byteCount
        // Wire order; each read is in range by the length check above.
        if expected.contains(.deth) {
            headers.deth = DETH.decode(from: bytes, at: offset)
            offset += DETH.byteCount
        }
        if expected.contains(.reth) {
            headers.reth = RETH.decode(from: bytes, at: offset)
            offset += RETH.byteCount
        }
        if expected.contains(.atomicETH) {
            headers.atomicETH = AtomicETH.decode(from: bytes, at: offset)
            offset += AtomicETH.byteCount
        }
        if expected.contains(.aeth) {
            headers.aeth = AETH.decode(from: bytes, at: offset)
            offset += AETH.byteCount
        }
        if expected.contains(.atomicAckETH) {
            headers.atomicAckETH = AtomicAckETH.decode(from: bytes, at: offset)
            offset += AtomicAckETH.byteCount
        }
        if expected.contains(.immDt) {
            headers.immDt = ImmDt.decode(from: bytes, at: offset)
            offset += ImmDt.byteCount
        }
        if expected.contains(.ieth) {
            headers.ieth = IETH.decode(from: bytes, at: offset)
        }
        return headers
    }

    /// Appends the BTH and the present extension headers, in wire order, to `buffer`.
    ///
    /// Writes what is present without checking it against the opcode;
    /// ``RoCEPacket/encode(headers:payload:network:into:)`` does the checking.
    ///
    /// - Returns: the number of bytes written, ``byteCount``.
    @discardableResult
    public func encode(into buffer: inout [UInt8]) -> Int {
        var written = bth.encode(into: &buffer)
        if let deth { written += deth.encode(into: &buffer) }
        if let reth { written += reth.encode(into: &buffer) }
        if let atomicETH { written += atomicETH.encode(into: &buffer) }
        if let aeth { written += aeth.encode(into: &buffer) }
        if let atomicAckETH { written += atomicAckETH.encode(into: &buffer) }
        if let immDt { written += immDt.encode(into: &buffer) }
        if let ieth { written += ieth.encode(into: &buffer) }
        return written
    }
}
