import SoftRoCE
import Testing

@Suite("QueuePairAttributes")
struct QueuePairAttributesTests {
    @Test(
        "mask bits are libibverbs' ibv_qp_attr_mask",
        arguments: [
            ("IBV_QP_STATE", UInt32(1)), ("IBV_QP_CUR_STATE", 2), ("IBV_QP_EN_SQD_ASYNC_NOTIFY", 4),
            ("IBV_QP_ACCESS_FLAGS", 8), ("IBV_QP_PKEY_INDEX", 16), ("IBV_QP_PORT", 32), ("IBV_QP_QKEY", 64),
            ("IBV_QP_AV", 128), ("IBV_QP_PATH_MTU", 256), ("IBV_QP_TIMEOUT", 512), ("IBV_QP_RETRY_CNT", 1024),
            ("IBV_QP_RNR_RETRY", 2048), ("IBV_QP_RQ_PSN", 4096), ("IBV_QP_MAX_QP_RD_ATOMIC", 8192),
            ("IBV_QP_ALT_PATH", 16384), ("IBV_QP_MIN_RNR_TIMER", 32768), ("IBV_QP_SQ_PSN", 65536),
            ("IBV_QP_MAX_DEST_RD_ATOMIC", 131_072), ("IBV_QP_PATH_MIG_STATE", 262_144), ("IBV_QP_CAP", 524_288),
            ("IBV_QP_DEST_QPN", 1_048_576),
        ]
    )
    func maskBits(verbsName: String, raw: UInt32) throws {
        let entry = try #require(QueuePairAttributeMask.allAttributes.first { $0.verbsName == verbsName })
        #expect(entry.attribute.rawValue == raw)
        #expect(QueuePairAttributeMask(rawValue: raw).verbsName == verbsName)
    }

    @Test("the mask has one bit per attribute that is set")
    func mask() {
        #expect(QueuePairAttributes().mask.isEmpty)
        let attributes = QueuePairAttributes(
            state: .readyToReceive,
            pathMTU: .mtu1024,
            rqPSN: 0,
            destQPNumber: 7,
            addressVector: AddressVector(destinationGID: .zero),
            minRNRTimer: RNRTimer(code: 12),
            maxDestReadAtomic: 1
        )
        #expect(attributes.mask.rawValue == 1 | 256 | 4096 | 1_048_576 | 128 | 32768 | 131_072)
        #expect(QueuePairAttributes(notifySendQueueDrained: false).mask == .notifySendQueueDrained)
        #expect(QueuePairAttributes(capabilities: .init(maxSendWR: 1, maxReceiveWR: 1)).mask == .capabilities)
    }

    @Test("merging overlays the attributes a change sets and keeps the rest")
    func merge() {
        var stored = QueuePairAttributes(
            state: .initialized,
            qkey: 1,
            accessFlags: [.remoteRead],
            portNumber: 1,
            pkeyIndex: 0
        )
        stored.merge(QueuePairAttributes(state: .readyToReceive, currentState: .initialized, qkey: 2, rqPSN: 9))
        #expect(stored.state == .readyToReceive)
        #expect(stored.qkey == 2)
        #expect(stored.rqPSN == 9)
        #expect(stored.accessFlags == [.remoteRead])
        #expect(stored.portNumber == 1)
        #expect(stored.currentState == nil, "currentState is an assertion, not stored")
        #expect(stored.merging(QueuePairAttributes()) == stored)
    }

    @Test("mask names use Swift and verbs spellings")
    func maskNames() {
        let mask: QueuePairAttributeMask = [.rqPSN, .destQPNumber]
        #expect(mask.name == "rqPSN|destQPNumber")
        #expect(mask.verbsName == "IBV_QP_RQ_PSN|IBV_QP_DEST_QPN")
        #expect(QueuePairAttributeMask.destQPNumber.description == "destQPNumber (IBV_QP_DEST_QPN)")
        #expect(mask.first == .rqPSN)
        #expect(mask.attributes == [.rqPSN, .destQPNumber])
    }

