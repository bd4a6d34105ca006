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
    private var loops: [String: LoopDevice] = [:]

    init(runDir: String, ioLoop: EventLoop, logger: Logger) throws {
        self.runDir = runDir
        self.logger = logger
        try FileManager.default.createDirectory(atPath: runDir + "/by-name", withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o755])
        if ProcessInfo.processInfo.environment["MPATH_FUSE_THREADS"] != nil {
            export = try FUSEExport(mountpoint: runDir + "/dev", logger: logger, receiveThreads: Int(ProcessInfo.processInfo.environment["MPATH_FUSE_THREADS"] ?? "") ?? 2)
        } else {
            export = try FUSEExport(mountpoint: runDir + "/dev", logger: logger, receiveLoop: ioLoop)
        }
    }

    var byNameDir: String { runDir + "/by-name" }

    /// Returns the loop device path.
    func attach(_ map: MultipathMap) throws -> String {
        try export.add(name: map.name, backend: map)
        let loop: LoopDevice
        do {
            loop = try LoopDevice.attach(file: export.path(of: map.name), blockSize: map.blockSize, directIO: true)
        } catch {
            try? export.remove(name: map.name)
            throw error
        }
        lock.withLock { loops[map.name] = loop }
        let link = "\(byNameDir)/\(map.name)"
        try? FileManager.default.removeItem(atPath: link)
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: loop.path)
        logger.notice("map attached", metadata: ["map": "\(map.name)", "device": "\(loop.path)"])
        return loop.path
    }

    /// The map's size grew: FUSE attributes and loop capacity follow.
    func sizeChanged(_ map: MultipathMap) throws {
        export.sizeChanged(name: map.name)
        if let loop = lock.withLock({ loops[map.name] }) { try loop.setCapacity() }
    }

    func detach(_ name: String) throws {
        try? FileManager.default.removeItem(atPath: "\(byNameDir)/\(name)")
        if let loop = lock.withLock({ loops.removeValue(forKey: name) }) {
            try loop.detach()
        }
        try export.remove(name: name)
    }

    /// Whether something holds the map's device open (a mount, a process).
    func isInUse(_ name: String) -> Bool {
        guard let loop = lock.withLock({ loops[name] }) else { return false }
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
    }
}
