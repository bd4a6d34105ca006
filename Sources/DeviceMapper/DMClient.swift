import CDeviceMapper
import Foundation
import Logging
import Multipath

/// What the kernel reports about one mapped device (`dmsetup info`).
public struct DMDeviceInfo: Equatable, Sendable {
    /// The map name.
    public var name: String
    /// The device-mapper UUID, e.g. "mpath-360000000000000000000a000e0000001"; empty if none.
    public var uuid: String
    /// The dm device's number (major is device-mapper's block major).
    public var device: DeviceNumber
    public var suspended: Bool
    /// A table is active (false for a device whose load failed).
    public var hasLiveTable: Bool
    /// A reloaded table waits for the next resume.
    public var hasInactiveTable: Bool
    /// Openers of the dm device (mounts, processes, stacked devices).
    public var openCount: Int32
    /// Counts dm events (path failures, reinstates, table swaps).
    public var eventNumber: UInt32
    public var readOnly: Bool
    public var targetCount: Int32

    public init(name: String, uuid: String, device: DeviceNumber, suspended: Bool = false,
                hasLiveTable: Bool = true, hasInactiveTable: Bool = false, openCount: Int32 = 0,
                eventNumber: UInt32 = 0, readOnly: Bool = false, targetCount: Int32 = 1) {
        self.name = name
        self.uuid = uuid
        self.device = device
        self.suspended = suspended
        self.hasLiveTable = hasLiveTable
        self.hasInactiveTable = hasInactiveTable
        self.openCount = openCount
        self.eventNumber = eventNumber
        self.readOnly = readOnly
        self.targetCount = targetCount
    }
}

/// Creates, changes, queries and removes dm-multipath maps through libdevmapper, the way
/// multipath-tools' `libmultipath/devmapper.c` does.
///
/// libdevmapper is process-wide and not thread-safe, so every call takes one process-wide lock.
/// Its log output goes to `logger`. Every failure is a `DeviceMapperError` naming the operation,
/// the map and the errno text.
public final class DMClient: Sendable {
    /// UUID prefix of every multipath map (multipath-tools' `UUID_PREFIX`).
    public static let uuidPrefix = "mpath-"
    /// The kernel's limits on names and UUIDs, terminating NUL included (`DM_NAME_LEN`, `DM_UUID_LEN`).
    public static let maxNameLength = 128
    public static let maxUUIDLength = 129

    /// Device directory holding `mapper/control`; "/dev" except in tests.
    public let devDirectory: String
    private let logger: Logger

    /// libdevmapper's log lines go to `logger` from now on (the hook is process-wide: the most
    /// recently used client's logger receives them).
    public init(logger: Logger = Logger(label: "mpath.dm"), devDirectory: String = "/dev") {
        self.logger = logger
        self.devDirectory = devDirectory.count > 1 && devDirectory.hasSuffix("/")
            ? String(devDirectory.dropLast()) : devDirectory
        DMLogBridge.shared.route(to: logger)
    }

    /// The control node this client uses.
    public var controlPath: String { devDirectory + "/mapper/control" }

    /// "mpath-<wwid>", the UUID multipath-tools gives a map.
    public static func uuid(forWWID wwid: String) -> String { uuidPrefix + wwid }

    /// The WWID inside a multipath UUID, or nil for another kind of UUID.
    public static func wwid(fromUUID uuid: String) -> String? {
        guard uuid.hasPrefix(uuidPrefix), uuid.count > uuidPrefix.count else { return nil }
        return String(uuid.dropFirst(uuidPrefix.count))
    }

    // MARK: - Operations

    /// Creates and activates a map (DM_DEVICE_CREATE: create, load, resume) and waits for udev.
    /// A device left without a table by a failed load is removed again; a read-only backing
    /// device (EROFS) makes a second, read-only attempt.
    public func create(name: String, uuid: String, table: DMMultipathTable, readOnly: Bool = false) throws {
        try perform("create", map: name, check: {
            try Self.checkName(name)
            try Self.checkUUID(uuid)
            try Self.checkTable(table)
        }) {
            do {
                try createOnce(name: name, uuid: uuid, table: table, readOnly: readOnly)
            } catch let failure as DMStepFailure where failure.errno == EROFS && !readOnly {
                logger.warning("dm create: a path is read-only, creating the map read-only",
                               metadata: ["map": "\(name)"])
                do {
                    try createOnce(name: name, uuid: uuid, table: table, readOnly: true)
                } catch let failure as DMStepFailure {
                    removeIfEmpty(name: name, after: failure)
                    throw failure
                }
            } catch let failure as DMStepFailure {
                removeIfEmpty(name: name, after: failure)
                throw failure
            }
        }
    }

