import Foundation

/// A configuration problem that stops a file or record from being used.
///
/// The description reads like a compiler diagnostic (`file:line: key: message`) so an
/// administrator can jump straight to the offending line. Values of secret keys are never
/// part of the message.
public struct ConfigError: Error, Equatable, Sendable, CustomStringConvertible, LocalizedError {
    /// The file (or other source, such as "command line") the problem was found in.
    public var file: String?
    /// 1-based line number, when the problem belongs to one line.
    public var line: Int?
    /// The configuration key involved, when there is one.
    public var key: String?
    /// What was wrong and, where it helps, what is allowed.
    public var message: String

    public init(file: String? = nil, line: Int? = nil, key: String? = nil, message: String) {
        self.file = file
        self.line = line
        self.key = key
        self.message = message
    }

    public var description: String {
        var text = ""
        if let file {
            text += file
            if let line { text += ":\(line)" }
            text += ": "
        } else if let line {
            text += "line \(line): "
        }
        if let key { text += "\(key): " }
        return text + message
    }

    public var errorDescription: String? { description }

    /// The same error attributed to a file and line, keeping any location already known.
    func located(file: String?, line: Int?) -> ConfigError {
        var copy = self
        if copy.file == nil { copy.file = file }
        if copy.line == nil { copy.line = line }
        return copy
    }
}

/// A non-fatal finding (unknown key, ignored data) reported alongside a parse result.
public struct ConfigDiagnostic: Equatable, Sendable, CustomStringConvertible {
    /// The file the finding belongs to.
    public var file: String
    /// 1-based line number.
    public var line: Int
    /// What was noticed and what was done about it.
    public var message: String

    public init(file: String, line: Int, message: String) {
        self.file = file
        self.line = line
        self.message = message
    }

    public var description: String { "\(file):\(line): warning: \(message)" }
}

/// A parsed value together with the warnings produced while parsing it.
public struct ParseResult<Value> {
    /// The parsed value.
    public var value: Value
    /// Warnings in file order.
    public var diagnostics: [ConfigDiagnostic]

    public init(value: Value, diagnostics: [ConfigDiagnostic]) {
        self.value = value
        self.diagnostics = diagnostics
    }
}

extension ParseResult: Equatable where Value: Equatable {}

/// Error raised by value validators before the caller knows the file and line.
struct ValueError: Error {
    var message: String
    init(_ message: String) { self.message = message }
}