    @Test(
        "the RNR timer code maps to the IBTA table of ibv_modify_qp(3)",
        arguments: [
            (UInt8(0), Duration.microseconds(655_360)), (1, .microseconds(10)), (2, .microseconds(20)),
            (3, .microseconds(30)), (4, .microseconds(40)), (5, .microseconds(60)), (6, .microseconds(80)),
            (7, .microseconds(120)), (8, .microseconds(160)), (9, .microseconds(240)), (10, .microseconds(320)),
            (11, .microseconds(480)), (12, .microseconds(640)), (13, .microseconds(960)),
            (14, .microseconds(1280)), (15, .microseconds(1920)), (16, .microseconds(2560)),
            (17, .microseconds(3840)), (18, .microseconds(5120)), (19, .microseconds(7680)),
            (20, .microseconds(10240)), (21, .microseconds(15360)), (22, .microseconds(20480)),
            (23, .microseconds(30720)), (24, .microseconds(40960)), (25, .microseconds(61440)),
            (26, .microseconds(81920)), (27, .microseconds(122_880)), (28, .microseconds(163_840)),
            (29, .microseconds(245_760)), (30, .microseconds(327_680)), (31, .microseconds(491_520)),
        ]
    )
    func rnrTimer(code: UInt8, expected: Duration) throws {
        #expect(RNRTimer.duration(forCode: code) == expected)
        #expect(try #require(RNRTimer(code: code)).duration == expected)
    }

    @Test("RNR timer codes above 31 don't exist")
    func rnrTimerEdges() throws {
        #expect(RNRTimer(code: 32) == nil)
        #expect(RNRTimer.duration(forCode: 255) == nil)
        #expect(try #require(RNRTimer(code: 31)).code == 31)
    }

    @Test("RNRTimer(atLeast:) picks the shortest code not below the request")
    func rnrTimerAtLeast() {
        #expect(RNRTimer(atLeast: .microseconds(1)).code == 1)
        #expect(RNRTimer(atLeast: .microseconds(10)).code == 1)
        #expect(RNRTimer(atLeast: .microseconds(11)).code == 2)
        #expect(RNRTimer(atLeast: .milliseconds(1)).code == 14)
        #expect(RNRTimer(atLeast: .milliseconds(500)).code == 0)
    }

    @Test("the ACK timeout is 4.096 us * 2^code, 0 meaning infinite")
    func ackTimeout() throws {
        #expect(try #require(AckTimeout(code: 0)).duration == nil)
        #expect(try #require(AckTimeout(code: 1)).duration == .nanoseconds(8192))
        #expect(try #require(AckTimeout(code: 14)).duration == .nanoseconds(4096 << 14))
        #expect(try #require(AckTimeout(code: 31)).duration == .nanoseconds(Int64(4096) << 31))
        #expect(AckTimeout(code: 32) == nil)
    }

    @Test(
        "path MTU values are ibv_mtu",
        arguments: [
            (PathMTU.mtu256, UInt8(1), 256), (.mtu512, 2, 512), (.mtu1024, 3, 1024), (.mtu2048, 4, 2048),
            (.mtu4096, 5, 4096),
        ]
    )
    func pathMTU(mtu: PathMTU, raw: UInt8, bytes: Int) {
        #expect(mtu.rawValue == raw)
        #expect(mtu.bytes == bytes)
        #expect(PathMTU(bytes: bytes) == mtu)
    }

    @Test("other MTU sizes don't exist")
    func pathMTUInvalid() {
        #expect(PathMTU(bytes: 1500) == nil)
        #expect(PathMTU(bytes: 0) == nil)
    }

    @Test("states and types carry ibv raw values and verbs abbreviations")
    func statesAndTypes() {
        let states = QueuePairState.allCases.map { "\($0.rawValue)=\($0)" }
        #expect(states == ["0=RESET", "1=INIT", "2=RTR", "3=RTS", "4=SQD", "5=SQE", "6=ERR"])
        #expect(QueuePairType.rc.rawValue == 2)
        #expect(QueuePairType.ud.rawValue == 4)
    }
}
