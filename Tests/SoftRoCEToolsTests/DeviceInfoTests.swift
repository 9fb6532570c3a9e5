import SoftRoCE
import SoftRoCETools
import Testing

@Suite("devinfo")
struct DeviceInfoTests {
    @Test("the JSON object names the transport, the GID and the link's counters; -v text lists them too")
    func transportAndLinkCounters() {
        let device = Device(link: InProcessFabric())
        defer { device.close() }
        let link = [(name: "udp_sent_packets", value: 3), (name: "udp_icrc_errors", value: 1)]
        let json = DeviceInfo.json(device, transport: "udp", linkCounters: link)
        #expect(json.contains("\"transport\":\"udp\""))
        #expect(json.contains("\"gids\":[\"\(device.gid)\"]"))
        #expect(json.contains("\"udp_sent_packets\":3") && json.contains("\"udp_icrc_errors\":1"))
        #expect(DeviceInfo.json(device).contains("\"transport\":\"loopback\""))
        let text = DeviceInfo.text(device, verbose: true, linkCounters: link)
        #expect(text.contains("GID[  0]:\t\t\(device.gid), RoCE v2"))
        #expect(text.contains("\t\tudp_sent_packets:\t3"))
        #expect(!DeviceInfo.text(device, verbose: false, linkCounters: link).contains("udp_sent_packets"))
    }
}
