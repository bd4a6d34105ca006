/// One node record: a (target, portal, iface) triple to log in to, plus per-node setting
/// overrides on top of iscsid.conf — open-iscsi's `nodes/<target>/<ip>,<port>,<tpgt>/<iface>`.
public struct NodeRecord: Equatable, Sendable, Comparable, CustomStringConvertible,
    CustomDebugStringConvertible, CustomReflectable
{
    /// Target iSCSI name (`node.name`).
    public var targetName: String
    /// Portal with its group tag (`node.conn[0].address`, `node.conn[0].port`, `node.tpgt`).
    public var portal: Portal
    /// Iface record name (`iface.iscsi_ifacename`), "default" when not bound.
    public var iface: String
    /// `node.*` setting overrides, key → value, applied on top of iscsid.conf.
    public var overrides: [String: String]
    /// The SendTargets portal that reported this node, when it came from discovery.
    public var discoveryAddress: Portal?

    public init(
        targetName: String, portal: Portal, iface: String = IfaceRecord.defaultName,
        overrides: [String: String] = [:], discoveryAddress: Portal? = nil
    ) {
        self.targetName = targetName
        self.portal = portal
        self.iface = iface
        self.overrides = overrides
        self.discoveryAddress = discoveryAddress
    }

    /// Keys that identify the record; they are fixed at creation and cannot be overridden.
    public static let identityKeys: Set<String> = [
        "node.name", "node.tpgt", "node.conn[0].address", "node.conn[0].port", "iface.iscsi_ifacename",
        "node.discovery_address", "node.discovery_port",
    ]

    /// The effective settings of this node: `base` (iscsid.conf) with the overrides applied.
    public func settings(base: SessionSettings) throws -> SessionSettings {
        try base.applying(overrides: overrides, source: "node record \(description)")
    }

    /// `iscsiadm -m node -o show` style lines: identity keys, then every effective setting
    /// (unset ones as `<empty>`), secrets masked unless `showSecrets`.
    public func showLines(base: SessionSettings, showSecrets: Bool = false) throws -> [String] {
        var lines = identityEntries.map { "\($0.key) = \($0.value)" }
        lines += try settings(base: base).renderedLines(showSecrets: showSecrets, includeUnset: true)
        return lines
    }

    /// iscsiadm's node listing form: `10.0.0.1:3260,1 iqn.…` (with the iface when not default).
    public var description: String {
        var text = "\(portal) \(targetName)"
        if iface != IfaceRecord.defaultName { text += " (iface \(iface))" }
        return text
    }

    /// Like `description` plus the override keys; secret values are masked.
    public var debugDescription: String {
        let shown = overrides.keys.sorted().map { key -> String in
            let value = SessionSettings.isSecret(key: key) ? SessionSettings.mask : (overrides[key] ?? "")
            return "\(key)=\(value)"
        }
        return "NodeRecord(\(description), overrides: [\(shown.joined(separator: ", "))])"
    }

    public var customMirror: Mirror {
        Mirror(self, children: ["masked": debugDescription], displayStyle: .struct)
    }

    public static func < (lhs: NodeRecord, rhs: NodeRecord) -> Bool {
        if lhs.targetName != rhs.targetName { return lhs.targetName < rhs.targetName }
        if lhs.portal != rhs.portal { return lhs.portal < rhs.portal }
        return lhs.iface < rhs.iface
    }

    /// Identity lines in record order.
    var identityEntries: [(key: String, value: String)] {
        var entries: [(key: String, value: String)] = [
            ("node.name", targetName),
            ("node.tpgt", String(portal.tpgt ?? 1)),
            ("node.conn[0].address", portal.host),
            ("node.conn[0].port", String(portal.port)),
            ("iface.iscsi_ifacename", iface),
        ]
        if let discoveryAddress {
            entries.append(("node.discovery_address", discoveryAddress.host))
            entries.append(("node.discovery_port", String(discoveryAddress.port)))
        }
        return entries
    }

    /// The record file text.
    func fileText() throws -> String {
        let overrideEntries = overrides.keys.sorted().map { (key: $0, value: overrides[$0] ?? "") }
        return try RecordFile.render(identityEntries + overrideEntries)
    }

    /// Checks everything that ends up in a path or a file, so a saved record always reads back.
    func validate() throws {
        try checkPathComponent(targetName, what: "target name")
        if targetName.utf8.count > ISCSIName.maximumLength {
            throw ConfigError(message: "target name is longer than \(ISCSIName.maximumLength) bytes")
        }
        if targetName.contains(where: { $0 == " " || $0 == "\t" || $0 == "," }) {
            throw ConfigError(message: "invalid target name '\(ISCSIName.printable(targetName))': contains a space or ','")
        }
        try Self.validate(portal: portal, what: "portal")
        if let discoveryAddress { try Self.validate(portal: discoveryAddress, what: "discovery address") }
        try IfaceRecord.validate(name: iface)
        for key in overrides.keys.sorted() {
            try Self.validateOverride(key: key, value: overrides[key] ?? "")
        }
    }

    static func validate(portal: Portal, what: String) throws {
        if !IPAddress.isLiteral(portal.host) && !isValidHostName(portal.host) {
            throw ConfigError(message: "invalid \(what) host '\(ISCSIName.printable(portal.host))'")
        }
        if !(1...65535).contains(portal.port) {
            throw ConfigError(message: "invalid \(what) port \(portal.port): must be 1-65535")
        }
        if let tpgt = portal.tpgt, !(0...65535).contains(tpgt) {
            throw ConfigError(message: "invalid \(what) target portal group tag \(tpgt): must be 0-65535")
        }
    }

    /// A node override must be a known `node.*` setting with a valid value.
    static func validateOverride(key: String, value: String) throws {
        if identityKeys.contains(key) {
            throw ConfigError(
                key: key, message: "identifies the record and cannot be changed; delete and re-create the record")
        }
        guard key.hasPrefix("node."), SettingKey.byName[key] != nil else {
            throw ConfigError(key: ISCSIName.printable(key), message: "not a node setting")
        }
        var scratch = SessionSettings()
        try scratch.set(key: key, value: value)
    }

    /// Parses a record file; `file` is used in messages.
    static func parse(_ text: String, file: String) throws -> NodeRecord {
        let entries = try RecordFile.parse(text, file: file)
        var values: [String: (value: String, line: Int)] = [:]
        var overrides: [String: String] = [:]
        for entry in entries {
            if identityKeys.contains(entry.key) {
                values[entry.key] = (entry.value, entry.line)
                continue
            }
            do {
                try validateOverride(key: entry.key, value: entry.value)
            } catch let error as ConfigError {
                throw error.located(file: file, line: entry.line)
            }
            overrides[entry.key] = entry.value
        }
        func required(_ key: String) throws -> (value: String, line: Int) {
            guard let found = values[key] else {
                throw ConfigError(file: file, key: key, message: "missing from the record")
            }
            return found
        }
        func number(_ key: String, _ range: ClosedRange<Int>) throws -> Int {
            let found = try required(key)
            guard let value = Int(found.value), range.contains(value) else {
                throw ConfigError(
                    file: file, line: found.line, key: key,
                    message: "'\(ISCSIName.printable(found.value))' is not a number \(range.lowerBound)-\(range.upperBound)")
            }
            return value
        }
        let name = try required("node.name").value
        let address = try required("node.conn[0].address")
        let port = try number("node.conn[0].port", 1...65535)
        let tpgt = try number("node.tpgt", 0...65535)
        let iface = try required("iface.iscsi_ifacename").value
        var discovery: Portal?
        if let discoveryHost = values["node.discovery_address"] {
            let discoveryPort = values["node.discovery_port"] == nil ? Portal.defaultPort
                : try number("node.discovery_port", 1...65535)
            discovery = Portal(host: discoveryHost.value, port: discoveryPort, tpgt: nil)
        }
        let record = NodeRecord(
            targetName: name, portal: Portal(host: address.value, port: port, tpgt: tpgt), iface: iface,
            overrides: overrides, discoveryAddress: discovery)
        do {
            try record.validate()
        } catch let error as ConfigError {
            throw error.located(file: file, line: nil)
        }
        return record
    }
}
