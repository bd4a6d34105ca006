import ArgumentParser
import Foundation

@main
struct MPathCtl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mpathctl",
        abstract: "Multipath-aware iSCSI initiator: discovery, node records, sessions, maps.",
        discussion: """
            Coming from open-iscsi: `iscsiadm -m discovery -t st -p P` is `mpathctl discover -p P`,
            `iscsiadm -m node` is `mpathctl node list`, `iscsi-iname` is `mpathctl iname`.
            """,
        subcommands: [
            Iname.self, Discover.self, Node.self, Iface.self, Login.self, Logout.self, Session.self,
            Status.self, Table.self, FailPath.self, ReinstatePath.self, SwitchGroup.self, Rescan.self,
            Resize.self, Bench.self, Drill.self,
        ])

    /// Prints one clear line and exits non-zero: the contract for every failure.
    static func fail(_ message: String, code: Int32 = 1) -> Never {
        FileHandle.standardError.write(Data("mpathctl: \(message)\n".utf8))
        Foundation.exit(code)
    }
}

/// --config-dir / --state-dir / --run-dir, shared by every subcommand.
struct LocationOptions: ParsableArguments {
    @Option(help: "Configuration directory (default /etc/mpathd, or $MPATH_CONFIG_DIR).")
    var configDir: String?

    @Option(help: "State directory for node records and bindings (default /var/lib/mpathd, or $MPATH_STATE_DIR).")
    var stateDir: String?

    @Option(help: "Runtime directory of mpathd (default /run/mpathd, or $MPATH_RUN_DIR).")
    var runDir: String?
}
