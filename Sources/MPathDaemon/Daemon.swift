import BlockExport
import DeviceMapper
import Foundation
import Logging
import MPathConfig
import MPathControl
import MPathMetrics
import Multipath
import NIOCore
import NIOPosix
import ServiceLifecycle

#if canImport(Glibc)
import Glibc
#endif

/// mpathd: the path manager behind a control socket. `run()` sets everything up, serves until
/// graceful shutdown (SIGTERM/SIGINT via ServiceLifecycle), then stops taking IO, flushes,
/// detaches devices and logs out, leaving nothing behind.
public final class Daemon: Service, @unchecked Sendable {
    public static let version = "0.1.0"

    let locations: ConfigLocations
    let logger: Logger
    let group: EventLoopGroup
    /// Block devices are served only when true (tests of the control plane may turn it off).
    let exportDevices: Bool
    private var lockFD: Int32 = -1

    public init(locations: ConfigLocations, logger: Logger, group: EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
                exportDevices: Bool = true) {
        self.locations = locations
        self.logger = logger
        self.group = group
        self.exportDevices = exportDevices
    }

    public var socketPath: String { locations.runDir + "/mpathd.sock" }

    public func run() async throws {
        try prepareRunDir()
        defer { releaseLock() }
        let (settings, multipath, initiator) = try loadConfiguration()

        // data_plane: dm where /dev/mapper/control is usable (auto), else fuse. Choosing dm on a
        // kernel without device-mapper fails here, with one line naming /dev/mapper/control.
        let plane = try DataPlaneChoice.choose(configured: multipath.global.dataPlane.rawValue)
        logger.notice("data plane", metadata: ["data_plane": "\(plane.rawValue)", "configured": "\(multipath.global.dataPlane.rawValue)"])
        // dm: kernel maps over per-path devices (which the FUSE export serves).
        let dmDriver = plane == .dm && exportDevices ? DMMapDriver(operations: DMClient(logger: logger), logger: logger) : nil

        let metrics = multipath.global.metricsPort != 0 ? DaemonMetrics() : nil
        var endpoint: MetricsEndpoint?
        if let metrics {
            endpoint = try await MetricsEndpoint.start(port: multipath.global.metricsPort, metrics: metrics, group: group, logger: logger)
        }
        // Block IO runs on one event loop: FUSE requests are read there and the paths' sessions live
        // there too, so an IO never changes threads inside mpathd.
        let ioLoop = group.next()
        let exporter = exportDevices ? try DeviceExporter(runDir: locations.runDir, ioLoop: ioLoop, logger: logger) : nil
        let manager = PathManager(locations: locations, settings: settings, multipathConfig: multipath,
                                  initiatorName: initiator, group: group, ioLoop: ioLoop, exporter: exporter,
                                  dmDriver: dmDriver, metrics: metrics, logger: logger)
        // With dm, watch the path devices like multipathd does (only where udevd runs).
        var udev: UdevMonitor?
        if dmDriver != nil && UdevMonitor.udevIsRunning {
            let monitor = UdevMonitor(logger: logger) { [weak manager] event in manager?.handleUdev(event) }
            do { try monitor.start(); udev = monitor } catch {
                logger.warning("udev monitor not started; path devices are watched by the checker only", metadata: ["error": "\(error)"])
            }
        }
        defer { udev?.stop() }
        let server: ControlServer
        do {
            server = try await ControlServer.start(socketPath: socketPath, handler: DaemonControlHandler(manager: manager),
                                                   group: group, logger: logger)
        } catch {
            exporter?.shutdown()
            throw error
        }
        logger.notice("mpathd started", metadata: ["run_dir": "\(locations.runDir)", "initiator": "\(initiator)",
                                                   "version": "\(Self.version)"])

        // node.startup = automatic records log in at start, in the background: the control
        // socket answers meanwhile.
        let startup = Task {
            let records = ((try? NodeDatabase(stateDir: locations.stateDir).all()) ?? []).filter {
                // onboot records (open-iscsi's iSCSI-root policy) come up at start too.
                ((try? $0.settings(base: settings))?.startup ?? .manual) != .manual
            }
            guard !records.isEmpty else { return }
            for outcome in await manager.login(records: records) where outcome.error != nil {
                logger.error("automatic login failed", metadata: ["target": "\(outcome.target)", "portal": "\(outcome.portal)",
                                                                  "error": "\(outcome.error!)"])
            }
        }

        try? await gracefulShutdown()
        logger.notice("mpathd stopping")
        startup.cancel()
        await server.close()
        await manager.shutdown()
        await endpoint?.close()
        try? FileManager.default.removeItem(atPath: socketPath)
        logger.notice("mpathd stopped")
    }

    private func loadConfiguration() throws -> (SessionSettings, MultipathConfiguration, String) {
        let settingsResult = try ISCSIDConf.load(path: locations.iscsidConf)
        for warning in settingsResult.diagnostics { logger.warning("\(warning)") }
        let multipathResult = try MultipathConfiguration.load(locations: locations)
        for warning in multipathResult.diagnostics { logger.warning("\(warning)") }
        try FileManager.default.createDirectory(atPath: locations.configDir, withIntermediateDirectories: true)
        let initiator = try InitiatorName.loadOrCreate(at: locations.initiatorNameFile)
        return (settingsResult.value, multipathResult.value, initiator.name)
    }

    /// RUN_DIR exists (0700) and is ours: an exclusive lock on RUN_DIR/mpathd.lock refuses a
    /// second daemon on the same run dir before it touches anything.
    private func prepareRunDir() throws {
        try FileManager.default.createDirectory(atPath: locations.runDir, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        let path = locations.runDir + "/mpathd.lock"
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw DaemonError("cannot open \(path): \(String(cString: strerror(errno)))") }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let holder = (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "?"
            close(fd)
            throw DaemonError("another mpathd (pid \(holder)) is already running on \(locations.runDir)")
        }
        _ = ftruncate(fd, 0)
        let pid = "\(getpid())\n"
        _ = pid.withCString { write(fd, $0, strlen($0)) }
        lockFD = fd
    }

    private func releaseLock() {
        guard lockFD >= 0 else { return }
        unlink(locations.runDir + "/mpathd.lock")
        close(lockFD)
        lockFD = -1
    }
}

/// Answers `mpathctl` requests with the path manager.
struct DaemonControlHandler: ControlHandler {
    let manager: PathManager

    func handle(_ request: ControlRequest, peer: PeerCredentials) async -> ControlResponse {
        switch request {
        case .ping:
            return .pong(version: Daemon.version, pid: getpid())
        case .status(let map):
            return manager.status(map: map)
        case .table(let map):
            return manager.tables(map: map)
        case .sessions:
            let infos = manager.sessionInfos()
            return infos.isEmpty ? .error(message: "no active sessions", code: 21) : .sessions(infos)
        case .login(let selector):
            let outcomes = await manager.login(selector)
            return outcomes.isEmpty ? .error(message: "no records found", code: 21) : .logins(outcomes)
        case .logout(let selector, let force):
            return await manager.logout(selector, force: force)
        case .failPath(let path):
            return manager.failPath(path)
        case .reinstatePath(let path):
            return await manager.reinstatePath(path)
        case .switchGroup(let map, let group):
            return manager.switchGroup(map: map, group: group)
        case .rescan(let map):
            return await manager.rescan(map: map)
        case .resize(let map, let force):
            return await manager.resize(map: map, force: force)
        }
    }
}
