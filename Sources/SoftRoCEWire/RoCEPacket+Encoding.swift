extension RoCEPacket {
    /// The length of the encoded packet, BTH through ICRC, for `headers` and `payloadByteCount` payload bytes.
    public static func encodedByteCount(headers: TransportHeaders, payloadByteCount: Int) -> Int {
        headers.byteCount + payloadByteCount + padCount(payloadByteCount: payloadByteCount) + ICRC.byteCount
    }

    /// The pad that brings `payloadByteCount` to a multiple of 4: 0-3 bytes.
    public static func padCount(payloadByteCount: Int) -> Int {
        (4 - payloadByteCount & 3) & 3
    }

    /// Appends a complete packet to `buffer`: the headers, the payload, zero pad bytes up to a multiple of 4,
    /// and the ICRC computed under `network`.
    ///
    /// The BTH pad count is set from the payload length, and the length fields of `network` are set from the
    /// packet length (``NetworkHeaders/settingLengths(roceByteCount:)``); every other field is written as given.
    ///
    /// - Parameters:
    ///   - headers: the BTH and exactly the extension headers its opcode calls for.
    ///   - payload: the payload bytes; must be empty for opcodes without payload.
    ///   - network: the IP and UDP headers the packet will travel in, for the ICRC.
    ///   - buffer: receives the packet at its end; left unchanged on error.
    /// - Returns: the number of bytes appended.
    /// - Throws: ``RoCEPacketEncodingError`` if the opcode is unsupported, headers are missing or extra,
    ///   the opcode takes no payload, or the packet is too large for `network`.
    @discardableResult
    public static func encode(
        headers: TransportHeaders,
        payload: Span<UInt8>,
        network: NetworkHeaders,
        into buffer: inout [UInt8]
    ) throws(RoCEPacketEncodingError) -> Int {
        let opcode = headers.opcode
        guard opcode.isSupported else {
            throw .unsupportedOpcode(opcode)
        }
        let expected = opcode.extensionHeaders
        let present = headers.presentExtensionHeaders
        guard present.isSuperset(of: expected) else {
            throw .missingHeaders(opcode: opcode, missing: expected.subtracting(present))
        }
        guard expected.isSuperset(of: present) else {
            throw .unexpectedHeaders(opcode: opcode, unexpected: present.subtracting(expected))
        }
        guard opcode.hasPayload || payload.isEmpty else {
            throw .unexpectedPayload(opcode: opcode, byteCount: payload.count)
        }
        let byteCount = encodedByteCount(headers: headers, payloadByteCount: payload.count)
        guard byteCount <= network.maximumRoCEByteCount else {
            throw .packetTooLarge(byteCount: byteCount, maximum: network.maximumRoCEByteCount)
        }

        let padCount = padCount(payloadByteCount: payload.count)
        var headers = headers
        headers.bth.padCount = UInt8(padCount)
        let start = buffer.count
        buffer.reserveCapacity(start + byteCount)
        headers.encode(into: &buffer)
        buffer.appendBytes(payload)
        for _ in 0..<padCount {
            buffer.append(0)
        }
        let icrc = ICRC.compute(
            network: network.settingLengths(roceByteCount: byteCount),
            roce: buffer.span.extracting(start..<buffer.count)
        )
        ICRC.write(icrc, into: &buffer)
        return byteCount
    }
}
