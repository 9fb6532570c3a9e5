import SoftRoCEVectors
import SoftRoCEWire
import Testing

/// Known-answer tests over real rdma_rxe captures (kernel 7.3.4): every RoCEv2 packet decodes, its ICRC
/// recomputes, and its headers re-encode to the captured bytes.
@Suite("rxe 7.3 vectors")
struct VectorTests {
    @Test("the pcap reader finds every frame and every RoCEv2 packet", arguments: VectorFile.all)
    func readsCapture(_ file: VectorFile) throws {
        let capture = try file.load()
        #expect(capture.majorVersion == 2)
        #expect(capture.minorVersion == 4)
        #expect(capture.linkType == PcapFile.ethernetLinkType)
        #expect(capture.records.count == file.recordCount)
        #expect(capture.records.allSatisfy { $0.data.count == $0.originalLength })
        #expect(capture.rocePackets.count == file.roceCount)
    }

    @Test("every packet decodes and passes its ICRC check", arguments: VectorFile.all)
    func decodesAndVerifies(_ file: VectorFile) throws {
        for captured in try file.packets() {
            let packet = try RoCEPacket(decoding: captured.roce.span, verifying: captured.network)
            #expect(packet.byteCount == captured.roce.count)
            #expect(packet.payloadRange.upperBound + packet.padCount + ICRC.byteCount == captured.roce.count)
        }
    }

    @Test("the recomputed ICRC equals the captured field, sent least significant byte first", arguments: VectorFile.all)
    func recomputesICRC(_ file: VectorFile) throws {
        for captured in try file.packets() {
            let computed = ICRC.compute(
                ipHeader: captured.ip,
                udpHeader: captured.udp,
                roce: captured.roceWithoutICRC.span
            )
            let field = Array(captured.roce.suffix(ICRC.byteCount))
            #expect(ICRC.read(from: captured.roce.span) == computed)
            #expect(field == [0, 8, 16, 24].map { UInt8(truncatingIfNeeded: computed >> $0) })
            // The same value is the plain CRC-32 of the explicit pseudo packet.
            #expect(computed == CRC32.checksum(pseudoPacket(captured).span))
        }
    }

    @Test("re-encoding the decoded headers and payload reproduces the exact bytes", arguments: VectorFile.all)
    func reencodesExactly(_ file: VectorFile) throws {
        for captured in try file.packets() {
            let packet = try RoCEPacket(decoding: captured.roce.span)
            let payload = Array(captured.roce[packet.payloadRange])
            var encoded: [UInt8] = []
            let written = try RoCEPacket.encode(
                headers: packet.headers,
                payload: payload.span,
                network: captured.network,
                into: &encoded
            )
            #expect(written == captured.roce.count)
            #expect(encoded == captured.roce)

            var ipBytes: [UInt8] = []
            captured.ip.encode(into: &ipBytes)
            #expect(ipBytes == captured.ipBytes)
            var udpBytes: [UInt8] = []
            captured.udp.encode(into: &udpBytes)
            #expect(udpBytes == captured.udpBytes)
        }
    }

    @Test(
        "the opcodes are the ones the README lists, with the extension headers rxe's table gives them",
        arguments: VectorFile.all
    )
    func opcodesAndHeaders(_ file: VectorFile) throws {
        var seen: Set<Opcode> = []
        for captured in try file.packets() {
            let headers = try RoCEPacket(decoding: captured.roce.span).headers
            let opcode = headers.opcode
            seen.insert(opcode)
            #expect(headers.presentExtensionHeaders == opcode.extensionHeaders)
            #expect(headers.bth.partitionKey == .default)
            #expect(headers.bth.transportVersion == 0)
            #expect(headers.bth.destinationQueuePair == 0x11)

            switch opcode {
            case .rcRDMAWriteFirst:
                #expect(headers.reth?.dmaLength == 65536)
            case .rcRDMAWriteMiddle, .rcRDMAWriteLast, .rcSendFirst, .rcSendMiddle, .rcSendLast,
                .rcRDMAReadResponseMiddle:
                #expect(headers.presentExtensionHeaders.isEmpty)
            case .rcRDMAReadRequest:
                #expect(headers.reth?.dmaLength == 8192)
                #expect(headers.bth.acknowledgeRequest)
            case .rcRDMAReadResponseFirst, .rcRDMAReadResponseLast, .rcAcknowledge:
                #expect(headers.aeth?.syndrome == .ackUnlimited)
            case .rcFetchAdd:
                #expect(headers.atomicETH?.swapOrAddData == 1)
                #expect(headers.atomicETH.map { $0.virtualAddress % 8 } == 0)
                #expect(headers.bth.acknowledgeRequest)
            case .rcAtomicAcknowledge:
                #expect(headers.aeth?.syndrome == .ackUnlimited)
                #expect(headers.atomicAckETH != nil)
            case .udSendOnly:
                #expect(headers.deth?.queueKey == 0x1111_1111)
                #expect(headers.deth?.sourceQueuePair == 0x11)
                #expect(headers.deth?.reserved == 0)
            default:
                Issue.record("unexpected \(opcode) in \(file.name)")
            }
        }
        #expect(seen == file.opcodes)
    }

