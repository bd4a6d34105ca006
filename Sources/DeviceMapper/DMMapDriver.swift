import Foundation
import Logging
import Multipath

/// The device-mapper calls `DMMapDriver` makes; `DMClient` is the real one, tests record them.
public protocol DMOperations: Sendable {
    func create(name: String, uuid: String, table: DMMultipathTable, readOnly: Bool) throws
    func reload(name: String, table: DMMultipathTable, readOnly: Bool) throws
    func suspend(name: String, flush: Bool) throws
    func resume(name: String, flush: Bool) throws
    func remove(name: String, deferred: Bool) throws
    func message(name: String, _ message: DMMessage) throws
    func status(name: String) throws -> DMMultipathStatus
    func info(name: String) throws -> DMDeviceInfo?
}

extension DMClient: DMOperations {}

/// Drives one kernel dm-multipath map per multipath map (`data_plane dm`): creates it, keeps its
/// table in step with the daemon's `MapView`, sends path and group messages, reads its status
/// back as a `MapView`, and removes it.
///
/// Each path of a map is served as its own block device; the table names those devices by
/// `major:minor`. The driver remembers, per map, the table that is live in the kernel and the
/// path name → `major:minor` it was built from, so messages can be addressed by path name.
///
/// Thread-safe: one lock covers the remembered state *and* the kernel calls, so a message can
/// never slip in between a reload and its resume (the kernel refuses messages to a suspended
/// map) and the state always describes what the kernel has. libdevmapper is serialised
/// process-wide anyway (see `DMClient`), so the wider lock costs no parallelism.
public final class DMMapDriver: @unchecked Sendable {
    /// What the driver last made live for one map.
    private struct Loaded {
        var wwid: String
        var table: DMMultipathTable
        /// Path name → "major:minor" for every path in `table`.
        var devices: [String: String]
        /// Paths of the map that had no block device, hence are not in `table`.
        var omitted: Set<String>
        var readOnly: Bool
        var vendor: String
        var product: String
    }

    private let operations: DMOperations
    private let policy: DMTablePolicy
    private let logger: Logger
    private let resolve: @Sendable (String) throws -> String
    private let lock = NSLock()
    private var maps: [String: Loaded] = [:]

    /// - Parameters:
    ///   - policy: the table policy of every map, unless `sync` is given another.
    ///   - resolve: turns a block device node into "major:minor" (a parameter for tests).
    public init(operations: DMOperations, policy: DMTablePolicy = DMTablePolicy(), logger: Logger,
                resolve: @escaping @Sendable (String) throws -> String = {
                    try PathDeviceTable.majorMinor(ofBlockDevice: $0)
                }) {
        self.operations = operations
        self.policy = policy
        self.logger = logger
        self.resolve = resolve
    }

    // MARK: - Table

