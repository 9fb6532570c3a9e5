public import SoftRoCE
public import SoftRoCEMemory
public import SoftRoCEWire
import Synchronization
import SystemPackage

/// RoCEv2 over UDP: a ``SoftRoCE/PacketLink`` that carries a device's packets as UDP datagrams to
/// port 4791 of other hosts, in the wire format of Linux rxe (BTH, extension headers, payload,
/// pad, ICRC), so its peer can be another SoftRoCE device or the kernel's `rdma_rxe`.
///
/// The link binds one local IPv4 address; the device attached to it is reachable at that
/// address's IPv4-mapped GID. Runs leave as single packets of the QP's path MTU
/// (``maxRunPayload`` is 0). Received datagrams are decoded, checked (structure and ICRC) and
/// delivered to the device on a receive thread the link owns; a malformed datagram is dropped
/// and counted, never trusted. Loss, duplication and reordering are the device's to recover
/// from (RC retransmission), as on a real network.
///
/// All datagrams leave from the bound port (rxe varies the source port per QP for ECMP entropy;
/// receivers ignore it).
///
/// ```swift
/// let link = try UDPLink(localAddress: "192.0.2.1")
/// let device = Device(link: link, activeMTU: .mtu1024)
/// ```
public final class UDPLink: PacketLink, Sendable {
    /// The local IPv4 address the link is bound to.
    public let localAddress: IPv4Address
    /// The UDP port the link listens on and sends to (4791, the RoCEv2 port, unless set).
    public let port: UInt16

    private let socket: UDPSocket
    private let device = LockedValue<Device?>(nil)
    /// The receive thread, while a device is attached.
    private let receiver = LockedValue<DeviceThread.Joinable?>(nil)
    private let stopping = Atomic<Bool>(false)
    private let sent = Atomic<Int>(0)
    private let received = Atomic<Int>(0)
    private let sendErrors = Atomic<Int>(0)
    private let malformed = Atomic<Int>(0)
    private let icrcErrors = Atomic<Int>(0)
    private let unroutable = Atomic<Int>(0)
    private let faults = InjectedNetworkFaults(seed: 0x2545_F491_4F6C_DD1D)
    /// Packet buffers for ``transmit(_:payload:from:to:)``, reused so that sending allocates no
    /// new memory once warm (the engine and the receive thread both send).
    private let buffers = LockedValue<[[UInt8]]>([])
    /// A datagram held back by ``reorderRate``, sent after the next one (or when the link idles).
    private let heldBack = LockedValue<(datagram: [UInt8], target: IPv4Address)?>(nil)

    /// The largest datagram the receive path accepts, in bytes: a 4096-byte MTU packet with
    /// every header fits many times over; a larger datagram is counted as malformed.
    static let receiveBufferBytes = 1 << 16

    /// Opens the link: binds a UDP socket to `localAddress:port`.
    ///
    /// - Parameters:
    ///   - localAddress: a local IPv4 address in dotted-quad form (any of 127.0.0.0/8 works on
    ///     one host: two links on 127.0.0.1 and 127.0.0.2 reach each other).
    ///   - port: the UDP port, 4791 by default; both peers must use the same.
    /// - Throws: ``UDPLinkError`` for an address that does not parse or a socket the system
    ///   refuses (the address is not local, or another process holds its port).
    public init(localAddress: String, port: UInt16 = UDPHeader.roceV2Port) throws(UDPLinkError) {
        guard let address = IPv4Address(localAddress) else { throw .invalidAddress(localAddress) }
        do {
            socket = try UDPSocket(binding: address, port: port, receiveBufferBytes: 8 << 20, receiveTimeout: .milliseconds(100))
        } catch {
            throw .socket(address: localAddress, port: port, errno: error)
        }
        self.localAddress = address
        self.port = port
    }

    // MARK: PacketLink

    /// 0: every run is one packet of the path MTU.
    public var maxRunPayload: Int { 0 }

    /// The IPv4-mapped GID of ``localAddress``.
    public func assignGID() -> GID { GID(ipv4: localAddress.rawValue) }

    /// Attaches `device` and starts the receive thread. A link serves one device for its life:
    /// a second attach, or one after ``detach(_:)``, is ignored (open a new link instead).
    public func attach(_ device: Device, at gid: GID) {
        let first = self.device.withLockedValue { current -> Bool in
            guard current == nil, !stopping.load(ordering: .acquiring) else { return false }
            current = device
            return true
        }
        guard first else { return }
        let thread = DeviceThread.spawn("UDP link's receive thread") { [self] in receiveLoop() }
        receiver.withLockedValue { $0 = thread }
    }