    /// Loads `table` into the map's inactive slot (DM_DEVICE_RELOAD). It takes effect at the
    /// next `resume`; no udev cookie here, since only a resume emits the uevent that releases it.
    public func reload(name: String, table: DMMultipathTable, readOnly: Bool = false) throws {
        try perform("reload", map: name, check: {
            try Self.checkName(name)
            try Self.checkTable(table)
        }) {
            let task = try DMTask(DM_DEVICE_RELOAD)
            try task.setName(name)
            try task.addMultipathTarget(table)
            if readOnly { try task.require(dm_task_set_ro(task.handle), "read-only flag") }
            try task.run()
        }
    }

    /// Resumes the map, swapping in a reloaded table, and waits for udev. Without `flush`
    /// queued IO is kept (`no_flush`), as for every reload except a resize. When the resume
    /// fails the kernel keeps the previous table and leaves the map suspended, so it is resumed
    /// once more with that table before the error is thrown.
    public func resume(name: String, flush: Bool = false) throws {
        try perform("resume", map: name, check: { try Self.checkName(name) }) {
            do {
                try resumeOnce(name: name, flush: flush)
            } catch var failure as DMStepFailure {
                if let info = try? infoLocked(name: name), info.suspended {
                    do {
                        try resumeOnce(name: name, flush: flush)
                        failure.detail += " (the map was resumed again with its previous table)"
                    } catch {
                        failure.detail += " (the map is still suspended)"
                    }
                }
                throw failure
            }
        }
    }

    /// multipath-tools' `resize map`: reload the table with the new length, then resume with a
    /// flush.
    public func resize(name: String, table: DMMultipathTable) throws {
        try reload(name: name, table: table)
        try resume(name: name, flush: true)
    }

    /// Suspends the map. Without `flush` IO is queued rather than completed first.
    public func suspend(name: String, flush: Bool = false) throws {
        try perform("suspend", map: name, check: { try Self.checkName(name) }) {
            let task = try DMTask(DM_DEVICE_SUSPEND)
            try task.setName(name)
            try task.require(dm_task_skip_lockfs(task.handle), "skip_lockfs flag")
            if !flush { try task.require(dm_task_no_flush(task.handle), "no_flush flag") }
            try task.run()
        }
    }

    /// Removes the map and waits for udev. `deferred` removes it once its last opener closes.
    public func remove(name: String, deferred: Bool = false) throws {
        try perform("remove", map: name, check: { try Self.checkName(name) }) {
            try removeLocked(name: name, deferred: deferred)
        }
    }

    /// Sends a multipath target message (`dmsetup message <map> 0 "<text>"`).
    public func message(name: String, _ message: DMMessage) throws {
        let text = message.text
        try perform("message", map: name, check: {
            try Self.checkName(name)
            // Builders can put anything in a device string; only send what the kernel can parse.
            guard (try? DMMessage.parse(text)) == message else {
                throw DMStepFailure(kind: .invalidArgument, detail: "'\(Self.shortened(text))' is not a valid multipath message")
            }
        }) {
            let task = try DMTask(DM_DEVICE_TARGET_MSG)
            try task.setName(name)
            try task.require(dm_task_set_sector(task.handle, 0), "message sector")
            try task.require(dm_task_set_message(task.handle, text), "message text")
            do {
                try task.run()
            } catch var failure as DMStepFailure {
                failure.detail = "'\(text)' was refused"
                    + (failure.errno == EBUSY ? " while the map is suspended" : "")
                throw failure
            }
        }
    }

    /// The live table (DM_DEVICE_TABLE), read back with the multipath table parser.
    public func table(name: String) throws -> DMMultipathTable {
        try perform("table", map: name, check: { try Self.checkName(name) }) {
            let line = try multipathTarget(of: DM_DEVICE_TABLE, name: name)
            do {
                return try DMMultipathTable.parse(line)
            } catch let error as DMTableError {
                throw DMStepFailure(kind: .unexpectedResponse, detail: error.message)
            }
        }
    }

