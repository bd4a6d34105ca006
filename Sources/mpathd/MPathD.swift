import ArgumentParser
import Foundation
import Logging
import MPathConfig
import MPathDaemon
import ServiceLifecycle

/// mpathd: the multipath iSCSI daemon (iscsid + multipathd in one).
@main
struct MPathD: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mpathd",
        abstract: "Multipath iSCSI daemon: sessions, path checking, failover and the multipath block devices.")

    @Flag(help: "Stay in the foreground and log to stderr (systemd runs it this way).")
    var foreground = false

    @Option(help: "trace, debug, info, notice, warning, error, critical")
    var logLevel: String = "info"

    @Option(help: "Configuration directory (default /etc/mpathd, or $MPATH_CONFIG_DIR).")
    var configDir: String?

    @Option(help: "State directory (default /var/lib/mpathd, or $MPATH_STATE_DIR).")
    var stateDir: String?

    @Option(help: "Runtime directory holding mpathd.sock and the devices (default /run/mpathd, or $MPATH_RUN_DIR).")
    var runDir: String?

    func run() async throws {
        guard let level = Logger.Level(rawValue: logLevel) else {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical")
        }
        if !foreground {
            // No double fork: service managers supervise us in the foreground; without the flag we
            // still run attached, which is what every init system today expects.
            FileHandle.standardError.write(Data("mpathd: running in the foreground (use --foreground to silence this note)\n".utf8))
        }
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "mpathd")
        guard geteuid() == 0 else {
            FileHandle.standardError.write(Data("mpathd: must run as root (it mounts FUSE and attaches loop devices)\n".utf8))
            throw ExitCode(1)
        }
        let locations = ConfigLocations.resolve(configDir: configDir, stateDir: stateDir, runDir: runDir)
        let daemon = Daemon(locations: locations, logger: logger)
        let group = ServiceGroup(configuration: .init(services: [daemon], gracefulShutdownSignals: [.sigterm, .sigint],
                                                      logger: logger))
        do {
            try await group.run()
        } catch {
            FileHandle.standardError.write(Data("mpathd: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }
}