    /// Makes the kernel map `map.name` serve `map`, whose paths are the block devices in
    /// `blockDevices` (path name → node, e.g. "p1" → "/dev/loop4"; paths without one are left
    /// out, see `PathDeviceTable.build`).
    ///
    /// - The first call creates the map (UUID "mpath-<wwid>", as multipathd names it). A map of
    ///   that name left by an earlier run is taken over when its UUID is ours (reload, resume),
    ///   and refused otherwise.
    /// - Later calls do nothing while the table (and read-only flag) is the one last made live.
    ///   A table that differs only in its initial group is not reloaded either: the initial group
    ///   only counts when a table is loaded, and moving IO is `switchGroup`'s job (multipathd
    ///   also sends switch_group rather than reloading).
    /// - A changed table of the same length: reload, then resume without flush (queued IO kept).
    /// - A changed length is a resize: reload, suspend (no flush), resume. Reloading first means a
    ///   table the kernel refuses never leaves the map suspended; the explicit no-flush suspend
    ///   requeues in-flight IO inside the target instead of waiting for it, which a map queueing
    ///   with no usable path would never finish; the resume swaps in the new table and capacity
    ///   (the kernel then sends a change uevent with RESIZE=1).
    ///
    /// A load resets every path to active in the kernel, so paths `map` shows as failed are failed
    /// again with `fail_path` right after (multipathd's sync_map_state); a refused `fail_path` is
    /// thrown with the new table already recorded. The new table counts as live once the resume
    /// succeeded; after a failure the previous one still does, so the next call tries again.
    public func sync(map: MapView, blockDevices: [String: String], policy: DMTablePolicy? = nil) throws {
        try locked {
            let name = map.name
            var byNode: [String: String] = [:]
            var devices: [String: String] = [:]
            var omitted: Set<String> = []
            for path in map.paths {
                guard let node = blockDevices[path.name] else {
                    omitted.insert(path.name)
                    continue
                }
                let device: String
                if let known = byNode[node] {
                    device = known
                } else {
                    device = try resolveDevice(node, path: path.name, map: name)
                    byNode[node] = device
                }
                devices[path.name] = device
            }
            let table = try PathDeviceTable.build(map, blockDevices: blockDevices, policy: policy ?? self.policy,
                                                  resolve: { node in
                // Every node was resolved above; this cannot miss.
                guard let device = byNode[node] else {
                    throw DeviceMapperError.operation(.invalidArgument, "table", map: name, "\(node) was not resolved")
                }
                return device
            })
            let readOnly = map.writeProtect == "ro"
            let uuid = DMClient.uuid(forWWID: map.wwid)
            let metadata: Logger.Metadata = ["map": "\(name)", "table": "\(table.render())"]

            if let loaded = maps[name] {
                guard loaded.wwid == map.wwid else {
                    throw DeviceMapperError.operation(
                        .invalidArgument, "reload", map: name,
                        "the map was created for WWID \(loaded.wwid), not \(map.wwid); remove it first")
                }
                var comparable = table
                comparable.initialGroup = loaded.table.initialGroup
                if comparable == loaded.table && readOnly == loaded.readOnly {
                    // Nothing for the kernel; keep the rest current (a path may have been renamed).
                    maps[name]?.devices = devices
                    maps[name]?.omitted = omitted
                    maps[name]?.vendor = map.vendor
                    maps[name]?.product = map.product
                    return
                }
                if table.length != loaded.table.length {
                    logger.notice("dm map resize", metadata: metadata.merging(
                        ["from_sectors": "\(loaded.table.length)", "to_sectors": "\(table.length)"]) { $1 })
                    try call("reload", name) { try operations.reload(name: name, table: table, readOnly: readOnly) }
                    try call("suspend", name) { try operations.suspend(name: name, flush: false) }
                    try call("resume", name) { try operations.resume(name: name, flush: false) }
                } else {
                    logger.info("dm map reload", metadata: metadata)
                    try call("reload", name) { try operations.reload(name: name, table: table, readOnly: readOnly) }
                    try call("resume", name) { try operations.resume(name: name, flush: false) }
                }
            } else if let existing = try call("info", name, { try operations.info(name: name) }) {
                guard existing.uuid == uuid else {
                    throw DeviceMapperError.operation(
                        .invalidArgument, "create", map: name,
                        "a device of that name exists with UUID '\(existing.uuid)', not '\(uuid)'")
                }
                logger.notice("dm map exists, taking it over", metadata: metadata)
                try call("reload", name) { try operations.reload(name: name, table: table, readOnly: readOnly) }
                try call("resume", name) { try operations.resume(name: name, flush: false) }
            } else {
                logger.notice("dm map create", metadata: metadata.merging(["uuid": "\(uuid)"]) { $1 })
                try call("create", name) {
                    try operations.create(name: name, uuid: uuid, table: table, readOnly: readOnly)
                }
            }
            maps[name] = Loaded(wwid: map.wwid, table: table, devices: devices, omitted: omitted,
                                readOnly: readOnly, vendor: map.vendor, product: map.product)

            for path in map.paths where path.dmState == .failed {
                guard let device = devices[path.name] else { continue }
                try call("message", name) { try operations.message(name: name, .failPath(device)) }
            }
        }
    }

    /// The table last made live for `map`, or nil if the driver has not loaded it.
    public func loadedTable(map: String) -> DMMultipathTable? {
        locked { maps[map]?.table }
    }

    /// Path name → "major:minor" of the paths in the table last made live for `map`.
    public func pathDevices(map: String) -> [String: String] {
        locked { maps[map]?.devices ?? [:] }
    }

    // MARK: - Messages

    /// Takes a path out of use (`fail_path <major:minor>`).
    public func failPath(map: String, path: String) throws {
        try locked {
            let device = try device(of: path, in: map, for: "fail")
            try call("message", map) { try operations.message(name: map, .failPath(device)) }
        }
    }

    /// Puts a failed path back in use (`reinstate_path <major:minor>`).
    public func reinstatePath(map: String, path: String) throws {
        try locked {
            let device = try device(of: path, in: map, for: "reinstate")
            try call("message", map) { try operations.message(name: map, .reinstatePath(device)) }
        }
    }

