import Foundation

/// The contents of `initiatorname.iscsi` (open-iscsi format):
///
///     # comment
///     InitiatorName=iqn.2026-11.org.mpath-iscsi:0123456789ab
///     InitiatorAlias=db-host-1
public struct InitiatorName: Equatable, Sendable {
    /// The iSCSI initiator name sent in Login (`InitiatorName=`).
    public var name: String
    /// Optional human-readable alias (`InitiatorAlias=`).
    public var alias: String?

    /// Prefix used when a name has to be generated.
    public static let defaultPrefix = "iqn.2026-11.org.mpath-iscsi"

    public init(name: String, alias: String? = nil) {
        self.name = name
        self.alias = alias
    }

    /// Parses the file text; `file` is used in error messages.
    public static func parse(_ text: String, file: String) throws -> InitiatorName {
        var name: (value: String, line: Int)?
        var alias: (value: String, line: Int)?
        for (index, rawLine) in splitLines(text).enumerated() {
            let lineNumber = index + 1
            let line = rawLine.trimmed
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let equals = line.firstIndex(of: "=") else {
                throw ConfigError(
                    file: file, line: lineNumber,
                    message: "expected 'InitiatorName=<iSCSI name>' or 'InitiatorAlias=<text>'")
            }
            let key = line[..<equals].trimmed
            let value = line[line.index(after: equals)...].trimmed
            switch key {
            case "InitiatorName":
                if let previous = name {
                    throw ConfigError(
                        file: file, line: lineNumber, key: key,
                        message: "given twice (first on line \(previous.line))")
                }
                do {
                    try ISCSIName.validate(value)
                } catch let error as ConfigError {
                    throw ConfigError(file: file, line: lineNumber, key: key, message: error.message)
                }
                name = (value, lineNumber)
            case "InitiatorAlias":
                if let previous = alias {
                    throw ConfigError(
                        file: file, line: lineNumber, key: key,
                        message: "given twice (first on line \(previous.line))")
                }
                if value.utf8.count > 255 {
                    throw ConfigError(file: file, line: lineNumber, key: key, message: "longer than 255 bytes")
                }
                alias = (value, lineNumber)
            default:
                throw ConfigError(
                    file: file, line: lineNumber, key: key.isEmpty ? nil : key,
                    message: "unknown key (allowed: InitiatorName, InitiatorAlias)")
            }
        }
        guard let name else {
            throw ConfigError(file: file, message: "no 'InitiatorName=' line")
        }
        return InitiatorName(name: name.value, alias: (alias?.value).flatMap { $0.isEmpty ? nil : $0 })
    }

    /// Reads the file at `path`; a missing file is an error.
    public static func load(at path: String) throws -> InitiatorName {
        guard let text = try FileIO.readText(path) else {
            throw ConfigError(file: path, message: "file does not exist")
        }
        return try parse(text, file: path)
    }

    /// Reads the file, or creates it (mode 0644) with a freshly generated name when missing,
    /// like `iscsi-iname` + the distribution's first-boot script do for open-iscsi.
    public static func loadOrCreate(at path: String, prefix: String = defaultPrefix) throws -> InitiatorName {
        if FileIO.exists(path) { return try load(at: path) }
        let directory = parentDirectory(of: path)
        try FileIO.makeDirectories(directory, mode: 0o755)
        // Two first runs at once must end up with one name: re-check under the lock.
        return try FileIO.withDirectoryLock(directory) {
            if FileIO.exists(path) { return try load(at: path) }
            let created = InitiatorName(name: try generate(prefix: prefix))
            try FileIO.writeAtomically(path, contents: created.fileText(), mode: 0o644)
            return created
        }
    }

    /// A new unique name: `prefix:` followed by 12 lowercase hex digits (6 random bytes),
    /// the same shape `iscsi-iname` produces.
    public static func generate(prefix: String = defaultPrefix) throws -> String {
        // Keep the result within 223 bytes: prefix + ':' + 12 digits.
        if prefix.utf8.count > ISCSIName.maximumLength - 13 {
            throw ConfigError(
                message: "initiator name prefix is longer than \(ISCSIName.maximumLength - 13) bytes")
        }
        let bytes = randomBytes(6)
        let suffix = bytes.map { byte -> String in
            let hex = String(byte, radix: 16)
            return hex.count == 1 ? "0" + hex : hex
        }.joined()
        let name = prefix + ":" + suffix
        do {
            try ISCSIName.validate(name)
        } catch let error as ConfigError {
            throw ConfigError(message: "invalid initiator name prefix '\(prefix)': \(error.message)")
        }
        return name
    }

    /// The file text written by `loadOrCreate`, with an explanatory header.
    public func fileText() -> String {
        var text = """
            # iSCSI initiator name of this host (RFC 3720 section 3.2.6), sent in every Login.
            # Target ACLs refer to it, so change it only together with the targets' ACLs.
            # Same format as open-iscsi's /etc/iscsi/initiatorname.iscsi; generated by mpath-iscsi.
            InitiatorName=\(name)

            """
        if let alias { text += "InitiatorAlias=\(alias)\n" }
        return text
    }

    /// Random bytes from /dev/urandom, falling back to the system generator (getrandom) if the
    /// device cannot be read, e.g. inside a minimal chroot.
    private static func randomBytes(_ count: Int) -> [UInt8] {
        if let handle = FileHandle(forReadingAtPath: "/dev/urandom") {
            defer { try? handle.close() }
            if let data = try? handle.read(upToCount: count), data.count == count {
                return [UInt8](data)
            }
        }
        var generator = SystemRandomNumberGenerator()
        return (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
    }
}
