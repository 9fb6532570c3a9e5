import SoftRoCE
import Testing

@Suite("WorkCompletion")
struct WorkCompletionTests {
    static let statuses: [(WorkCompletion.Status, UInt32, String, String)] = [
        (.success, 0, "IBV_WC_SUCCESS", "success"),
        (.localLengthError, 1, "IBV_WC_LOC_LEN_ERR", "local length error"),
        (.localQPOperationError, 2, "IBV_WC_LOC_QP_OP_ERR", "local QP operation error"),
        (.localEECOperationError, 3, "IBV_WC_LOC_EEC_OP_ERR", "local EE context operation error"),
        (.localProtectionError, 4, "IBV_WC_LOC_PROT_ERR", "local protection error"),
        (.workRequestFlushError, 5, "IBV_WC_WR_FLUSH_ERR", "Work Request Flushed Error"),
        (.memoryWindowBindError, 6, "IBV_WC_MW_BIND_ERR", "memory management operation error"),
        (.badResponseError, 7, "IBV_WC_BAD_RESP_ERR", "bad response error"),
        (.localAccessError, 8, "IBV_WC_LOC_ACCESS_ERR", "local access error"),
        (.remoteInvalidRequestError, 9, "IBV_WC_REM_INV_REQ_ERR", "remote invalid request error"),
        (.remoteAccessError, 10, "IBV_WC_REM_ACCESS_ERR", "remote access error"),
        (.remoteOperationError, 11, "IBV_WC_REM_OP_ERR", "remote operation error"),
        (.retryExceededError, 12, "IBV_WC_RETRY_EXC_ERR", "transport retry counter exceeded"),
        (.rnrRetryExceededError, 13, "IBV_WC_RNR_RETRY_EXC_ERR", "RNR retry counter exceeded"),
        (.localRDDViolationError, 14, "IBV_WC_LOC_RDD_VIOL_ERR", "local RDD violation error"),
        (.remoteInvalidRDRequestError, 15, "IBV_WC_REM_INV_RD_REQ_ERR", "remote invalid RD request"),
        (.remoteAbortError, 16, "IBV_WC_REM_ABORT_ERR", "aborted error"),
        (.invalidEECNumberError, 17, "IBV_WC_INV_EECN_ERR", "invalid EE context number"),
        (.invalidEECStateError, 18, "IBV_WC_INV_EEC_STATE_ERR", "invalid EE context state"),
        (.fatalError, 19, "IBV_WC_FATAL_ERR", "fatal error"),
        (.responseTimeoutError, 20, "IBV_WC_RESP_TIMEOUT_ERR", "response timeout error"),
        (.generalError, 21, "IBV_WC_GENERAL_ERR", "general error"),
    ]

    @Test("statuses carry ibv_wc_status values, names and ibv_wc_status_str text", arguments: statuses)
    func status(status: WorkCompletion.Status, raw: UInt32, verbsName: String, text: String) {
        #expect(status.rawValue == raw)
        #expect(status.verbsName == verbsName)
        #expect(status.description == text)
        #expect(status.isSuccess == (raw == 0))
    }

    @Test("an unknown status round-trips and prints like rdma-core")
    func unknownStatus() {
        let status = WorkCompletion.Status(rawValue: 22)
        #expect(status.rawValue == 22)
        #expect(status.description == "unknown")
        #expect(status.verbsName == "IBV_WC_22")
    }

    @Test(
        "opcodes carry ibv_wc_opcode values",
        arguments: [
            (WorkCompletion.Opcode.send, UInt32(0), false), (.rdmaWrite, 1, false), (.rdmaRead, 2, false),
            (.compareAndSwap, 3, false), (.fetchAndAdd, 4, false), (.receive, 128, true),
            (.receiveRDMAWithImmediate, 129, true),
        ]
    )
    func opcode(opcode: WorkCompletion.Opcode, raw: UInt32, isReceive: Bool) {
        #expect(opcode.rawValue == raw)
        #expect(opcode.isReceive == isReceive)
    }

    @Test(
        "each send opcode maps to its completion opcode",
        arguments: [
            (SendWorkRequest.Opcode.send, WorkCompletion.Opcode.send), (.sendWithImmediate, .send),
            (.rdmaWrite, .rdmaWrite), (.rdmaWriteWithImmediate, .rdmaWrite), (.rdmaRead, .rdmaRead),
            (.atomicCompareAndSwap, .compareAndSwap), (.atomicFetchAndAdd, .fetchAndAdd),
        ]
    )
    func completionOpcode(request: SendWorkRequest.Opcode, completion: WorkCompletion.Opcode) {
        #expect(WorkCompletion.Opcode(request) == completion)
    }

    @Test("flags follow the immediate and GRH fields")
    func flags() {
        let plain = WorkCompletion(wrID: 1, status: .success, opcode: .receive, byteLength: 10, qpNumber: 3)
        #expect(plain.flags.isEmpty)
        #expect(plain.immediateData == nil)
        let imm = WorkCompletion(
            wrID: 1,
            status: .success,
            opcode: .receiveRDMAWithImmediate,
            immediateData: 0xDEAD,
            qpNumber: 3,
            sourceQPNumber: 9,
            hasGRH: true
        )
        #expect(imm.flags == [.withImmediate, .grh])
        #expect(imm.immediateData == 0xDEAD)
        #expect(imm.sourceQPNumber == 9)
        #expect(WorkCompletion.Flags.grh.rawValue == 1)
        #expect(WorkCompletion.Flags.withImmediate.rawValue == 2)
    }

    @Test("a flushed completion reports IBV_WC_WR_FLUSH_ERR")
    func flushed() {
        let wc = WorkCompletion.flushed(wrID: 77, opcode: .send, qpNumber: 5)
        #expect(wc.status == .workRequestFlushError)
        #expect(wc.wrID == 77)
        #expect(wc.qpNumber == 5)
    }
}
