public import SoftRoCE

/// `softroce devinfo`: the device's attributes in `ibv_devinfo` layout, or as one JSON object.
public enum DeviceInfo {
    /// The text `ibv_devinfo [-v]` would print for `device`.
    /// - Parameter linkCounters: the counters of the device's link (verbose only), by name.
    public static func text(_ device: Device, verbose: Bool, linkCounters: [(name: String, value: Int)] = []) -> String {
        let a = device.attributes
        let p = device.port
        var lines = [
            "hca_id:\t\(device.name)",
            "\ttransport:\t\t\tInfiniBand (0)",
            "\tfw_ver:\t\t\t\t\(a.firmwareVersion)",
            "\tnode_guid:\t\t\t\(guid(a.nodeGUID))",
            "\tsys_image_guid:\t\t\t\(guid(a.nodeGUID))",
            "\tvendor_id:\t\t\t0x\(String(a.vendorID, radix: 16))",
            "\tvendor_part_id:\t\t\t0",
            "\thw_ver:\t\t\t\t0x0",
            "\tphys_port_cnt:\t\t\t1",
        ]
        if verbose {
            lines += [
                "\tmax_mr_size:\t\t\t0x\(String(a.maxMemoryRegionSize, radix: 16))",
                "\tpage_size_cap:\t\t\t0x\(String(a.pageSizeCapabilities, radix: 16))",
                "\tmax_qp:\t\t\t\t\(a.maxQueuePairs)",
                "\tmax_qp_wr:\t\t\t\(a.maxQueuePairWorkRequests)",
                "\tmax_sge:\t\t\t\(a.maxScatterGatherElements)",
                "\tmax_cq:\t\t\t\t\(a.maxCompletionQueues)",
                "\tmax_cqe:\t\t\t\(a.maxCompletionQueueEntries)",
                "\tmax_mr:\t\t\t\t\(a.maxMemoryRegions)",
                "\tmax_pd:\t\t\t\t\(a.maxProtectionDomains)",
                "\tmax_qp_rd_atom:\t\t\t\(a.maxQueuePairReadAtomic)",
                "\tmax_qp_init_rd_atom:\t\t\(a.maxQueuePairInitiatorReadAtomic)",
                "\tmax_inline_data:\t\t\(a.maxInlineData)",
                "\tatomic_cap:\t\t\t\(a.atomicCapability.rawValue) (1)",
                "\todp_caps:",
                "\t\tgeneral_odp_caps:\(a.onDemandPaging.isSupported ? "\n\t\t\t\t\tODP_SUPPORT" : "")\(a.onDemandPaging.supportsImplicit ? "\n\t\t\t\t\tODP_SUPPORT_IMPLICIT" : "")",
                "\t\trc_odp_caps:\n\t\t\t\t\t\(a.onDemandPaging.reliableConnected.description.split(separator: " ").map { "SUPPORT_\($0)" }.joined(separator: "\n\t\t\t\t\t"))",
                "\t\tud_odp_caps:\n\t\t\t\t\t\(a.onDemandPaging.unreliableDatagram.description.split(separator: " ").map { "SUPPORT_\($0)" }.joined(separator: "\n\t\t\t\t\t"))",
            ]
        }
        lines += [
            "\t\tport:\t\(p.number)",
            "\t\t\tstate:\t\t\t\(p.state.rawValue) (\(p.state == .active ? 4 : 1))",
            "\t\t\tmax_mtu:\t\t\(p.maxMTU.bytes) (\(p.maxMTU.rawValue))",
            "\t\t\tactive_mtu:\t\t\(p.activeMTU.bytes) (\(p.activeMTU.rawValue))",
            "\t\t\tsm_lid:\t\t\t0",
            "\t\t\tport_lid:\t\t0",
            "\t\t\tport_lmc:\t\t0x00",
            "\t\t\tlink_layer:\t\t\(p.linkLayer)",
        ]
        if verbose {
            lines.append("\t\t\tGID[  0]:\t\t\(device.gid), RoCE v2")
            let c = device.counters
            lines += [
                "\tcounters:",
                "\t\tpage_faults:\t\t\(c.pageFaults)",
                "\t\tfaulted_pages:\t\t\(c.faultedPages)",
                "\t\tinvalidations:\t\t\(c.invalidations)",
                "\t\tinvalidated_pages:\t\(c.invalidatedPages)",
                "\t\tfailed_faults:\t\t\(c.failedFaults)",
                "\t\tprefetched_pages:\t\(c.prefetchedPages)",
                "\t\tengine_resolved_faults:\t\(c.engineResolvedFaults)",
                "\t\tfault_latency_p50:\t\(c.faultLatencyP50Nanoseconds / 1000) us",
                "\t\tfault_latency_p99:\t\(c.faultLatencyP99Nanoseconds / 1000) us",
                "\t\tdata_path_kernel_faults:\t\(c.dataPathKernelFaults)",
                "\t\trnr_naks_sent:\t\t\(c.rnrNaksSent)",
                "\t\trnr_naks_received:\t\(c.rnrNaksReceived)",
                "\t\tretransmits:\t\t\(c.retransmits)",
                "\t\tduplicate_packets:\t\(c.duplicatePackets)",
                "\t\tdropped_packets:\t\(c.droppedPackets)",
            ]
            lines += linkCounters.map { "\t\t\($0.name):\t\($0.value)" }
        }
        return lines.joined(separator: "\n")
    }