    /// The status line (DM_DEVICE_STATUS), read with the multipath status parser.
    public func status(name: String) throws -> DMMultipathStatus {
        try perform("status", map: name, check: { try Self.checkName(name) }) {
            let line = try multipathTarget(of: DM_DEVICE_STATUS, name: name)
            do {
                return try DMMultipathStatus.parse(line)
            } catch let error as DMStatusError {
                throw DMStepFailure(kind: .unexpectedResponse, detail: error.message)
            }
        }
    }

    /// Device information, or nil when no map has this name.
    public func info(name: String) throws -> DMDeviceInfo? {
        try perform("info", map: name, check: { try Self.checkName(name) }) {
            return try infoLocked(name: name)
        }
    }

    /// Names of all multipath maps (UUID prefix "mpath-"), sorted.
    public func list() throws -> [String] {
        try perform("list", map: nil) {
            let task = try DMTask(DM_DEVICE_LIST)
            try task.run()
            var names: [String] = []
            guard var entry = UnsafePointer(dm_task_get_names(task.handle)), entry.pointee.dev != 0 else {
                return []
            }
            while true {
                names.append(String(cString: cdm_names_name(entry)))
                guard let next = cdm_names_next(entry) else { break }
                entry = next
            }
            var maps: [String] = []
            for name in names {
                // A map removed between the list and this query is simply not reported.
                if let info = try infoLocked(name: name), info.uuid.hasPrefix(Self.uuidPrefix) {
                    maps.append(name)
                }
            }
            return maps.sorted()
        }
    }

    // MARK: - Steps (called with the library lock held)

    private func createOnce(name: String, uuid: String, table: DMMultipathTable, readOnly: Bool) throws {
        let task = try DMTask(DM_DEVICE_CREATE)
        try task.setName(name)
        try task.require(dm_task_set_uuid(task.handle, uuid), "map UUID")
        try task.addMultipathTarget(table)
        try task.require(dm_task_skip_lockfs(task.handle), "skip_lockfs flag")
        try task.require(dm_task_no_flush(task.handle), "no_flush flag")
        if readOnly { try task.require(dm_task_set_ro(task.handle), "read-only flag") }
        try task.runWaitingForUdev()
    }

    private func resumeOnce(name: String, flush: Bool) throws {
        let task = try DMTask(DM_DEVICE_RESUME)
        try task.setName(name)
        try task.require(dm_task_skip_lockfs(task.handle), "skip_lockfs flag")
        if !flush { try task.require(dm_task_no_flush(task.handle), "no_flush flag") }
        try task.runWaitingForUdev()
    }

    private func removeLocked(name: String, deferred: Bool) throws {
        let task = try DMTask(DM_DEVICE_REMOVE)
        try task.setName(name)
        if deferred { try task.require(dm_task_deferred_remove(task.handle), "deferred-remove flag") }
        try task.runWaitingForUdev()
    }

    /// A failed create can leave the device without a table (the load failed after the
    /// device was made); remove such a device, never one that already existed with a table.
    private func removeIfEmpty(name: String, after failure: DMStepFailure) {
        guard failure.errno != EEXIST else { return }
        guard let info = try? infoLocked(name: name), !info.hasLiveTable else { return }
        do {
            try removeLocked(name: name, deferred: false)
            logger.notice("dm create: removed the empty device left by the failed load", metadata: ["map": "\(name)"])
        } catch {
            logger.warning("dm create: could not remove the empty device left by the failed load",
                           metadata: ["map": "\(name)", "error": "\(error)"])
        }
    }

    private func infoLocked(name: String) throws -> DMDeviceInfo? {
        let task = try DMTask(DM_DEVICE_INFO)
        try task.setName(name)
        try task.run()
        let raw = try task.info()
        guard raw.exists != 0 else { return nil }
        let uuid = dm_task_get_uuid(task.handle).map { String(cString: $0) } ?? ""
        return DMDeviceInfo(
            name: name, uuid: uuid, device: DeviceNumber(major: raw.major, minor: raw.minor),
            suspended: raw.suspended != 0, hasLiveTable: raw.live_table != 0,
            hasInactiveTable: raw.inactive_table != 0, openCount: raw.open_count, eventNumber: raw.event_nr,
            readOnly: raw.read_only != 0, targetCount: raw.target_count)
    }

