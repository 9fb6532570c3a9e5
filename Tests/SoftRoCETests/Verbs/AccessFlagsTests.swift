import SoftRoCE
import Testing

@Suite("AccessFlags")
struct AccessFlagsTests {
    @Test(
        "raw values are libibverbs' ibv_access_flags",
        arguments: [
            (AccessFlags.localWrite, UInt32(1)), (.remoteWrite, 2), (.remoteRead, 4), (.remoteAtomic, 8),
            (.mwBind, 16), (.zeroBased, 32), (.onDemand, 64),
        ]
    )
    func rawValues(flag: AccessFlags, raw: UInt32) {
        #expect(flag.rawValue == raw)
    }

    @Test(
        "registration accepts valid combinations",
        arguments: [
            AccessFlags(), [.localWrite], [.remoteRead], [.localWrite, .remoteWrite],
            [.localWrite, .remoteAtomic], [.localWrite, .remoteWrite, .remoteRead, .remoteAtomic, .onDemand],
            [.remoteRead, .onDemand, .zeroBased, .mwBind], AccessFlags(rawValue: 1 << 20 | 1),
        ] as [AccessFlags]
    )
    func acceptsValid(flags: AccessFlags) throws {
        try flags.validateForMemoryRegistration()
    }

    @Test(
        "remote write or remote atomic without local write is rejected",
        arguments: [[.remoteWrite], [.remoteAtomic], [.remoteWrite, .remoteRead], [.remoteAtomic, .onDemand]]
            as [AccessFlags]
    )
    func remoteNeedsLocalWrite(flags: AccessFlags) {
        let error = #expect(throws: VerbsError.self) {
            try flags.validateForMemoryRegistration()
        }
        #expect(error?.code == .remoteAccessRequiresLocalWrite)
    }

    @Test("unknown bits outside the optional range are rejected")
    func unknownBits() {
        let error = #expect(throws: VerbsError.self) {
            try AccessFlags(rawValue: 1 << 7 | 1).validateForMemoryRegistration()
        }
        #expect(error?.code == .unsupportedAccessFlags)
    }

    @Test("description names the flags")
    func description() {
        #expect(AccessFlags([.localWrite, .onDemand]).description == "[localWrite, onDemand]")
        #expect(AccessFlags(rawValue: 0x101).description == "[localWrite, 0x100]")
    }
}
