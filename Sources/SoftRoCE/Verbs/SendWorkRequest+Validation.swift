extension SendWorkRequest {
    /// The longest message a work request may carry: 2³¹ bytes (IBTA; rxe's `RXE_PORT_MAX_MSG_SZ`).
    public static let maximumMessageLength: UInt64 = 1 << 31

    /// Applies `ibv_post_send`'s checks, in rxe's order (`validate_send_wr`): opcode for the queue pair
    /// type, scatter/gather count, message length, atomic length and alignment, inline support and size,
    /// and for UD a destination.
    ///
    /// Keys, protection domains and address ranges are checked later, when the request executes, and end
    /// in error completions rather than throws.
    /// - Parameters:
    ///   - type: the queue pair's transport.
    ///   - capabilities: the queue pair's `max_send_sge` and `max_inline_data`.
    /// - Throws: ``VerbsError`` with ``VerbsError/Code/opcodeNotSupported``,
    ///   ``VerbsError/Code/tooManyScatterGatherElements``, ``VerbsError/Code/messageTooLong``,
    ///   ``VerbsError/Code/invalidAtomicLength``, ``VerbsError/Code/misalignedAtomicAddress``,
    ///   ``VerbsError/Code/inlineNotSupported``, ``VerbsError/Code/inlineDataTooLong`` or
    ///   ``VerbsError/Code/missingDatagramDestination``.
    public func validate(for type: QueuePairType, capabilities: QueuePairCapabilities) throws(VerbsError) {
        guard opcode.isSupported(by: type) else {
            throw VerbsError(.opcodeNotSupported, "\(opcode) cannot be posted on \(type) queue pairs")
        }
        guard scatterGatherList.count <= capabilities.maxSendSGE else {
            throw VerbsError(
                .tooManyScatterGatherElements,
                "\(scatterGatherList.count) scatter/gather elements, max_send_sge is \(capabilities.maxSendSGE)"
            )
        }
        let length = totalLength
        guard length <= Self.maximumMessageLength else {
            throw VerbsError(.messageTooLong, "\(length) bytes exceed the 2^31-byte message limit")
        }
        if opcode.isAtomic {
            guard length == 8 else {
                throw VerbsError(.invalidAtomicLength, "\(opcode) needs an 8-byte local buffer, got \(length)")
            }
            guard remoteAddress % 8 == 0 else {
                throw VerbsError(
                    .misalignedAtomicAddress,
                    "remote address 0x\(String(remoteAddress, radix: 16)) is not 8-byte aligned"
                )
            }
        }
        if flags.contains(.inline) {
            guard opcode.supportsInline else {
                throw VerbsError(.inlineNotSupported, "\(opcode) cannot carry inline data")
            }
            guard length <= UInt64(max(capabilities.maxInlineData, 0)) else {
                throw VerbsError(
                    .inlineDataTooLong,
                    "\(length) inline bytes, max_inline_data is \(capabilities.maxInlineData)"
                )
            }
        }
        if type == .ud && datagram == nil {
            throw VerbsError(.missingDatagramDestination, "a UD send needs an address handle, QPN and Q_Key")
        }
    }
}
