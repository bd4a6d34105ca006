/// An iface record (open-iscsi `ifaces/<name>`): how sessions using it leave this host —
/// source address, network interface, or MAC — and optionally a different initiator name.
public struct IfaceRecord: Equatable, Sendable, Comparable {
    /// `iface.iscsi_ifacename`
    public var name: String
    /// `iface.transport_name`; mpath-iscsi implements "tcp" only.
    public var transportName: String
    /// `iface.ipaddress`: source address to bind to (IPv4 or IPv6 literal).
    public var ipaddress: String?
    /// `iface.net_ifacename`: network interface to bind to (SO_BINDTODEVICE), e.g. eth0.3.
    public var netIfacename: String?
    /// `iface.hwaddress`: MAC of the interface to use, lowercase `aa:bb:cc:dd:ee:ff`.
    public var hwaddress: String?
    /// `iface.initiatorname`: overrides initiatorname.iscsi for sessions on this iface.
    public var initiatorName: String?

    /// The implicit iface that binds nothing.
    public static let defaultName = "default"
    /// Names open-iscsi reserves; they cannot be created or deleted.
    public static let reservedNames: Set<String> = ["default", "iser"]
    /// The only transport implemented.
    public static let tcpTransport = "tcp"
    /// Longest iface name, as in open-iscsi (ISCSI_MAX_IFACE_LEN).
    public static let maximumNameLength = 64

    public init(
        name: String, transportName: String = IfaceRecord.tcpTransport, ipaddress: String? = nil,
        netIfacename: String? = nil, hwaddress: String? = nil, initiatorName: String? = nil
    ) {
        self.name = name
        self.transportName = transportName
        self.ipaddress = ipaddress
        self.netIfacename = netIfacename
        self.hwaddress = hwaddress
        self.initiatorName = initiatorName
    }

    /// The implicit `default` iface: tcp, no binding.
    public static var `default`: IfaceRecord { IfaceRecord(name: defaultName) }

    /// Keys of an iface record, in file order.
    public static let keys = [
        "iface.iscsi_ifacename", "iface.transport_name", "iface.ipaddress", "iface.net_ifacename",
        "iface.hwaddress", "iface.initiatorname",
    ]

