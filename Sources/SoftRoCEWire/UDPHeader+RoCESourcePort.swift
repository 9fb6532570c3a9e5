extension UDPHeader {
    /// The first port of the RoCEv2 source-port range, 0xC000 (`IB_ROCE_UDP_ENCAP_VALID_PORT_MIN`).
    public static let roceSourcePortBase: UInt16 = 0xC000

    /// The source port Linux rxe gives a QP when it is created: `0xC000 + (hash_32(qpn, 14) & 0x3fff)`
    /// (`rxe_qp_init_req`). UD QPs keep it.
    public static func roceSourcePort(queuePair: QueuePairNumber) -> UInt16 {
        // hash_32(): multiply by GOLDEN_RATIO_32 and keep the top 14 bits.
        let hash = (queuePair.rawValue &* 0x61C8_8647) >> (32 - 14)
        return roceSourcePortBase | UInt16(truncatingIfNeeded: hash & 0x3FFF)
    }

    /// The source port of a connected QP once its address is set, from the GRH flow label or, if that is 0,
    /// from both QPNs: the kernel's `rdma_get_udp_sport(fl, lqpn, rqpn)` (`include/rdma/ib_verbs.h`).
    ///
    /// - Parameters:
    ///   - flowLabel: the 20-bit flow label of the address handle; 0 derives one from the QPNs
    ///     (`rdma_calc_flow_label`).
    public static func roceSourcePort(
        flowLabel: UInt32,
        localQueuePair: QueuePairNumber,
        remoteQueuePair: QueuePairNumber
    ) -> UInt16 {
        var label = flowLabel & 0xF_FFFF
        if label == 0 {
            var product = UInt64(localQueuePair.rawValue) * UInt64(remoteQueuePair.rawValue)
            product ^= product >> 20
            product ^= product >> 40
            label = UInt32(truncatingIfNeeded: product) & 0xF_FFFF
        }
        let low = (label & 0x3FFF) ^ ((label & 0xF_C000) >> 14)
        return roceSourcePortBase | UInt16(truncatingIfNeeded: low)
    }
}