    /// Runs a TABLE or STATUS request and returns "<start> <length> multipath <params>" of the
    /// map's only target.
    private func multipathTarget(of type: Int, name: String) throws -> String {
        let task = try DMTask(type)
        try task.setName(name)
        try task.require(dm_task_no_open_count(task.handle), "no_open_count flag")
        try task.run()
        guard let info = try? task.info(), info.exists != 0 else {
            throw DMStepFailure(detail: "no such map")
        }
        let targets = task.targets()
        guard targets.count == 1, let target = targets.first else {
            throw DMStepFailure(kind: .unexpectedResponse,
                                detail: "expected one multipath target, the map has \(targets.count)")
        }
        guard target.type == "multipath" else {
            throw DMStepFailure(kind: .unexpectedResponse,
                                detail: "target type is '\(Self.shortened(target.type))', expected 'multipath'")
        }
        return "\(target.start) \(target.length) multipath \(target.parameters)"
    }

    // MARK: - Plumbing

    /// Runs `body` under the library lock with libdevmapper pointed at this client's device
    /// directory and its log lines captured, and turns a failed step into a `DeviceMapperError`.
    private func perform<T>(_ operation: String, map: String?, check: () throws -> Void = {},
                            _ body: () throws -> T) throws -> T {
        DMLibrary.lock.lock()
        defer { DMLibrary.lock.unlock() }
        DMLogBridge.shared.route(to: logger)
        DMLogBridge.shared.beginCapture()
        do {
            try check()
            guard devDirectory.hasPrefix("/") else {
                throw DMStepFailure(kind: .invalidArgument,
                                    detail: "device directory '\(Self.shortened(devDirectory))' is not an absolute path")
            }
            // libdevmapper creates a missing control node itself (mknod 10:236) before finding out
            // the driver is absent; refuse first so a machine without dm-mod is left untouched.
            if let problem = DeviceMapperAvailability.nodeProblem(controlPath: controlPath) {
                throw DMStepFailure(kind: .unavailable, detail: problem.message, errno: problem.errnoCode)
            }
            guard dm_set_dev_dir(devDirectory) != 0 else {
                throw DMStepFailure(kind: .invalidArgument,
                                    detail: "libdevmapper refused the device directory '\(Self.shortened(devDirectory))'")
            }
            let result = try body()
            _ = DMLogBridge.shared.endCapture()
            return result
        } catch let failure as DMStepFailure {
            var lines = DMLogBridge.shared.endCapture().filter(\.isError)
            var detail = failure.detail
            var repeated = false
            if failure.isStartFailure {
                if lines.isEmpty {
                    lines = DMLibrary.firstStartFailure
                    repeated = !lines.isEmpty
                } else if DMLibrary.firstStartFailure.isEmpty {
                    DMLibrary.firstStartFailure = lines
                }
            }
            var seen = Set<String>()
            let texts = lines.map { Self.trimmedSentence($0.message) }.filter { seen.insert($0).inserted }
            if !texts.isEmpty { detail += ": " + texts.prefix(4).joined(separator: "; ") }
            if repeated { detail += " (as first reported in this process; libdevmapper does not check again)" }
            let code = failure.errno ?? lines.first(where: { $0.systemErrno > 0 })?.systemErrno
            var message = prefix(operation, map) + detail
            if let code, code > 0, failure.kind != .unavailable, !detail.contains(errnoText(code)) {
                message += " (\(errnoText(code)), errno \(code))"
            }
            throw DeviceMapperError(kind: failure.kind, operation: operation, map: map,
                                    errnoCode: code.flatMap { $0 > 0 ? $0 : nil }, message: message)
        } catch {
            _ = DMLogBridge.shared.endCapture()
            throw error
        }
    }

    private func prefix(_ operation: String, _ map: String?) -> String {
        "dm \(operation)" + (map.map { " \(Self.shortened($0))" } ?? "") + ": "
    }

    private static func trimmedSentence(_ text: String) -> String {
        var text = text.trimmingCharacters(in: .whitespacesAndNewlines)
        while text.hasSuffix(".") { text.removeLast() }
        return text
    }

    static func shortened(_ text: String) -> String {
        text.count > 64 ? String(text.prefix(64)) + "…" : text
    }
}