    /// Detaches the device and stops the receive thread (waits for it). The socket stays open
    /// until the link is released.
    public func detach(_ device: Device) {
        let attached = self.device.withLockedValue { current -> Bool in
            guard current === device else { return false }
            current = nil
            return true
        }
        guard attached else { return }
        stopping.store(true, ordering: .releasing)
        socket.wakeReceivers()
        receiver.withLockedValue { thread in
            thread?.join()
            thread = nil
        }
    }

    /// Sends each packet of `run` as one datagram to `destination`'s IPv4 address.
    public func transmit(_ run: PacketRun, payload: MappedBytes?, from source: GID, to destination: GID) {
        guard let ipv4 = destination.ipv4 else {
            unroutable.add(run.packetCount, ordering: .relaxed)
            return
        }
        let target = IPv4Address(rawValue: ipv4)
        let network = NetworkHeaders.ipv4(
            IPv4Header(source: localAddress, destination: target), UDPHeader(sourcePort: port, destinationPort: port))
        var datagram = buffers.withLockedValue { $0.popLast() } ?? []
        defer { buffers.withLockedValue { if $0.count < 8 { $0.append(datagram) } } }
        for index in 0..<run.packetCount {
            let packet = run.wirePacket(index)
            datagram.removeAll(keepingCapacity: true)
            let encoded: Bool
            if let payload, !packet.payloadRange.isEmpty {
                encoded = payload.extracting(packet.payloadRange).withUnsafeMutableBytes { raw in
                    let bytes = UnsafeBufferPointer(start: raw.baseAddress?.assumingMemoryBound(to: UInt8.self), count: raw.count)
                    return Self.encode(packet.headers, payload: bytes.span, network: network, into: &datagram)
                }
            } else {
                encoded = Self.encode(packet.headers, payload: [UInt8]().span, network: network, into: &datagram)
            }
            guard encoded else {
                sendErrors.add(1, ordering: .relaxed)
                continue
            }
            switch faults.nextFate() {
            case .drop:
                continue
            case .holdBack:
                let earlier = heldBack.withLockedValue { held in
                    defer { held = (datagram, target) }
                    return held
                }
                if let earlier { send(earlier.datagram, to: earlier.target) }
                continue
            case .duplicate:
                send(datagram, to: target)
                send(datagram, to: target)
            case .send:
                send(datagram, to: target)
            }
            sendHeldBack()
        }
    }

    /// Hands one datagram to the kernel and counts the outcome.
    private func send(_ datagram: [UInt8], to target: IPv4Address) {
        let failure = datagram.withUnsafeBytes { socket.send($0, to: target, port: port) }
        if failure == nil { sent.add(1, ordering: .relaxed) } else { sendErrors.add(1, ordering: .relaxed) }
    }

    /// Sends the datagram ``reorderRate`` held back, if there is one.
    private func sendHeldBack() {
        guard let held = heldBack.withLockedValue({ held in defer { held = nil }; return held }) else { return }
        send(held.datagram, to: held.target)
    }

    /// Appends one encoded packet to `datagram`; false if the codec refused it (headers its
    /// opcode does not carry, or a packet beyond 64 KiB: a defect inside the package, dropped
    /// here and recovered by retransmission).
    private static func encode(
        _ headers: TransportHeaders, payload: Span<UInt8>, network: NetworkHeaders, into datagram: inout [UInt8]
    ) -> Bool {
        do {
            try RoCEPacket.encode(headers: headers, payload: payload, network: network, into: &datagram)
            return true
        } catch {
            assertionFailure("unencodable packet \(headers.opcode): \(error)")
            return false
        }
    }

    // MARK: Counters and fault injection

    /// The link's counters now.
    public var counters: UDPLinkCounters {
        UDPLinkCounters(
            sentPackets: sent.load(ordering: .relaxed), receivedPackets: received.load(ordering: .relaxed),
            sendErrors: sendErrors.load(ordering: .relaxed), malformedPackets: malformed.load(ordering: .relaxed),
            icrcErrors: icrcErrors.load(ordering: .relaxed), unroutablePackets: unroutable.load(ordering: .relaxed),
            injectedLosses: faults.dropped.load(ordering: .relaxed),
            injectedDuplicates: faults.duplicated.load(ordering: .relaxed),
            injectedReorders: faults.reordered.load(ordering: .relaxed))
    }

