import SoftRoCEWire
import Testing

@Suite("AETH")
struct AETHTests {
    @Test("syndrome bytes decode by their top three bits", arguments: 0...255)
    func syndromeKinds(_ raw: Int) {
        let byte = UInt8(raw)
        let syndrome = AETH.Syndrome(rawValue: byte)
        switch syndrome.kind {
        case .ack(let credits):
            #expect(byte & 0xE0 == 0x00)
            #expect(credits.rawValue == byte & 0x1F)
            #expect(AETH.Syndrome.ack(credits) == syndrome)
        case .rnrNak(let timer):
            #expect(byte & 0xE0 == 0x20)
            #expect(timer.rawValue == byte & 0x1F)
            #expect(AETH.Syndrome.rnrNak(timer) == syndrome)
        case .nak(let code):
            #expect(byte & 0xE0 == 0x60)
            #expect(code.rawValue == byte & 0x1F)
            #expect(AETH.Syndrome.nak(code) == syndrome)
        case .reserved(let kept):
            #expect(byte & 0xE0 == 0x40 || byte & 0x80 != 0)
            #expect(kept == byte)
        }
    }

    @Test("constructors give rxe's aeth_syndrome values")
    func rxeValues() {
        #expect(AETH.Syndrome.ackUnlimited.rawValue == 0x1F)  // AETH_ACK_UNLIMITED
        #expect(AETH.Syndrome.nak(.psnSequenceError).rawValue == 0x60)  // AETH_NAK_PSN_SEQ_ERROR
        #expect(AETH.Syndrome.nak(.invalidRequest).rawValue == 0x61)  // AETH_NAK_INVALID_REQ
        #expect(AETH.Syndrome.nak(.remoteAccessError).rawValue == 0x62)  // AETH_NAK_REM_ACC_ERR
        #expect(AETH.Syndrome.nak(.remoteOperationalError).rawValue == 0x63)  // AETH_NAK_REM_OP_ERR
        #expect(AETH.Syndrome.nak(.invalidRDRequest).rawValue == 0x64)  // AETH_NAK_INV_RD_REQ
        #expect(AETH.Syndrome.rnrNak(RNRTimer(rawValue: 12)).rawValue == 0x2C)
        #expect(AETH.Syndrome(rawValue: 0x2C).kind == .rnrNak(RNRTimer(rawValue: 12)))
        #expect(AETH.Syndrome(rawValue: 0x62).kind == .nak(.remoteAccessError))
        #expect(AETH.Syndrome(rawValue: 0x1F).kind == .ack(.unlimited))
    }

    @Test("RNR timer codes map to IBTA Table 45 durations")
    func rnrTimer() {
        #expect(RNRTimer(rawValue: 0).duration == .microseconds(655_360))
        #expect(RNRTimer(rawValue: 1).duration == .microseconds(10))
        #expect(RNRTimer(rawValue: 12).duration == .microseconds(640))
        #expect(RNRTimer(rawValue: 14).duration == .microseconds(1_280))
        #expect(RNRTimer(rawValue: 31).duration == .microseconds(491_520))
        #expect(RNRTimer(rawValue: 0x3F).rawValue == 31)
        // From code 1 on, durations never shrink.
        let durations = (1...31).map { RNRTimer(rawValue: UInt8($0)).duration }
        #expect(zip(durations, durations.dropFirst()).allSatisfy { $0 < $1 })
        #expect(RNRTimer(rawValue: 12).description == "timer 0.64 ms")
        #expect(RNRTimer(rawValue: 0).description == "timer 655.36 ms")
        #expect(RNRTimer(rawValue: 1).description == "timer 0.01 ms")
    }

    @Test("credit counts map to IBTA Table 44")
    func creditCounts() {
        #expect(AETH.CreditCount(rawValue: 0).credits == 0)
        #expect(AETH.CreditCount(rawValue: 5).credits == 6)
        #expect(AETH.CreditCount(rawValue: 30).credits == 32768)
        #expect(AETH.CreditCount.unlimited.credits == nil)
        #expect(AETH.CreditCount.unlimited.description == "credits unlimited")
    }

    @Test("NAK codes describe themselves; reserved ones survive")
    func nakCodes() {
        #expect(AETH.NAKCode.remoteAccessError.description == "remote access error")
        #expect(AETH.NAKCode(rawValue: 9).description == "reserved NAK code 9")
        #expect(AETH.Syndrome.nak(AETH.NAKCode(rawValue: 9)).kind == .nak(AETH.NAKCode(rawValue: 9)))
        #expect(AETH.Syndrome(rawValue: 0x45).description == "reserved syndrome 0x45")
        #expect(AETH.Syndrome.nak(.psnSequenceError).description == "NAK (PSN sequence error)")
        #expect(AETH.Syndrome.ackUnlimited.description == "ACK (credits unlimited)")
    }

    @Test("AETH encodes as syndrome and big-endian MSN")
    func codec() throws {
        let aeth = AETH(syndrome: .rnrNak(RNRTimer(rawValue: 14)), msn: 0x01_0203)
        var bytes: [UInt8] = []
        #expect(aeth.encode(into: &bytes) == 4)
        #expect(bytes == [0x2E, 0x01, 0x02, 0x03])
        #expect(AETH.decode(from: bytes.span) == aeth)
        #expect(AETH.decode(from: bytes.span, at: 1) == nil)
    }
}
