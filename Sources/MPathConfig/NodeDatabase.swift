/// The node record store: `stateDir/nodes/<target>/<host>,<port>,<tpgt>/<iface>`.
///
/// Files are replaced atomically with mode 0600 (they may hold CHAP secrets) and directories
/// are created 0700. Reads never trust the tree: a record whose content disagrees with its
/// path, or that is cut short, is reported with its file name and line.
public struct NodeDatabase: Sendable {
    /// The state directory holding `nodes/`.
    public let stateDir: String

    public init(stateDir: String) {
        self.stateDir = ConfigLocations.normalized(stateDir)
    }

    /// stateDir/nodes
    public var nodesDir: String { stateDir + "/nodes" }

    /// The file a record lives in. A record without a tag is stored with tag 1.
    public func path(for record: NodeRecord) -> String {
        let portal = record.portal
        return "\(nodesDir)/\(record.targetName)/\(portal.host),\(portal.port),\(portal.tpgt ?? 1)/\(record.iface)"
    }

    /// Creates or replaces a record (tag defaults to 1 when the portal has none).
    public func save(_ record: NodeRecord) throws {
        var stored = record
        if stored.portal.tpgt == nil { stored.portal.tpgt = 1 }
        try stored.validate()
        let file = path(for: stored)
        try FileIO.makeDirectories(parentDirectory(of: file), mode: 0o700)
        try FileIO.writeAtomically(file, contents: stored.fileText(), mode: 0o600)
    }

    /// Every record, sorted by target, portal, iface.
    public func all() throws -> [NodeRecord] {
        var records: [NodeRecord] = []
        for target in try FileIO.listDirectory(nodesDir) {
            let targetDir = "\(nodesDir)/\(target)"
            guard FileIO.isDirectory(targetDir) else {
                throw ConfigError(file: targetDir, message: "unexpected file in the node database (expected a target directory)")
            }
            for portalName in try FileIO.listDirectory(targetDir) {
                let portalDir = "\(targetDir)/\(portalName)"
                guard FileIO.isDirectory(portalDir), let portal = Self.portal(fromDirectoryName: portalName) else {
                    throw ConfigError(
                        file: portalDir,
                        message: "unexpected entry in the node database (expected a '<address>,<port>,<tpgt>' directory)")
                }
                for iface in try FileIO.listDirectory(portalDir) {
                    let file = "\(portalDir)/\(iface)"
                    let record = try load(path: file)
                    guard record.targetName == target, record.portal == portal, record.iface == iface else {
                        throw ConfigError(
                            file: file,
                            message: "record content (\(record.description)) does not match its location in the database")
                    }
                    records.append(record)
                }
            }
        }
        return records.sorted()
    }

    /// Records matching every given criterion (none given = all), like `iscsiadm -m node -T -p -I`.
    /// A portal without a tag matches any tag.
    public func find(target: String? = nil, portal: Portal? = nil, iface: String? = nil) throws -> [NodeRecord] {
        try all().filter { record in
            if let target, record.targetName != target { return false }
            if let portal, !record.portal.matches(portal) { return false }
            if let iface, record.iface != iface { return false }
            return true
        }
    }

    /// Deletes the matching records (none given = all, as `iscsiadm -m node -o delete`) and
    /// any directories left empty; returns what was deleted.
    @discardableResult
    public func delete(target: String? = nil, portal: Portal? = nil, iface: String? = nil) throws -> [NodeRecord] {
        let matches = try find(target: target, portal: portal, iface: iface)
        for record in matches {
            let file = path(for: record)
            try FileIO.removeFile(file)
            let portalDir = parentDirectory(of: file)
            FileIO.removeDirectoryIfEmpty(portalDir)
            FileIO.removeDirectoryIfEmpty(parentDirectory(of: portalDir))
        }
        return matches
    }

    /// Sets `key = value` on every matching record (`iscsiadm -m node -o update -n key -v value`)
    /// after validating it like iscsid.conf; returns the updated records. No match is an error.
    @discardableResult
    public func update(
        target: String?, portal: Portal?, iface: String? = nil, key: String, value: String
    ) throws -> [NodeRecord] {
        try NodeRecord.validateOverride(key: key, value: value)
        // Store the canonical spelling ("yes" → "Yes") so records diff cleanly.
        var scratch = SessionSettings()
        try scratch.set(key: key, value: value)
        let canonical = scratch.value(forKey: key) ?? ""
        // Read-modify-write: hold the database lock so a concurrent update is not lost.
        try FileIO.makeDirectories(nodesDir, mode: 0o700)
        return try FileIO.withDirectoryLock(nodesDir) {
            let matches = try find(target: target, portal: portal, iface: iface)
            if matches.isEmpty {
                throw ConfigError(message: "no node records match \(Self.criteria(target, portal, iface))")
            }
            var updated: [NodeRecord] = []
            for var record in matches {
                record.overrides[key] = canonical
                try save(record)
                updated.append(record)
            }
            return updated
        }
    }

    /// Reads one record file.
    public func load(path: String) throws -> NodeRecord {
        guard let text = try FileIO.readText(path) else {
            throw ConfigError(file: path, message: "record does not exist")
        }
        return try NodeRecord.parse(text, file: path)
    }

    /// `<host>,<port>,<tpgt>`; the host may be IPv6 (colons, no commas), so split from the end.
    static func portal(fromDirectoryName name: String) -> Portal? {
        let parts = name.split(separator: ",", omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[0].isEmpty, let port = Int(parts[1]), let tpgt = Int(parts[2]),
            (1...65535).contains(port), (0...65535).contains(tpgt)
        else { return nil }
        return Portal(host: String(parts[0]), port: port, tpgt: tpgt)
    }

    static func criteria(_ target: String?, _ portal: Portal?, _ iface: String?) -> String {
        var parts: [String] = []
        if let target { parts.append("target \(target)") }
        if let portal { parts.append("portal \(portal)") }
        if let iface { parts.append("iface \(iface)") }
        return parts.isEmpty ? "(any)" : parts.joined(separator: ", ")
    }
}