    @Test("request PSNs advance by one per packet (a READ request by its response count)", arguments: VectorFile.all)
    func requestPSNsAdvance(_ file: VectorFile) throws {
        let pathMTU = 1024
        var expectedNext: [IPv4Address: PacketSequenceNumber] = [:]
        var requestCount = 0
        for captured in try file.packets() {
            let headers = try RoCEPacket(decoding: captured.roce.span).headers
            guard headers.opcode.isRequest else { continue }
            let psn = headers.bth.psn
            if let expected = expectedNext[captured.ip.source] {
                #expect(psn == expected, "record \(captured.recordIndex)")
                #expect(expected.distance(to: psn) == 0)
            }
            let consumed =
                headers.opcode.isRDMARead
                ? (Int(headers.reth?.dmaLength ?? 0) + pathMTU - 1) / pathMTU : 1
            expectedNext[captured.ip.source] = psn.advanced(by: consumed)
            requestCount += 1
        }
        #expect(requestCount > 0)
    }

    @Test("responses answer PSNs the peer sent, with a monotonic MSN", arguments: VectorFile.all)
    func responsesFollowRequests(_ file: VectorFile) throws {
        let pathMTU = 1024
        var requested: [IPv4Address: Set<PacketSequenceNumber>] = [:]
        var lastResponse: [IPv4Address: (psn: PacketSequenceNumber, msn: MessageSequenceNumber)] = [:]
        var readResponsePSN: [IPv4Address: PacketSequenceNumber] = [:]
        for captured in try file.packets() {
            let headers = try RoCEPacket(decoding: captured.roce.span).headers
            let opcode = headers.opcode
            let psn = headers.bth.psn
            if opcode.isRequest {
                let count =
                    opcode.isRDMARead ? (Int(headers.reth?.dmaLength ?? 0) + pathMTU - 1) / pathMTU : 1
                requested[captured.ip.source, default: []].formUnion((0..<count).map { psn.advanced(by: $0) })
                continue
            }
            #expect(opcode.isResponse)
            #expect(requested[captured.ip.destination]?.contains(psn) == true, "record \(captured.recordIndex)")
            if opcode.isReadResponse {
                if opcode.startsMessage {
                    readResponsePSN[captured.ip.source] = psn
                } else {
                    #expect(readResponsePSN[captured.ip.source]?.next == psn)
                    readResponsePSN[captured.ip.source] = psn
                }
            }
            guard let aeth = headers.aeth else { continue }
            if let last = lastResponse[captured.ip.source] {
                #expect(last.psn.distance(to: psn) >= 0)
                #expect((0...1).contains(last.msn.distance(to: aeth.msn)))
            }
            lastResponse[captured.ip.source] = (psn, aeth.msn)
        }
    }

    @Test("the IPv4 identification is recovered from the ICRC alone", arguments: VectorFile.all)
    func recoversIdentification(_ file: VectorFile) throws {
        for captured in try file.packets() {
            var unknown = captured.ip
            unknown.identification = 0xBEEF
            let field = ICRC.read(from: captured.roce.span)
            let recovered = ICRC.recoverIdentification(
                ipHeader: unknown,
                udpHeader: captured.udp,
                roce: captured.roceWithoutICRC.span,
                icrc: try #require(field)
            )
            #expect(recovered == captured.ip.identification)
        }
    }

    @Test(
        "rxe's IPv4 headers: DF, TTL 64, TOS 0, valid checksum, identification counting up per sender",
        arguments: VectorFile.all
    )
    func ipv4HeadersAsRxeWritesThem(_ file: VectorFile) throws {
        var lastIdentification: [IPv4Address: UInt16] = [:]
        for captured in try file.packets() {
            let ip = captured.ip
            #expect(ip.dontFragment)
            #expect(ip.timeToLive == 64)
            #expect(ip.typeOfService == 0)
            #expect(ip.hasValidChecksum)
            #expect(captured.udp.checksum == 0)
            if let last = lastIdentification[ip.source] {
                // __ip_select_ident(): a per-destination counter, so it only moves forward (by one, unless other
                // traffic to the same host shares the bucket).
                let step = ip.identification &- last
                #expect((1...16).contains(step), "record \(captured.recordIndex): \(last) -> \(ip.identification)")
            }
            lastIdentification[ip.source] = ip.identification
        }
    }

    @Test("UDP source ports follow rxe's rules", arguments: VectorFile.all)
    func sourcePorts(_ file: VectorFile) throws {
        for captured in try file.packets() {
            let headers = try RoCEPacket(decoding: captured.roce.span).headers
            let expected =
                if let deth = headers.deth {
                    // UD: fixed at QP creation from the local QPN.
                    UDPHeader.roceSourcePort(queuePair: deth.sourceQueuePair)
                } else {
                    // RC: from the flow label derived from both QPNs (both 0x11 in these captures).
                    UDPHeader.roceSourcePort(flowLabel: 0, localQueuePair: 0x11, remoteQueuePair: 0x11)
                }
            #expect(captured.udp.sourcePort == expected)
        }
    }

    /// The ICRC pseudo packet built byte by byte, independently of ``ICRC``: 8 × 0xFF, the IPv4 header with TOS,
    /// TTL and checksum set to ones, the UDP header with checksum set to ones, the packet with BTH byte 4 set to
    /// ones, the ICRC field left out.
    private func pseudoPacket(_ captured: CapturedRoCEPacket) -> [UInt8] {
        var ip = captured.ipBytes
        ip[1] = 0xFF
        ip[8] = 0xFF
        ip[10] = 0xFF
        ip[11] = 0xFF
        var udp = captured.udpBytes
        udp[6] = 0xFF
        udp[7] = 0xFF
        var roce = Array(captured.roceWithoutICRC)
        roce[4] = 0xFF
        return [UInt8](repeating: 0xFF, count: 8) + ip + udp + roce
    }
}
