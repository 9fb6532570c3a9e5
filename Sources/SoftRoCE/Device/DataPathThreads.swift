import SoftRoCEMemory

/// Threads other than the engine that run the device's data path — a network link's receive
/// thread, on which the responder and completer of arriving packets run — and the kernel page
/// faults each has taken since it joined: part of `data_path_kernel_faults`.
final class DataPathThreads: Sendable {
    private struct Member {
        /// The thread's faults when it joined.
        var atJoin: UInt64
    }

    private struct State {
        var members: [Int32: Member] = [:]
        /// Faults of threads that have left.
        var settled = 0
    }

    private let state = LockedValue(State())

    /// Counts the calling thread's faults from now on.
    func join() {
        let faults = Host.threadPageFaults()
        let tid = Host.currentThreadID()
        state.withLockedValue { $0.members[tid] = Member(atJoin: faults.minor + faults.major) }
    }

    /// Stops counting the calling thread, keeping what it took while a member.
    func leave() {
        let faults = Host.threadPageFaults()
        let tid = Host.currentThreadID()
        state.withLockedValue { state in
            guard let member = state.members.removeValue(forKey: tid) else { return }
            state.settled += Int(faults.minor + faults.major) - Int(member.atJoin)
        }
    }

    /// Faults the members have taken while members.
    var kernelFaults: Int {
        state.withLockedValue { state in
            var total = state.settled
            for (tid, member) in state.members {
                guard let faults = Host.pageFaults(ofThread: tid) else { continue }
                total += Int(faults.minor + faults.major) - Int(member.atJoin)
            }
            return total
        }
    }
}
