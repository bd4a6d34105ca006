/// One `key value` line of multipath.conf.
public struct ConfAttribute: Equatable, Sendable {
    /// The keyword.
    public var key: String
    /// The value: a bare word, or a quoted string with `""` unescaped.
    public var value: String
    /// File the attribute was read from.
    public var file: String
    /// 1-based line number.
    public var line: Int

    public init(key: String, value: String, file: String, line: Int) {
        self.key = key
        self.value = value
        self.file = file
        self.line = line
    }

    /// `file:line`, for messages.
    public var location: String { "\(file):\(line)" }
}

/// A `name { … }` section with its attributes and subsections, in file order.
public struct ConfSection: Equatable, Sendable {
    /// Section keyword ("" for the file's top level).
    public var name: String
    /// File the section was read from.
    public var file: String
    /// Line of the opening `name {` (0 for the top level).
    public var line: Int
    /// Attributes in file order.
    public var attributes: [ConfAttribute] = []
    /// Subsections in file order.
    public var sections: [ConfSection] = []

    public init(name: String, file: String, line: Int) {
        self.name = name
        self.file = file
        self.line = line
    }
}

/// The generic multipath.conf reader (multipath-tools grammar): sections `name {` … `}`,
/// `keyword value` lines, values bare or double-quoted (`""` is a literal quote), `#` and `!`
/// start comments outside quotes. It knows which sections nest where, but not which keywords
/// exist; that is the typed layer's job.
public enum MultipathConfTree {
    /// Subsections allowed in each section ("" = top level).
    static let grammar: [String: Set<String>] = [
        "": ["defaults", "blacklist", "blacklist_exceptions", "devices", "multipaths", "overrides"],
        "blacklist": ["device"],
        "blacklist_exceptions": ["device"],
        "devices": ["device"],
        "multipaths": ["multipath"],
        "overrides": ["protocol"],
    ]

    enum Token: Equatable {
        case word(String)
        case quoted(String)
        case open
        case close

        var text: String {
            switch self {
            case .word(let text), .quoted(let text): return text
            case .open: return "{"
            case .close: return "}"
            }
        }
    }

    /// Parses `text` into a section tree. Structural problems (unbalanced braces, unterminated
    /// quotes, unknown sections, missing values) throw with `file:line`; data ignored on a line
    /// becomes a warning.
    public static func parse(_ text: String, file: String) throws -> ParseResult<ConfSection> {
        var stack = [ConfSection(name: "", file: file, line: 0)]
        var diagnostics: [ConfigDiagnostic] = []

        for (index, rawLine) in splitLines(text).enumerated() {
            let lineNumber = index + 1
            let tokens = try tokenize(rawLine, file: file, line: lineNumber)
            guard let first = tokens.first else { continue }
            let current = stack[stack.count - 1].name
            func ignoreExtra(from position: Int) {
                if tokens.count > position {
                    diagnostics.append(
                        ConfigDiagnostic(
                            file: file, line: lineNumber,
                            message: "ignoring extra data starting with '\(ISCSIName.printable(tokens[position].text))'"))
                }
            }

            switch first {
            case .close:
                guard stack.count > 1 else {
                    throw ConfigError(file: file, line: lineNumber, message: "unbalanced braces: '}' without an open section")
                }
                let finished = stack.removeLast()
                stack[stack.count - 1].sections.append(finished)
                ignoreExtra(from: 1)
            case .open:
                throw ConfigError(file: file, line: lineNumber, message: "'{' without a section name")
            case .word(let name), .quoted(let name):
                let allowed = grammar[current] ?? []
                if tokens.count >= 2, tokens[1] == .open {
                    guard case .word = first, allowed.contains(name) else {
                        throw ConfigError(
                            file: file, line: lineNumber,
                            message: "unknown section '\(ISCSIName.printable(name))' in \(describe(current))"
                                + " (allowed: \(allowed.isEmpty ? "none" : allowed.sorted().joined(separator: ", ")))")
                    }
                    if tokens.count > 2 {
                        throw ConfigError(
                            file: file, line: lineNumber,
                            message: "unexpected '\(ISCSIName.printable(tokens[2].text))' after '\(name) {'; "
                                + "put each attribute and the closing '}' on its own line")
                    }
                    stack.append(ConfSection(name: name, file: file, line: lineNumber))
                    continue
                }
                if case .word = first, allowed.contains(name) {
                    throw ConfigError(
                        file: file, line: lineNumber,
                        message: "section '\(name)' must be followed by '{' on the same line")
                }
                if stack.count == 1 {
                    throw ConfigError(
                        file: file, line: lineNumber,
                        message: "'\(ISCSIName.printable(name))' is outside of any section "
                            + "(expected one of: \(allowed.sorted().joined(separator: ", ")))")
                }
                guard tokens.count >= 2 else {
                    throw ConfigError(file: file, line: lineNumber, key: ISCSIName.printable(name), message: "missing value")
                }
                switch tokens[1] {
                case .word(let value), .quoted(let value):
                    stack[stack.count - 1].attributes.append(
                        ConfAttribute(key: name, value: value, file: file, line: lineNumber))
                    ignoreExtra(from: 2)
                case .open, .close:
                    throw ConfigError(
                        file: file, line: lineNumber, key: ISCSIName.printable(name),
                        message: "missing value before '\(tokens[1].text)'")
                }
            }
        }
        if stack.count > 1 {
            let open = stack[stack.count - 1]
            throw ConfigError(
                file: file, line: open.line,
                message: "unbalanced braces: section '\(open.name)' opened here is not closed")
        }
        return ParseResult(value: stack[0], diagnostics: diagnostics)
    }

    private static func describe(_ section: String) -> String {
        section.isEmpty ? "the top level" : "section '\(section)'"
    }

    /// Splits one line into tokens: braces stand alone, quotes group, comments end the line.
    static func tokenize(_ line: Substring, file: String, line lineNumber: Int) throws -> [Token] {
        var tokens: [Token] = []
        let scalars = Array(line.unicodeScalars)
        var index = 0
        var word = ""
        func flushWord() {
            if !word.isEmpty {
                tokens.append(.word(word))
                word = ""
            }
        }
        while index < scalars.count {
            let scalar = scalars[index]
            switch scalar {
            case " ", "\t", "\r", "\u{0B}", "\u{0C}":
                flushWord()
            case "#", "!":
                // Bare words cannot contain these, so outside quotes they always start a
                // comment; a regex such as "!^sd" has to be quoted.
                flushWord()
                index = scalars.count
                continue
            case "{":
                flushWord()
                tokens.append(.open)
            case "}":
                flushWord()
                tokens.append(.close)
            case "\"":
                flushWord()
                var value = ""
                var closed = false
                index += 1
                while index < scalars.count {
                    if scalars[index] == "\"" {
                        if index + 1 < scalars.count && scalars[index + 1] == "\"" {
                            value.unicodeScalars.append("\"")
                            index += 2
                            continue
                        }
                        closed = true
                        break
                    }
                    value.unicodeScalars.append(scalars[index])
                    index += 1
                }
                if !closed {
                    throw ConfigError(file: file, line: lineNumber, message: "unterminated quoted string")
                }
                tokens.append(.quoted(value))
            default:
                word.unicodeScalars.append(scalar)
            }
            index += 1
        }
        flushWord()
        return tokens
    }
}
