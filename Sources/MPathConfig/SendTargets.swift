/// A SendTargets discovery record (open-iscsi `send_targets/<host>,<port>/st_config`):
/// the discovery portal plus its own `discovery.sendtargets.*` overrides (CHAP for discovery,
/// MaxRecvDataSegmentLength).
public struct SendTargetsRecord: Equatable, Sendable, Comparable, CustomStringConvertible,
    CustomDebugStringConvertible, CustomReflectable
{
    /// The discovery portal; its tag is not used.
    public var portal: Portal
    /// `discovery.sendtargets.*` overrides, key → value, on top of iscsid.conf.
    public var overrides: [String: String]

    public init(portal: Portal, overrides: [String: String] = [:]) {
        self.portal = portal
        self.overrides = overrides
    }

    /// The effective settings for discovery sessions from this portal.
    public func settings(base: SessionSettings) throws -> SessionSettings {
        try base.applying(overrides: overrides, source: "discovery record \(description)")
    }

    /// `host:port` (IPv6 bracketed).
    public var description: String { portal.address }

    /// Like `description` plus the override keys, secrets masked.
    public var debugDescription: String {
        let shown = overrides.keys.sorted().map { key -> String in
            let value = SessionSettings.isSecret(key: key) ? SessionSettings.mask : (overrides[key] ?? "")
            return "\(key)=\(value)"
        }
        return "SendTargetsRecord(\(description), overrides: [\(shown.joined(separator: ", "))])"
    }

    public var customMirror: Mirror {
        Mirror(self, children: ["masked": debugDescription], displayStyle: .struct)
    }

    public static func < (lhs: SendTargetsRecord, rhs: SendTargetsRecord) -> Bool {
        lhs.portal < rhs.portal
    }

    static let identityKeys: Set<String> = [
        "discovery.type", "discovery.sendtargets.address", "discovery.sendtargets.port",
    ]

    /// Discovery overrides must be known `discovery.sendtargets.*` settings with valid values.
    static func validateOverride(key: String, value: String) throws {
        guard key.hasPrefix("discovery.sendtargets."), SettingKey.byName[key] != nil else {
            throw ConfigError(key: ISCSIName.printable(key), message: "not a discovery setting")
        }
        var scratch = SessionSettings()
        try scratch.set(key: key, value: value)
    }

    func validate() throws {
        try NodeRecord.validate(portal: portal, what: "discovery portal")
        for key in overrides.keys.sorted() {
            try Self.validateOverride(key: key, value: overrides[key] ?? "")
        }
    }

    func fileText() throws -> String {
        var entries: [(key: String, value: String)] = [
            ("discovery.type", "sendtargets"),
            ("discovery.sendtargets.address", portal.host),
            ("discovery.sendtargets.port", String(portal.port)),
        ]
        entries += overrides.keys.sorted().map { (key: $0, value: overrides[$0] ?? "") }
        return try RecordFile.render(entries)
    }

    static func parse(_ text: String, file: String) throws -> SendTargetsRecord {
        var address: String?
        var port: Int?
        var overrides: [String: String] = [:]
        for entry in try RecordFile.parse(text, file: file) {
            switch entry.key {
            case "discovery.type":
                guard entry.value == "sendtargets" else {
                    throw ConfigError(
                        file: file, line: entry.line, key: entry.key,
                        message: "'\(ISCSIName.printable(entry.value))' is not supported (only 'sendtargets')")
                }
            case "discovery.sendtargets.address":
                address = entry.value
            case "discovery.sendtargets.port":
                guard let value = Int(entry.value), (1...65535).contains(value) else {
                    throw ConfigError(
                        file: file, line: entry.line, key: entry.key, message: "must be a number 1-65535")
                }
                port = value
            default:
                do {
                    try validateOverride(key: entry.key, value: entry.value)
                } catch let error as ConfigError {
                    throw error.located(file: file, line: entry.line)
                }
                overrides[entry.key] = entry.value
            }
        }
        guard let address else {
            throw ConfigError(file: file, key: "discovery.sendtargets.address", message: "missing from the record")
        }
        let record = SendTargetsRecord(
            portal: Portal(host: address, port: port ?? Portal.defaultPort, tpgt: nil), overrides: overrides)
        do {
            try record.validate()
        } catch let error as ConfigError {
            throw error.located(file: file, line: nil)
        }
        return record
    }
}

/// The discovery record store: `stateDir/send_targets/<host>,<port>/st_config`, 0600 files in
/// 0700 directories.
public struct SendTargetsDatabase: Sendable {
    /// The state directory holding `send_targets/`.
    public let stateDir: String

    /// The file name open-iscsi uses for a SendTargets record.
    public static let recordFileName = "st_config"

    public init(stateDir: String) {
        self.stateDir = ConfigLocations.normalized(stateDir)
    }

    /// stateDir/send_targets
    public var sendTargetsDir: String { stateDir + "/send_targets" }

    /// The file of the record for `portal`.
    public func path(for portal: Portal) -> String {
        "\(sendTargetsDir)/\(portal.host),\(portal.port)/\(Self.recordFileName)"
    }

    /// Creates or replaces the record for its portal.
    public func save(_ record: SendTargetsRecord) throws {
        var stored = record
        stored.portal.tpgt = nil
        try stored.validate()
        let file = path(for: stored.portal)
        try FileIO.makeDirectories(parentDirectory(of: file), mode: 0o700)
        try FileIO.writeAtomically(file, contents: stored.fileText(), mode: 0o600)
    }

    /// All discovery records, sorted by portal.
    public func all() throws -> [SendTargetsRecord] {
        var records: [SendTargetsRecord] = []
        for name in try FileIO.listDirectory(sendTargetsDir) {
            let file = "\(sendTargetsDir)/\(name)/\(Self.recordFileName)"
            guard let text = try FileIO.readText(file) else {
                throw ConfigError(file: file, message: "discovery record is missing")
            }
            let record = try SendTargetsRecord.parse(text, file: file)
            guard "\(record.portal.host),\(record.portal.port)" == name else {
                throw ConfigError(
                    file: file, message: "record content (\(record.description)) does not match its directory name")
            }
            records.append(record)
        }
        return records.sorted()
    }

    /// The record for `portal` (tag ignored), or nil.
    public func find(portal: Portal) throws -> SendTargetsRecord? {
        try NodeRecord.validate(portal: portal, what: "discovery portal")
        let file = path(for: portal)
        guard let text = try FileIO.readText(file) else { return nil }
        return try SendTargetsRecord.parse(text, file: file)
    }

    /// Deletes the record for `portal`; returns whether one existed.
    @discardableResult
    public func delete(portal: Portal) throws -> Bool {
        try NodeRecord.validate(portal: portal, what: "discovery portal")
        let file = path(for: portal)
        guard FileIO.exists(file) else { return false }
        try FileIO.removeFile(file)
        FileIO.removeDirectoryIfEmpty(parentDirectory(of: file))
        return true
    }
}