    /// Checks an iface name: 1...64 characters of A-Z a-z 0-9 . _ - , not starting with '.'.
    public static func validate(name: String) throws {
        func fail(_ reason: String) -> ConfigError {
            ConfigError(message: "invalid iface name '\(ISCSIName.printable(name))': \(reason)")
        }
        if name.isEmpty { throw fail("empty") }
        if name.count > maximumNameLength { throw fail("longer than \(maximumNameLength) characters") }
        let allowed = name.unicodeScalars.allSatisfy {
            ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0)
                || $0 == "." || $0 == "_" || $0 == "-"
        }
        if !allowed { throw fail("use only letters, digits, '.', '_' and '-'") }
        if name.hasPrefix(".") { throw fail("must not start with '.'") }
    }

    /// Sets one `iface.*` key from text, validating it; an empty value unsets optional keys.
    public mutating func set(key: String, value rawValue: String) throws {
        let value = rawValue.trimmed
        do {
            switch key {
            case "iface.iscsi_ifacename":
                throw ConfigError(key: key, message: "is the record's name and cannot be changed")
            case "iface.transport_name":
                guard value == Self.tcpTransport else {
                    throw ConfigError(
                        key: key, message: "'\(ISCSIName.printable(value))' is not supported (only 'tcp')")
                }
                transportName = value
            case "iface.ipaddress":
                if value.isEmpty {
                    ipaddress = nil
                } else {
                    guard let canonical = IPAddress.canonical(value) else {
                        throw ConfigError(
                            key: key,
                            message: "'\(ISCSIName.printable(value))' is not an IPv4 or IPv6 address")
                    }
                    ipaddress = canonical
                }
            case "iface.net_ifacename":
                if value.isEmpty {
                    netIfacename = nil
                } else {
                    guard IPAddress.isValidZone(value) else {
                        throw ConfigError(
                            key: key,
                            message: "'\(ISCSIName.printable(value))' is not a network interface name "
                                + "(1-15 characters, no spaces or '/')")
                    }
                    netIfacename = value
                }
            case "iface.hwaddress":
                if value.isEmpty {
                    hwaddress = nil
                } else {
                    guard let mac = Self.normalizedMAC(value) else {
                        throw ConfigError(
                            key: key,
                            message: "'\(ISCSIName.printable(value))' is not a MAC address (aa:bb:cc:dd:ee:ff)")
                    }
                    hwaddress = mac
                }
            case "iface.initiatorname":
                if value.isEmpty {
                    initiatorName = nil
                } else {
                    try ISCSIName.validate(value)
                    initiatorName = value
                }
            default:
                throw ConfigError(
                    key: ISCSIName.printable(key),
                    message: "not an iface setting (allowed: \(Self.keys.dropFirst().joined(separator: ", ")))")
            }
        } catch var error as ConfigError {
            if error.key == nil { error.key = key }
            throw error
        }
    }

    /// The value of one `iface.*` key; nil when unset or unknown.
    public func value(forKey key: String) -> String? {
        switch key {
        case "iface.iscsi_ifacename": return name
        case "iface.transport_name": return transportName
        case "iface.ipaddress": return ipaddress
        case "iface.net_ifacename": return netIfacename
        case "iface.hwaddress": return hwaddress
        case "iface.initiatorname": return initiatorName
        default: return nil
        }
    }

    /// `key = value` lines; unset values appear as `<empty>` when `includeUnset`.
    public func renderedLines(includeUnset: Bool = false) -> [String] {
        Self.keys.compactMap { key in
            if let value = value(forKey: key) { return "\(key) = \(value)" }
            return includeUnset ? "\(key) = <empty>" : nil
        }
    }

    /// iscsiadm's iface listing: `name transport,hwaddress,ipaddress,net_ifacename,initiatorname`.
    public var listing: String {
        let fields = [transportName, hwaddress, ipaddress, netIfacename, initiatorName].map { $0 ?? "<empty>" }
        return "\(name) \(fields.joined(separator: ","))"
    }

    /// Validates every field (used before saving and after reading).
    public func validate() throws {
        try Self.validate(name: name)
        var copy = IfaceRecord(name: name)
        for key in Self.keys.dropFirst() {
            if let value = value(forKey: key) { try copy.set(key: key, value: value) }
        }
    }

    public static func < (lhs: IfaceRecord, rhs: IfaceRecord) -> Bool { lhs.name < rhs.name }

    /// `aa:bb:cc:dd:ee:ff` (also accepts '-' separators and uppercase), or nil.
    static func normalizedMAC(_ text: String) -> String? {
        let parts = text.split(omittingEmptySubsequences: false) { $0 == ":" || $0 == "-" }
        guard parts.count == 6 else { return nil }
        var octets: [String] = []
        for part in parts {
            guard part.count == 2, UInt8(part, radix: 16) != nil else { return nil }
            octets.append(part.lowercased())
        }
        return octets.joined(separator: ":")
    }

    func fileText() throws -> String {
        let entries = Self.keys.compactMap { key in value(forKey: key).map { (key: key, value: $0) } }
        return try RecordFile.render(entries)
    }

    static func parse(_ text: String, file: String) throws -> IfaceRecord {
        let entries = try RecordFile.parse(text, file: file)
        guard let nameEntry = entries.first(where: { $0.key == "iface.iscsi_ifacename" }) else {
            throw ConfigError(file: file, key: "iface.iscsi_ifacename", message: "missing from the record")
        }
        do {
            try validate(name: nameEntry.value)
        } catch let error as ConfigError {
            throw error.located(file: file, line: nameEntry.line)
        }
        var record = IfaceRecord(name: nameEntry.value)
        for entry in entries where entry.key != "iface.iscsi_ifacename" {
            do {
                try record.set(key: entry.key, value: entry.value)
            } catch let error as ConfigError {
                throw error.located(file: file, line: entry.line)
            }
        }
        return record
    }
}