    /// Fraction of outgoing datagrams dropped on purpose, 0 ... 1 (fault injection, `--loss`).
    public var lossRate: Double {
        get { faults.lossRate }
        set { faults.lossRate = newValue }
    }

    /// Fraction of outgoing datagrams sent twice, 0 ... 1 (fault injection, `--duplicate`).
    public var duplicateRate: Double {
        get { faults.duplicationRate }
        set { faults.duplicationRate = newValue }
    }

    /// Fraction of outgoing datagrams held back and sent after the next one, 0 ... 1 (fault
    /// injection, `--reorder`); a datagram held back while the link idles goes out within the
    /// receive thread's poll interval (100 ms).
    public var reorderRate: Double {
        get { faults.reorderingRate }
        set { faults.reorderingRate = newValue }
    }

    // MARK: Receiving

    /// Receives datagrams until the device detaches, delivering each valid packet.
    private func receiveLoop() {
        // Delivery runs the device's responder and completer on this thread: its kernel page
        // faults count as the data path's, from the moment its stack and buffer are resident.
        var buffer = [UInt8](repeating: 0, count: Self.receiveBufferBytes)
        Host.prefaultCurrentStack()
        guard let device = device.withLockedValue({ $0 }) else { return }
        device.joinDataPath()
        defer { device.leaveDataPath() }
        while !stopping.load(ordering: .acquiring) {
            let result = buffer.withUnsafeMutableBytes { socket.receive(into: $0) }
            // A failure is the timeout (a chance to see `stopping`, and to send a datagram held
            // back for reordering while the link idled), EINTR, or an ICMP error report.
            guard case .success(let datagram) = result else {
                sendHeldBack()
                continue
            }
            if datagram.byteCount == 0 && stopping.load(ordering: .acquiring) { break }
            deliver(&buffer, datagram, to: device)
        }
    }

    /// Decodes and checks one datagram and hands it to `device` as a run of one packet.
    private func deliver(_ buffer: inout [UInt8], _ datagram: UDPSocket.Received, to device: Device) {
        guard datagram.byteCount <= buffer.count else {
            malformed.add(1, ordering: .relaxed)
            return
        }
        let count = datagram.byteCount
        let packet: RoCEPacket
        do {
            packet = try RoCEPacket(decoding: buffer.span.extracting(0..<count))
        } catch {
            malformed.add(1, ordering: .relaxed)
            return
        }
        guard arrivedIntact(packet, buffer.span.extracting(0..<count), from: datagram) else {
            icrcErrors.add(1, ordering: .relaxed)
            return
        }
        received.add(1, ordering: .relaxed)
        let run = PacketRun(wirePacket: packet.headers, payloadLength: packet.payloadRange.count)
        let source = GID(ipv4: datagram.source.rawValue)
        if packet.payloadRange.isEmpty {
            device.receive(run, payload: nil, from: source)
        } else {
            MappedBytes.withBytes(of: &buffer) { device.receive(run, payload: $0.extracting(packet.payloadRange), from: source) }
        }
    }

    /// Whether the packet's ICRC matches the IPv4 and UDP headers it arrived in. A UDP socket
    /// does not show the IPv4 identification the sender's kernel wrote (a per-destination counter
    /// for rdma_rxe, 0 for this link), so it is solved for (``SoftRoCEWire/ICRC/recoverIdentification(ipHeader:udpHeader:roce:icrc:)``);
    /// the don't-fragment bit is tried set (as rxe sends) and then clear.
    private func arrivedIntact(_ packet: RoCEPacket, _ bytes: Span<UInt8>, from datagram: UDPSocket.Received) -> Bool {
        let covered = bytes.extracting(0..<(bytes.count - ICRC.byteCount))
        for attempt in 0..<2 {
            let flags: UInt16 = attempt == 0 ? 0x4000 : 0  // DF set, then clear (no array: nothing allocated per packet)
            let network = NetworkHeaders.ipv4(
                IPv4Header(source: datagram.source, destination: localAddress, flagsAndFragmentOffset: flags),
                UDPHeader(sourcePort: datagram.sourcePort, destinationPort: port)
            ).settingLengths(roceByteCount: bytes.count)
            guard case .ipv4(let ip, let udp) = network else { return false }
            if ICRC.recoverIdentification(ipHeader: ip, udpHeader: udp, roce: covered, icrc: packet.icrc) != nil { return true }
        }
        return false
    }
}
