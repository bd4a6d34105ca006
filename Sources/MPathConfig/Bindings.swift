/// The contents of a multipath-tools style bindings file: `alias wwid` lines, `#` comments.
/// The original lines are kept verbatim so rewriting the file preserves comments and order.
public struct Bindings: Equatable, Sendable {
    /// One `alias wwid` line.
    public struct Entry: Equatable, Sendable {
        /// The map name.
        public var alias: String
        /// The LUN WWID.
        public var wwid: String
        /// 1-based line in the file (0 for entries added since reading).
        public var line: Int
    }

    /// Bindings in file order.
    public private(set) var entries: [Entry] = []
    private var lines: [String] = []

    /// An empty bindings file with the standard header.
    public init() {
        lines = Self.header
    }

    static let header = [
        "# Multipath bindings, Version : 1.0",
        "# NOTE: this file is automatically maintained by mpath-iscsi (multipath-tools format).",
        "# You should not need to edit this file in normal circumstances.",
        "#",
        "# Format:",
        "# alias wwid",
        "#",
    ]

    /// Parses the file text; malformed or duplicate lines throw naming `file` and the line.
    public static func parse(_ text: String, file: String) throws -> Bindings {
        var bindings = Bindings()
        bindings.lines = []
        var aliasLine: [String: Int] = [:]
        var wwidLine: [String: Int] = [:]
        for (index, rawLine) in splitLines(text).enumerated() {
            let lineNumber = index + 1
            bindings.lines.append(String(rawLine))
            let line = rawLine.trimmed
            if line.isEmpty || line.hasPrefix("#") { continue }
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            guard fields.count == 2 else {
                throw ConfigError(
                    file: file, line: lineNumber,
                    message: "expected '<alias> <wwid>' (found \(fields.count) field\(fields.count == 1 ? "" : "s"))")
            }
            let alias = fields[0], wwid = fields[1]
            do {
                try MultipathConfBuilder.checkName(alias, key: "alias")
                try MultipathConfBuilder.checkName(wwid, key: "wwid")
            } catch let error as ConfigError {
                throw error.located(file: file, line: lineNumber)
            }
            if let previous = aliasLine[alias] {
                throw ConfigError(
                    file: file, line: lineNumber,
                    message: "alias '\(alias)' is bound twice (first on line \(previous))")
            }
            if let previous = wwidLine[wwid] {
                throw ConfigError(
                    file: file, line: lineNumber,
                    message: "wwid \(wwid) is bound twice (first on line \(previous))")
            }
            aliasLine[alias] = lineNumber
            wwidLine[wwid] = lineNumber
            bindings.entries.append(Entry(alias: alias, wwid: wwid, line: lineNumber))
        }
        return bindings
    }

    /// The alias bound to `wwid`.
    public func alias(forWWID wwid: String) -> String? {
        entries.first { $0.wwid == wwid }?.alias
    }

    /// The WWID bound to `alias`.
    public func wwid(forAlias alias: String) -> String? {
        entries.first { $0.alias == alias }?.wwid
    }

    /// Adds a binding; an alias or WWID that is already bound is an error.
    public mutating func add(alias: String, wwid: String) throws {
        try MultipathConfBuilder.checkName(alias, key: "alias")
        try MultipathConfBuilder.checkName(wwid, key: "wwid")
        if let existing = self.wwid(forAlias: alias) {
            throw ConfigError(message: "alias '\(alias)' is already bound to wwid \(existing)")
        }
        if let existing = self.alias(forWWID: wwid) {
            throw ConfigError(message: "wwid \(wwid) is already bound to alias '\(existing)'")
        }
        entries.append(Entry(alias: alias, wwid: wwid, line: 0))
        lines.append("\(alias) \(wwid)")
    }

    /// The file text: original lines followed by added bindings.
    public var text: String {
        lines.isEmpty ? "" : lines.joined(separator: "\n") + "\n"
    }

    /// The first free user-friendly name `prefix` + a, b, …, z, aa, ab, … not bound here and
    /// not in `reserved` (e.g. aliases from the multipaths section). Lowest free index first,
    /// so names freed by deleted bindings are reused, as in multipath-tools.
    public func nextFriendlyName(prefix: String, reserved: Set<String> = []) -> String {
        let taken = Set(entries.map(\.alias)).union(reserved)
        var index = 0
        while taken.contains(BindingsFile.friendlyName(index: index, prefix: prefix)) { index += 1 }
        return BindingsFile.friendlyName(index: index, prefix: prefix)
    }
}

/// A bindings file on disk (`stateDir/bindings`): lookup and allocation of user-friendly
/// names, persisted atomically under a lock so concurrent allocators never hand out the
/// same name twice.
public struct BindingsFile: Sendable {
    /// The file path.
    public let path: String
    /// Alias prefix (multipath-tools' `alias_prefix`, "mpath").
    public let prefix: String

    public init(path: String, prefix: String = "mpath") {
        self.path = path
        self.prefix = prefix
    }

    /// The bindings; a missing file reads as empty.
    public func load() throws -> Bindings {
        guard let text = try FileIO.readText(path) else { return Bindings() }
        return try Bindings.parse(text, file: path)
    }

    /// The alias bound to `wwid`, allocating and saving the next free friendly name when there
    /// is none. Names in `reserved` are skipped.
    public func name(forWWID wwid: String, reserved: Set<String> = []) throws -> String {
        try MultipathConfBuilder.checkName(wwid, key: "wwid")
        let directory = parentDirectory(of: path)
        try FileIO.makeDirectories(directory, mode: 0o700)
        return try FileIO.withDirectoryLock(directory) {
            var bindings = try load()
            if let alias = bindings.alias(forWWID: wwid) { return alias }
            let alias = bindings.nextFriendlyName(prefix: prefix, reserved: reserved)
            try bindings.add(alias: alias, wwid: wwid)
            try FileIO.writeAtomically(path, contents: bindings.text, mode: 0o600)
            return alias
        }
    }

    /// multipath-tools' naming: index 0 → "a", 25 → "z", 26 → "aa", 27 → "ab", 702 → "aaa"
    /// (bijective base 26), prefixed.
    public static func friendlyName(index: Int, prefix: String) -> String {
        var letters: [Character] = []
        var value = max(index, 0) + 1
        while value > 0 {
            value -= 1
            letters.append(Character(Unicode.Scalar(UInt8(ascii: "a") + UInt8(value % 26))))
            value /= 26
        }
        return prefix + String(letters.reversed())
    }

    /// The inverse of `friendlyName(index:prefix:)`; nil for names outside the scheme.
    public static func index(ofFriendlyName name: String, prefix: String) -> Int? {
        guard name.hasPrefix(prefix) else { return nil }
        let suffix = name.utf8.dropFirst(prefix.utf8.count)
        // 12 letters already exceed any realistic map count and keep the arithmetic in range.
        guard !suffix.isEmpty, suffix.count <= 12 else { return nil }
        var value = 0
        for byte in suffix {
            guard byte >= UInt8(ascii: "a"), byte <= UInt8(ascii: "z") else { return nil }
            value = value * 26 + Int(byte - UInt8(ascii: "a")) + 1
        }
        return value - 1
    }
}