/// The iface store: `stateDir/ifaces/<name>`, files 0600 in a 0700 directory.
/// `default` always exists implicitly and binds nothing.
public struct IfaceDatabase: Sendable {
    /// The state directory holding `ifaces/`.
    public let stateDir: String

    public init(stateDir: String) {
        self.stateDir = ConfigLocations.normalized(stateDir)
    }

    /// stateDir/ifaces
    public var ifacesDir: String { stateDir + "/ifaces" }

    /// The file of a named iface.
    public func path(for name: String) -> String { "\(ifacesDir)/\(name)" }

    /// Creates a new iface (`iscsiadm -m iface -I name -o new`); refuses reserved and
    /// existing names.
    public func new(_ record: IfaceRecord) throws {
        try Self.refuseReserved(record.name, action: "be created")
        try record.validate()
        try FileIO.makeDirectories(ifacesDir, mode: 0o700)
        try FileIO.withDirectoryLock(ifacesDir) {
            if FileIO.exists(path(for: record.name)) {
                throw ConfigError(message: "iface '\(record.name)' already exists")
            }
            try write(record)
        }
    }

    /// Sets one key of an existing iface (`-o update -n iface.hwaddress -v …`).
    @discardableResult
    public func update(name: String, key: String, value: String) throws -> IfaceRecord {
        try Self.refuseReserved(name, action: "be changed")
        try FileIO.makeDirectories(ifacesDir, mode: 0o700)
        return try FileIO.withDirectoryLock(ifacesDir) {
            guard var record = try get(name) else {
                throw ConfigError(message: "iface '\(name)' does not exist")
            }
            try record.set(key: key, value: value)
            try write(record)
            return record
        }
    }

    /// All ifaces, `default` first, then by name.
    public func list() throws -> [IfaceRecord] {
        var records: [IfaceRecord] = []
        for name in try FileIO.listDirectory(ifacesDir) {
            let record = try load(path: path(for: name))
            guard record.name == name else {
                throw ConfigError(
                    file: path(for: name),
                    message: "record names iface '\(record.name)' but the file is named '\(name)'")
            }
            if IfaceRecord.reservedNames.contains(name) { continue }
            records.append(record)
        }
        return [IfaceRecord.default] + records.sorted()
    }

    /// The named iface; `default` always exists, unknown names give nil.
    public func get(_ name: String) throws -> IfaceRecord? {
        if name == IfaceRecord.defaultName { return .default }
        try IfaceRecord.validate(name: name)
        let file = path(for: name)
        guard FileIO.exists(file) else { return nil }
        return try load(path: file)
    }

    /// Deletes an iface; reserved names and missing ifaces are errors.
    public func delete(_ name: String) throws {
        try Self.refuseReserved(name, action: "be deleted")
        try IfaceRecord.validate(name: name)
        let file = path(for: name)
        guard FileIO.exists(file) else {
            throw ConfigError(message: "iface '\(name)' does not exist")
        }
        try FileIO.removeFile(file)
    }

    private func load(path: String) throws -> IfaceRecord {
        guard let text = try FileIO.readText(path) else {
            throw ConfigError(file: path, message: "record does not exist")
        }
        return try IfaceRecord.parse(text, file: path)
    }

    private func write(_ record: IfaceRecord) throws {
        try FileIO.makeDirectories(ifacesDir, mode: 0o700)
        try FileIO.writeAtomically(path(for: record.name), contents: record.fileText(), mode: 0o600)
    }

    private static func refuseReserved(_ name: String, action: String) throws {
        if IfaceRecord.reservedNames.contains(name) {
            throw ConfigError(message: "iface name '\(name)' is reserved and cannot \(action)")
        }
    }
}
