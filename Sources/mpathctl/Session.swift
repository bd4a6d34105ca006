import ArgumentParser
import MPathControl

extension MPathCtl {
    /// `iscsiadm -m session [-P N]`.
    struct Session: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Running iSCSI sessions, like `iscsiadm -m session -P N`.",
            discussion: "Exit status 21 when there is no session (iscsiadm's 'no objects found').")
        @OptionGroup var locations: LocationOptions
        @Option(name: [.customShort("P"), .customLong("print")],
                help: "Detail 0-3: 0 one line each, 1 tree and states, 2 timeouts, CHAP and negotiated keys, 3 LUNs and paths.")
        var printLevel = 0

        func run() throws {
            guard (0...3).contains(printLevel) else {
                MPathCtl.fail("invalid print level \(printLevel) (use 0-3)")
            }
            let response = Daemon.send(.sessions(printLevel: printLevel), locations: locations)
            guard case .sessions(let sessions) = response else { Daemon.unexpected(response) }
            guard !sessions.isEmpty else { MPathCtl.fail("no active sessions", code: 21) }
            print(SessionFormatter.render(sessions, printLevel: printLevel), terminator: "")
        }
    }
}
