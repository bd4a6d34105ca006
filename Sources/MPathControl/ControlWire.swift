import Foundation

/// The wire format of the control socket: one JSON object per line, UTF-8, newline-terminated,
/// at most `maximumLineBytes` per line including the newline. Keys are sorted so the bytes
/// of a message are stable.
public enum ControlWire {
    /// Largest line either side accepts (4 MiB), newline included.
    public static let maximumLineBytes = 4 * 1024 * 1024

    /// The control socket's file name inside the daemon's run directory.
    public static let socketFileName = "mpathd.sock"

    /// `<runDir>/mpathd.sock`.
    public static func socketPath(runDir: String) -> String {
        runDir.hasSuffix("/") ? runDir + socketFileName : runDir + "/" + socketFileName
    }

    /// A message as one line: compact JSON with sorted keys, then "\n".
    public static func encodeLine<Message: Encodable>(_ message: Message) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var bytes = [UInt8](try encoder.encode(message))
        bytes.append(UInt8(ascii: "\n"))
        guard bytes.count <= maximumLineBytes else {
            throw ControlError.protocolError("message of \(bytes.count) bytes exceeds the 4 MiB line limit")
        }
        return bytes
    }

    /// Decodes one line (without its newline); the error names what was wrong.
    public static func decode<Message: Decodable>(_ type: Message.Type, line: some Collection<UInt8>) throws -> Message {
        var body = Array(line)
        if body.last == UInt8(ascii: "\n") { body.removeLast() }
        if body.last == UInt8(ascii: "\r") { body.removeLast() }
        guard !body.isEmpty else { throw ControlError.protocolError("empty line") }
        guard String(validating: body, as: UTF8.self) != nil else {
            throw ControlError.protocolError("line is not valid UTF-8")
        }
        do {
            return try JSONDecoder().decode(Message.self, from: Data(body))
        } catch let error as DecodingError {
            throw ControlError.protocolError("not a valid \(Message.self): \(describe(error))")
        } catch {
            throw ControlError.protocolError("not a valid \(Message.self): \(error)")
        }
    }

    /// A one-line account of a decoding failure: what was wrong and where (coding path).
    static func describe(_ error: DecodingError) -> String {
        func at(_ path: [CodingKey]) -> String {
            let text = path.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
            return text.isEmpty ? "" : " at '\(text)'"
        }
        switch error {
        case .dataCorrupted(let context):
            if context.codingPath.isEmpty { return "not JSON" }
            return context.debugDescription + at(context.codingPath)
        case .keyNotFound(let key, let context):
            return "missing key '\(key.stringValue)'" + at(context.codingPath)
        case .typeMismatch(let type, let context):
            // At the top level this is the synthesized enum decoder finding no known case key.
            if context.codingPath.isEmpty { return "expected an object with exactly one known kind as its key" }
            return "expected \(type)" + at(context.codingPath)
        case .valueNotFound(let type, let context):
            return "missing \(type) value" + at(context.codingPath)
        @unknown default:
            return "\(error)"
        }
    }
}