    /// The `--json` object for `device`.
    /// - Parameters:
    ///   - transport: the `transport` field: `loopback` (the in-process device) or `udp`.
    ///   - linkCounters: the counters of the device's link, by name, added to `counters`.
    public static func json(_ device: Device, transport: String = "loopback", linkCounters: [(name: String, value: Int)] = []) -> String {
        let a = device.attributes
        let p = device.port
        let c = device.counters
        var line = JSONLine()
        line.add("hca_id", device.name)
        line.add("transport", transport)
        line.add("fw_ver", a.firmwareVersion)
        line.add("node_guid", guid(a.nodeGUID))
        line.add("max_mr_size", Int(a.maxMemoryRegionSize))
        line.add("max_qp", a.maxQueuePairs)
        line.add("max_qp_wr", a.maxQueuePairWorkRequests)
        line.add("max_sge", a.maxScatterGatherElements)
        line.add("max_cqe", a.maxCompletionQueueEntries)
        line.add("max_mr", a.maxMemoryRegions)
        line.add("max_qp_rd_atom", a.maxQueuePairReadAtomic)
        line.add("atomic_cap", a.atomicCapability.rawValue)
        line.addRaw("odp_caps", odpJSON(a.onDemandPaging))
        var port = JSONLine()
        port.add("port", Int(p.number))
        port.add("state", p.state.rawValue)
        port.add("max_mtu", p.maxMTU.bytes)
        port.add("active_mtu", p.activeMTU.bytes)
        port.add("link_layer", p.linkLayer)
        port.addRaw("gids", "[\(JSONLine.quote(device.gid.description))]")
        line.addRaw("ports", "[\(port)]")
        var counters = JSONLine()
        counters.add("page_faults", c.pageFaults)
        counters.add("faulted_pages", c.faultedPages)
        counters.add("invalidations", c.invalidations)
        counters.add("invalidated_pages", c.invalidatedPages)
        counters.add("failed_faults", c.failedFaults)
        counters.add("prefetched_pages", c.prefetchedPages)
        counters.add("engine_resolved_faults", c.engineResolvedFaults)
        counters.add("fault_p50_us", Double(c.faultLatencyP50Nanoseconds) / 1000)
        counters.add("fault_p99_us", Double(c.faultLatencyP99Nanoseconds) / 1000)
        counters.add("data_path_kernel_faults", c.dataPathKernelFaults)
        counters.add("rnr_naks_sent", c.rnrNaksSent)
        counters.add("rnr_naks_received", c.rnrNaksReceived)
        counters.add("retransmits", c.retransmits)
        counters.add("dropped_packets", c.droppedPackets)
        for (name, value) in linkCounters { counters.add(name, value) }
        line.addRaw("counters", counters.description)
        return line.description
    }

    private static func odpJSON(_ caps: OnDemandPagingCapabilities) -> String {
        func list(_ ops: OnDemandPagingCapabilities.Operations) -> String {
            "[" + ops.description.split(separator: " ").map { JSONLine.quote(String($0)) }.joined(separator: ",") + "]"
        }
        var line = JSONLine()
        line.add("supported", caps.isSupported)
        line.add("implicit", caps.supportsImplicit)
        line.addRaw("rc", list(caps.reliableConnected))
        line.addRaw("ud", list(caps.unreliableDatagram))
        return line.description
    }

    private static func guid(_ value: UInt64) -> String {
        let hex = String(value, radix: 16)
        let padded = String(repeating: "0", count: 16 - hex.count) + hex
        var groups: [Substring] = []
        var index = padded.startIndex
        for _ in 0..<4 {
            let end = padded.index(index, offsetBy: 4)
            groups.append(padded[index..<end])
            index = end
        }
        return groups.joined(separator: ":")
    }
}