    /// Sends IO to `group` next (`switch_group <group>`). `group` is 1-based and counts the
    /// groups of the loaded table, like dm; groups none of whose paths had a block device are
    /// not in that table, so it can differ from the position in the `MapView`.
    public func switchGroup(map: String, group: Int) throws {
        try locked {
            let loaded = try self.loaded(map, for: "message")
            guard group >= 1 && group <= loaded.table.groups.count else {
                throw DeviceMapperError.operation(
                    .invalidArgument, "message", map: map,
                    "cannot switch to group \(group): the loaded table has groups 1...\(loaded.table.groups.count)")
            }
            try call("message", map) { try operations.message(name: map, .switchGroup(group)) }
        }
    }

    /// Queues IO while no path is usable (`queue_if_no_path`) or fails it, including IO already
    /// queued (`fail_if_no_path`). Lasts until the next table load, which brings back the
    /// table's features.
    public func setQueueIfNoPath(map: String, _ enabled: Bool) throws {
        try locked {
            _ = try loaded(map, for: "message")
            try call("message", map) { try operations.message(name: map, enabled ? .queueIfNoPath : .failIfNoPath) }
        }
    }

    // MARK: - Status and removal

    /// The kernel's view of `map` as a `MapView` (see `DMStatusView.mapView`), device "dm-<minor>".
    /// `metadata` is keyed by path name; paths without an entry show their `major:minor`.
    public func status(map: String, metadata: [String: DMStatusView.PathMetadata]) throws -> MapView {
        try locked {
            let loaded = try self.loaded(map, for: "status")
            guard let info = try call("info", map, { try operations.info(name: map) }) else {
                throw DeviceMapperError.operation(.operationFailed, "status", map: map, "the map does not exist")
            }
            let status = try call("status", map) { try operations.status(name: map) }
            var byDevice: [String: DMStatusView.PathMetadata] = [:]
            for (path, device) in loaded.devices {
                if let entry = metadata[path] { byDevice[device] = entry }
            }
            return try DMStatusView.mapView(
                name: map, wwid: loaded.wwid, device: "dm-\(info.device.minor)", vendor: loaded.vendor,
                product: loaded.product, readOnly: info.readOnly, status: status, table: loaded.table,
                paths: byDevice)
        }
    }

    /// Removes the kernel map and forgets it. A map that is already gone is only forgotten.
    /// `deferred` removes it once its last opener closes.
    public func remove(map: String, deferred: Bool = false) throws {
        try locked {
            guard try call("info", map, { try operations.info(name: map) }) != nil else {
                if maps.removeValue(forKey: map) != nil {
                    logger.notice("dm map already gone", metadata: ["map": "\(map)"])
                }
                return
            }
            logger.notice("dm map remove", metadata: ["map": "\(map)"])
            try call("remove", map) { try operations.remove(name: map, deferred: deferred) }
            maps.removeValue(forKey: map)
        }
    }

    // MARK: - Helpers (called with the lock held)

    private func locked<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }

    private func loaded(_ map: String, for operation: String) throws -> Loaded {
        guard let loaded = maps[map] else {
            throw DeviceMapperError.operation(.invalidArgument, operation, map: map,
                                              "the map has not been loaded by this daemon")
        }
        return loaded
    }

    /// The "major:minor" of `path` in the loaded table of `map`.
    private func device(of path: String, in map: String, for verb: String) throws -> String {
        let loaded = try self.loaded(map, for: "message")
        if let device = loaded.devices[path] { return device }
        let reason = loaded.omitted.contains(path)
            ? "it had no block device when the table was loaded"
            : "it is not a path of the map (paths: \(loaded.devices.keys.sorted().joined(separator: ", ")))"
        throw DeviceMapperError.operation(.invalidArgument, "message", map: map,
                                          "cannot \(verb) path \(path): \(reason)")
    }

    /// "major:minor" of `node`; a failure names the path and the map.
    private func resolveDevice(_ node: String, path: String, map: String) throws -> String {
        do {
            return try resolve(node)
        } catch let error as DeviceMapperError {
            let prefix = "dm \(error.operation): "
            let detail = error.message.hasPrefix(prefix) ? String(error.message.dropFirst(prefix.count)) : error.message
            throw DeviceMapperError(kind: error.kind, operation: "table", map: map, errnoCode: error.errnoCode,
                                    message: "dm table \(map): path \(path): \(detail)")
        } catch {
            throw DeviceMapperError.operation(.invalidArgument, "table", map: map, "path \(path): \(error)")
        }
    }

    /// Runs one operation; an error that is not a `DeviceMapperError` (from another
    /// `DMOperations`) becomes one.
    private func call<T>(_ operation: String, _ map: String, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as DeviceMapperError {
            throw error
        } catch {
            throw DeviceMapperError.operation(.operationFailed, operation, map: map, "\(error)")
        }
    }
}
