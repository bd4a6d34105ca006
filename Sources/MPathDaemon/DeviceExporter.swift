import BlockExport
import Foundation
import Logging
import NIOCore

/// Serves each map as RUN_DIR/dev/<name> (FUSE), attaches it to a loop device with direct IO
/// and the LUN's block size, and links RUN_DIR/by-name/<name> → /dev/loopN.
final class DeviceExporter: @unchecked Sendable {
    let runDir: String
    private let export: FUSEExport
    private let logger: Logger
    private let lock = NSLock()
    /// Export name → its loop device and symlink.
    private var loops: [String: (loop: LoopDevice, link: String)] = [:]

    init(runDir: String, ioLoop: EventLoop, logger: Logger) throws {
        self.runDir = runDir
        self.logger = logger
        try FileManager.default.createDirectory(atPath: runDir + "/by-name", withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o755])
        // FUSE requests are read on the loop that runs the paths' sessions (see LoopReceiver).
        export = try FUSEExport(mountpoint: runDir + "/dev", logger: logger, receiveLoop: ioLoop)
    }

    var byNameDir: String { runDir + "/by-name" }
    /// Per-path devices (`path_devices yes`): RUN_DIR/by-path/<path> → /dev/loopN.
    var byPathDir: String { runDir + "/by-path" }

    /// Serves `map` and returns its loop device path.
    func attach(_ map: MultipathMap) throws -> String {
        let device = try attach(name: map.name, backend: map, blockSize: map.blockSize, link: "\(byNameDir)/\(map.name)")
        logger.notice("map attached", metadata: ["map": "\(map.name)", "device": "\(device)"])
        return device
    }

    /// Serves one path's LUN as its own device (FUSE file `path-<name>`); returns the loop device path.
    func attach(_ device: PathDevice) throws -> String {
        try FileManager.default.createDirectory(atPath: byPathDir, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o755])
        let name = device.path.name
        let node = try attach(name: Self.pathExportName(name), backend: device, blockSize: device.blockSize,
                              link: "\(byPathDir)/\(name)")
        logger.notice("path device attached", metadata: ["path": "\(name)", "device": "\(node)"])
        return node
    }

    static func pathExportName(_ path: String) -> String { "path-" + path }

    /// FUSE file → loop device (direct IO, the LUN's block size) → symlink `link`.
    private func attach(name: String, backend: BlockBackend, blockSize: Int, link: String) throws -> String {
        try export.add(name: name, backend: backend)
        let loop: LoopDevice
        do {
            loop = try LoopDevice.attach(file: export.path(of: name), blockSize: blockSize, directIO: true)
        } catch {
            try? export.remove(name: name)
            throw error
        }
        lock.withLock { loops[name] = (loop, link) }
        try? FileManager.default.removeItem(atPath: link)
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: loop.path)
        return loop.path
    }

    /// The device's size grew: FUSE attributes and loop capacity follow.
    func sizeChanged(_ name: String) throws {
        export.sizeChanged(name: name)
        if let loop = lock.withLock({ loops[name]?.loop }) { try loop.setCapacity() }
    }

    /// Stops serving a map (by map name) or a path device (by `pathExportName`).
    func detach(_ name: String) throws {
        if let (loop, link) = lock.withLock({ loops.removeValue(forKey: name) }) {
            try? FileManager.default.removeItem(atPath: link)
            try loop.detach()
        }
        try export.remove(name: name)
    }

    /// Whether something holds the map's device open (a mount, a process).
    func isInUse(_ name: String) -> Bool {
        guard let loop = lock.withLock({ loops[name]?.loop }) else { return false }
        let holders = (try? FileManager.default.contentsOfDirectory(atPath: "/sys/block/loop\(loop.number)/holders")) ?? []
        if !holders.isEmpty { return true }
        let mounts = (try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)) ?? ""
        return mounts.split(separator: "\n").contains { line in
            line.split(separator: " ").contains { $0 == Substring(loop.path) }
        }
    }

    func shutdown() {
        for name in lock.withLock({ Array(loops.keys) }) {
            do { try detach(name) } catch { logger.error("detach failed", metadata: ["map": "\(name)", "error": "\(error)"]) }
        }
        export.shutdown()
        try? FileManager.default.removeItem(atPath: byNameDir)
        try? FileManager.default.removeItem(atPath: byPathDir)
    }
}
