/// The framed `key = value` format shared by node, iface and discovery records, as in
/// open-iscsi's idbm: `# BEGIN RECORD <version>` … `# END RECORD`. The frame lets a reader
/// tell a complete record from one cut short.
enum RecordFile {
    static let version = "mpath-iscsi 1"
    static let beginPrefix = "# BEGIN RECORD"
    static let header = "\(beginPrefix) \(version)"
    static let footer = "# END RECORD"

    struct Entry: Equatable {
        var key: String
        var value: String
        var line: Int
    }

    /// The entries of a record, in file order; throws for anything that is not a complete,
    /// well-formed record, naming `file` and the line.
    static func parse(_ text: String, file: String) throws -> [Entry] {
        var entries: [Entry] = []
        var seen: [String: Int] = [:]
        var begun = false
        var ended = false
        var lastLine = 0
        for (index, rawLine) in splitLines(text).enumerated() {
            let lineNumber = index + 1
            let line = rawLine.trimmed
            if line.isEmpty { continue }
            lastLine = lineNumber
            if ended {
                throw ConfigError(file: file, line: lineNumber, message: "text after '\(footer)'")
            }
            if !begun {
                guard line.hasPrefix(beginPrefix) else {
                    throw ConfigError(file: file, line: lineNumber, message: "missing '\(header)' header")
                }
                let found = line.dropFirst(beginPrefix.count).trimmed
                guard found == version else {
                    throw ConfigError(
                        file: file, line: lineNumber,
                        message: "unsupported record version '\(ISCSIName.printable(found))' (expected '\(version)')")
                }
                begun = true
                continue
            }
            if line == footer {
                ended = true
                continue
            }
            if line.hasPrefix("#") { continue }
            guard let equals = line.firstIndex(of: "=") else {
                throw ConfigError(file: file, line: lineNumber, message: "expected 'key = value'")
            }
            let key = line[..<equals].trimmed
            let value = line[line.index(after: equals)...].trimmed
            if key.isEmpty {
                throw ConfigError(file: file, line: lineNumber, message: "missing key before '='")
            }
            if let previous = seen[key] {
                throw ConfigError(
                    file: file, line: lineNumber, key: ISCSIName.printable(key),
                    message: "given twice (first on line \(previous))")
            }
            seen[key] = lineNumber
            entries.append(Entry(key: key, value: value, line: lineNumber))
        }
        if !begun {
            throw ConfigError(file: file, message: "empty record (no '\(header)' header)")
        }
        if !ended {
            throw ConfigError(file: file, line: lastLine, message: "record is truncated: no '\(footer)'")
        }
        return entries
    }

    /// The record text for `entries` (already validated values).
    static func render(_ entries: [(key: String, value: String)]) throws -> String {
        var text = header + "\n"
        for entry in entries {
            if entry.value.contains(where: { $0.isNewline }) || entry.key.contains(where: { $0.isNewline }) {
                throw ConfigError(key: entry.key, message: "values cannot contain line breaks")
            }
            text += "\(entry.key) = \(entry.value)\n"
        }
        return text + footer + "\n"
    }
}

/// A name that is safe as one path component under our state directory.
func checkPathComponent(_ name: String, what: String) throws {
    func fail(_ reason: String) -> ConfigError {
        ConfigError(message: "invalid \(what) '\(ISCSIName.printable(name))': \(reason)")
    }
    if name.isEmpty { throw fail("empty") }
    if name.utf8.count > 255 { throw fail("longer than 255 bytes") }
    if name.hasPrefix(".") { throw fail("must not start with '.'") }
    if name.unicodeScalars.contains(where: { $0 == "/" || $0.value < 0x20 || $0.value == 0x7f }) {
        throw fail("must not contain '/' or control characters")
    }
}
