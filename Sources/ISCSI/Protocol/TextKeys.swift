/// iSCSI text key=value data segments (RFC 7143 §6.1) and the value encodings used in them.

/// Why a text data segment or a single value could not be understood.
public enum TextKeyError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A record has no '=' (the partial key is quoted, truncated).
    case missingEquals(key: String)
    /// A record starts with '='.
    case emptyKey
    /// A key contains a byte outside the RFC 7143 key alphabet or does not start with a letter.
    case illegalKey(key: String)
    /// A key is longer than 63 bytes.
    case keyTooLong(key: String, length: Int)
    /// A value is longer than the allowed maximum.
    case valueTooLong(key: String, length: Int, limit: Int)
    /// The data does not end with the NUL that terminates every record.
    case missingTerminator(key: String)
    /// A key appears twice in one negotiation.
    case duplicateKey(String)
    /// An empty record (two NULs in a row) inside the data.
    case emptyRecord(offset: Int)
    /// Key or value is not valid UTF-8.
    case notUTF8(key: String?)
    /// A value does not have the form its key requires.
    case invalidValue(key: String, value: String, reason: String)

    public var description: String {
        switch self {
        case .missingEquals(let key):
            return "text key \"\(key)\" has no '=' and no value"
        case .emptyKey:
            return "text record starts with '=' (empty key name)"
        case .illegalKey(let key):
            return "text key \"\(key)\" contains characters not allowed in iSCSI key names"
        case .keyTooLong(let key, let length):
            return "text key \"\(key)…\" is \(length) bytes long (at most 63 allowed)"
        case .valueTooLong(let key, let length, let limit):
            return "value of \(key) is \(length) bytes long (at most \(limit) allowed)"
        case .missingTerminator(let key):
            return "text data ends inside the record for \"\(key)\" (missing final NUL)"
        case .duplicateKey(let key):
            return "text key \(key) appears more than once"
        case .emptyRecord(let offset):
            return "empty text record (two NULs in a row) at byte \(offset)"
        case .notUTF8(let key):
            if let key { return "value of \(key) is not valid UTF-8" }
            return "text key is not valid UTF-8"
        case .invalidValue(let key, let value, let reason):
            return "invalid value \(TextKeyError.quote(value)) for \(key): \(reason)"
        }
    }

    /// Quotes a peer-supplied value for an error message, cut to a readable length.
    static func quote(_ value: String) -> String {
        let limit = 64
        if value.utf8.count <= limit { return "\"\(value)\"" }
        return "\"\(String(decoding: value.utf8.prefix(limit), as: UTF8.self))…\""
    }
}

/// One key=value pair.
public struct TextKeyValue: Equatable, Hashable, Sendable {
    public var key: String
    public var value: String

    public init(key: String, value: String) {
        self.key = key
        self.value = value
    }
}

/// Limits applied while parsing a text data segment.
public struct TextParseOptions: Equatable, Sendable {
    /// Whether a key may repeat (SendTargets responses list many TargetName/TargetAddress pairs).
    public var allowDuplicateKeys: Bool
    /// Longest accepted value in bytes.
    public var maxValueLength: Int

    public init(allowDuplicateKeys: Bool, maxValueLength: Int) {
        self.allowDuplicateKeys = allowDuplicateKeys
        self.maxValueLength = maxValueLength
    }

    /// Login and operational negotiation: every key once, values up to 8192 bytes.
    public static let negotiation = TextParseOptions(allowDuplicateKeys: false, maxValueLength: 8192)
    /// SendTargets text responses: repeated keys allowed.
    public static let sendTargets = TextParseOptions(allowDuplicateKeys: true, maxValueLength: 65536)
}

/// An ordered list of key=value pairs as carried in Login and Text PDUs.
public struct TextParameters: Equatable, Sendable, RandomAccessCollection, ExpressibleByDictionaryLiteral {
    /// RFC 7143 §6.1: key names are at most 63 bytes.
    public static let maxKeyLength = 63

    /// The pairs in wire order.
    public private(set) var entries: [TextKeyValue]

    public init() { entries = [] }

    public init(_ entries: [TextKeyValue]) { self.entries = entries }

    public init(dictionaryLiteral elements: (String, String)...) {
        entries = elements.map { TextKeyValue(key: $0.0, value: $0.1) }
    }

    public var startIndex: Int { entries.startIndex }
    public var endIndex: Int { entries.endIndex }
    public subscript(position: Int) -> TextKeyValue { entries[position] }

    /// The first value stored for `key`.
    public subscript(key: String) -> String? {
        entries.first(where: { $0.key == key })?.value
    }

    /// Every value stored for `key`, in order (for SendTargets responses).
    public func values(for key: String) -> [String] {
        entries.filter { $0.key == key }.map(\.value)
    }

    /// Whether `key` is present.
    public func contains(key: String) -> Bool {
        entries.contains(where: { $0.key == key })
    }

    /// Appends a pair, keeping any earlier pair with the same key.
    public mutating func append(_ key: String, _ value: String) {
        entries.append(TextKeyValue(key: key, value: value))
    }

    /// Replaces the value of `key` in place, or appends it when absent.
    public mutating func set(_ key: String, _ value: String) {
        if let index = entries.firstIndex(where: { $0.key == key }) {
            entries[index].value = value
        } else {
            entries.append(TextKeyValue(key: key, value: value))
        }
    }

    /// Appends all pairs of `other`.
    public mutating func append(contentsOf other: TextParameters) {
        entries.append(contentsOf: other.entries)
    }

    /// Removes every pair for `key`, returning the first removed value.
    @discardableResult
    public mutating func remove(_ key: String) -> String? {
        let first = self[key]
        entries.removeAll(where: { $0.key == key })
        return first
    }

    /// The wire form: each pair as `key=value` followed by one NUL.
    public func encode() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(entries.reduce(0) { $0 + $1.key.utf8.count + $1.value.utf8.count + 2 })
        for entry in entries {
            out.append(contentsOf: entry.key.utf8)
            out.append(UInt8(ascii: "="))
            out.append(contentsOf: entry.value.utf8)
            out.append(0)
        }
        return out
    }

    /// Encodes `parameters` (static spelling for call sites that prefer it).
    public static func encode(_ parameters: TextParameters) -> [UInt8] { parameters.encode() }

    /// Parses a complete logical text data segment (all continuation PDUs joined).
    ///
    /// A run of NULs after the last record is tolerated (some peers include the PDU padding);
    /// an empty record in the middle is an error.
    public static func parse<Bytes: Collection>(
        _ bytes: Bytes,
        options: TextParseOptions = .negotiation
    ) throws(TextKeyError) -> TextParameters where Bytes.Element == UInt8 {
        let data = Array(bytes)
        var result = TextParameters()
        var seen = Set<String>()
        var start = 0
        while start < data.count {
            guard let end = data[start...].firstIndex(of: 0) else {
                let partial = data[start...].prefix(while: { $0 != UInt8(ascii: "=") })
                throw .missingTerminator(key: printable(partial.prefix(maxKeyLength)))
            }
            if end == start {
                // Empty record: fine only as trailing padding.
                if data[start...].allSatisfy({ $0 == 0 }) { break }
                throw .emptyRecord(offset: start)
            }
            let record = data[start..<end]
            guard let equals = record.firstIndex(of: UInt8(ascii: "=")) else {
                throw .missingEquals(key: printable(record.prefix(maxKeyLength)))
            }
            let keyBytes = record[start..<equals]
            let valueBytes = record[(equals + 1)...]
            let key = try validatedKey(keyBytes)
            guard valueBytes.count <= options.maxValueLength else {
                throw .valueTooLong(key: key, length: valueBytes.count, limit: options.maxValueLength)
            }
            guard let value = decodeUTF8(valueBytes) else {
                throw .notUTF8(key: key)
            }
            if !options.allowDuplicateKeys {
                guard seen.insert(key).inserted else { throw .duplicateKey(key) }
            }
            result.entries.append(TextKeyValue(key: key, value: value))
            start = end + 1
        }
        return result
    }

    /// Checks a key against RFC 7143 §6.1: a letter, then letters, digits and `.-+@_`;
    /// vendor keys `X-…` and IANA-registered `X#…` are allowed.
    private static func validatedKey(_ bytes: ArraySlice<UInt8>) throws(TextKeyError) -> String {
        guard !bytes.isEmpty else { throw .emptyKey }
        guard let key = decodeUTF8(bytes) else { throw .notUTF8(key: nil) }
        guard bytes.count <= maxKeyLength else {
            throw .keyTooLong(key: printable(bytes.prefix(maxKeyLength)), length: bytes.count)
        }
        for (offset, byte) in bytes.enumerated() {
            let allowed: Bool
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"):
                allowed = true
            case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "-"),
                UInt8(ascii: "+"), UInt8(ascii: "@"), UInt8(ascii: "_"):
                allowed = offset > 0
            case UInt8(ascii: "#"):
                allowed = offset == 1 && bytes.first == UInt8(ascii: "X")
            default:
                allowed = false
            }
            guard allowed else { throw .illegalKey(key: key) }
        }
        return key
    }

    /// Renders untrusted bytes for an error message (invalid UTF-8 becomes U+FFFD).
    private static func printable<S: Sequence>(_ bytes: S) -> String where S.Element == UInt8 {
        String(decoding: Array(bytes), as: UTF8.self)
    }
}

extension TextParameters {
    /// Strict UTF-8 decoding: nil instead of replacement characters.
    static func decodeUTF8<C: Collection>(_ bytes: C) -> String? where C.Element == UInt8 {
        var decoded = ""
        var iterator = bytes.makeIterator()
        var codec = UTF8()
        while true {
            switch codec.decode(&iterator) {
            case .scalarValue(let scalar): decoded.unicodeScalars.append(scalar)
            case .emptyInput: return decoded
            case .error: return nil
            }
        }
    }
}

/// Encoders and decoders for the value types of RFC 7143 §6.1. Every decoder names the key
/// in its error so the message says which parameter was wrong.
public enum TextValue {
    /// Value meaning "the receiver does not know this key".
    public static let notUnderstood = "NotUnderstood"
    /// Value meaning "this key does not apply given other negotiated values".
    public static let irrelevant = "Irrelevant"
    /// Value meaning "the offered value is not acceptable".
    public static let reject = "Reject"

    /// Splits a list-of-values ("a,b,c"). Empty elements are an error.
    public static func list(_ value: String, key: String) throws(TextKeyError) -> [String] {
        let items = value.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        guard !items.contains(where: \.isEmpty) else {
            throw .invalidValue(key: key, value: value, reason: "empty element in list")
        }
        return items
    }

    /// Joins list elements with commas.
    public static func encodeList(_ items: [String]) -> String { items.joined(separator: ",") }

    /// Decodes a boolean-value: exactly "Yes" or "No".
    public static func boolean(_ value: String, key: String) throws(TextKeyError) -> Bool {
        switch value {
        case "Yes": return true
        case "No": return false
        default: throw .invalidValue(key: key, value: value, reason: "expected Yes or No")
        }
    }

    /// Encodes a boolean-value.
    public static func encodeBoolean(_ value: Bool) -> String { value ? "Yes" : "No" }

    /// Decodes a numerical value: decimal, `0x` hex, or `0b` base64 (big-endian) below 2^64.
    public static func number(_ value: String, key: String) throws(TextKeyError) -> UInt64 {
        let utf8 = Array(value.utf8)
        if utf8.count > 2, utf8[0] == UInt8(ascii: "0"),
            utf8[1] == UInt8(ascii: "x") || utf8[1] == UInt8(ascii: "X")
                || utf8[1] == UInt8(ascii: "b") || utf8[1] == UInt8(ascii: "B")
        {
            let bytes = try binary(value, key: key)
            let significant = bytes.drop(while: { $0 == 0 })
            guard significant.count <= 8 else {
                throw .invalidValue(key: key, value: value, reason: "number does not fit in 64 bits")
            }
            return significant.reduce(0) { $0 << 8 | UInt64($1) }
        }
        guard !utf8.isEmpty, utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else {
            throw .invalidValue(key: key, value: value, reason: "expected a decimal, 0x hex or 0b base64 number")
        }
        guard let number = UInt64(value) else {
            throw .invalidValue(key: key, value: value, reason: "number does not fit in 64 bits")
        }
        return number
    }

    /// Decodes a number and checks it lies in `range`.
    public static func number(
        _ value: String, key: String, in range: ClosedRange<UInt64>
    ) throws(TextKeyError) -> UInt64 {
        let number = try number(value, key: key)
        guard range.contains(number) else {
            throw .invalidValue(
                key: key, value: value,
                reason: "out of range \(range.lowerBound)...\(range.upperBound)")
        }
        return number
    }

    /// Decodes a binary value written as `0x` hex (an odd digit count implies a leading zero)
    /// or `0b` base64 (RFC 4648 alphabet, padding optional).
    public static func binary(_ value: String, key: String) throws(TextKeyError) -> [UInt8] {
        let utf8 = Array(value.utf8)
        guard utf8.count > 2, utf8[0] == UInt8(ascii: "0") else {
            throw .invalidValue(key: key, value: value, reason: "expected 0x hex or 0b base64 binary value")
        }
        let body = utf8[2...]
        switch utf8[1] {
        case UInt8(ascii: "x"), UInt8(ascii: "X"):
            guard let bytes = decodeHex(body) else {
                throw .invalidValue(key: key, value: value, reason: "invalid hex digit")
            }
            return bytes
        case UInt8(ascii: "b"), UInt8(ascii: "B"):
            guard let bytes = decodeBase64(body) else {
                throw .invalidValue(key: key, value: value, reason: "invalid base64 encoding")
            }
            return bytes
        default:
            throw .invalidValue(key: key, value: value, reason: "expected 0x hex or 0b base64 binary value")
        }
    }

    /// Encodes bytes as `0x` followed by lowercase hex.
    public static func encodeHex<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        let digits = Array("0123456789abcdef".utf8)
        var out = Array("0x".utf8)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Encodes bytes as `0b` followed by padded base64.
    public static func encodeBase64<Bytes: Collection>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        let input = Array(bytes)
        var out = Array("0b".utf8)
        var index = 0
        while index < input.count {
            let b0 = UInt32(input[index])
            let b1 = index + 1 < input.count ? UInt32(input[index + 1]) : 0
            let b2 = index + 2 < input.count ? UInt32(input[index + 2]) : 0
            let triple = b0 << 16 | b1 << 8 | b2
            out.append(alphabet[Int(triple >> 18 & 0x3F)])
            out.append(alphabet[Int(triple >> 12 & 0x3F)])
            out.append(index + 1 < input.count ? alphabet[Int(triple >> 6 & 0x3F)] : UInt8(ascii: "="))
            out.append(index + 2 < input.count ? alphabet[Int(triple & 0x3F)] : UInt8(ascii: "="))
            index += 3
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Encodes a number as decimal (the form every peer accepts).
    public static func encodeNumber(_ value: UInt64) -> String { String(value) }

    private static func hexNibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }

    private static func decodeHex(_ digits: ArraySlice<UInt8>) -> [UInt8]? {
        guard !digits.isEmpty else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(digits.count / 2 + 1)
        var iterator = digits.makeIterator()
        if digits.count % 2 == 1 {
            guard let first = iterator.next(), let low = hexNibble(first) else { return nil }
            out.append(low)
        }
        while let highChar = iterator.next() {
            guard let lowChar = iterator.next(), let high = hexNibble(highChar), let low = hexNibble(lowChar) else {
                return nil
            }
            out.append(high << 4 | low)
        }
        return out
    }

    private static func base64Value(_ c: UInt8) -> UInt32? {
        switch c {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): return UInt32(c - UInt8(ascii: "A"))
        case UInt8(ascii: "a")...UInt8(ascii: "z"): return UInt32(c - UInt8(ascii: "a") + 26)
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return UInt32(c - UInt8(ascii: "0") + 52)
        case UInt8(ascii: "+"): return 62
        case UInt8(ascii: "/"): return 63
        default: return nil
        }
    }

    private static func decodeBase64(_ text: ArraySlice<UInt8>) -> [UInt8]? {
        // Padding may only appear at the end, at most two '='.
        let padding = text.reversed().prefix(while: { $0 == UInt8(ascii: "=") }).count
        let body = text.dropLast(padding)
        guard !body.isEmpty, padding <= 2 else { return nil }
        if padding > 0, (body.count + padding) % 4 != 0 { return nil }
        // A single leftover symbol carries only 6 bits: not a whole byte.
        guard body.count % 4 != 1 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(body.count * 3 / 4)
        var accumulator: UInt32 = 0
        var bits = 0
        for c in body {
            guard let v = base64Value(c) else { return nil }
            accumulator = accumulator << 6 | v
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8(truncatingIfNeeded: accumulator >> UInt32(bits)))
                accumulator &= (1 << UInt32(bits)) - 1
            }
        }
        // Leftover bits must be zero for a canonical encoding.
        guard accumulator == 0 else { return nil }
        return out
    }
}

/// A portal as written in TargetAddress values: `host[:port][,tpgt]`, IPv6 hosts in brackets.
public struct TargetAddress: Equatable, Hashable, Sendable, CustomStringConvertible {
    /// IANA-assigned iSCSI port.
    public static let defaultPort: UInt16 = 3260

    /// Host name or IP literal (IPv6 without brackets).
    public var host: String
    public var port: UInt16
    /// Target portal group tag, when the value carries one.
    public var portalGroupTag: UInt16?

    public init(host: String, port: UInt16 = TargetAddress.defaultPort, portalGroupTag: UInt16? = nil) {
        self.host = host
        self.port = port
        self.portalGroupTag = portalGroupTag
    }

    /// Parses a TargetAddress value.
    public init(parsing value: String) throws(TextKeyError) {
        func invalid(_ reason: String) -> TextKeyError {
            .invalidValue(key: "TargetAddress", value: value, reason: reason)
        }
        var rest = Substring(value)
        var tag: UInt16?
        if let comma = rest.lastIndex(of: ",") {
            guard let parsed = UInt16(rest[rest.index(after: comma)...]) else {
                throw invalid("portal group tag is not a number 0...65535")
            }
            tag = parsed
            rest = rest[..<comma]
        }
        var host: Substring
        var portText: Substring?
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { throw invalid("unterminated '[' in IPv6 address") }
            host = rest[rest.index(after: rest.startIndex)..<close]
            let after = rest[rest.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw invalid("unexpected text after ']'") }
                portText = after.dropFirst()
            }
        } else {
            let colons = rest.filter { $0 == ":" }.count
            if colons == 1, let colon = rest.firstIndex(of: ":") {
                host = rest[..<colon]
                portText = rest[rest.index(after: colon)...]
            } else if colons == 0 {
                host = rest
            } else {
                throw invalid("IPv6 address must be written in brackets")
            }
        }
        guard !host.isEmpty else { throw invalid("empty host") }
        guard !host.contains(where: { $0 == " " || $0 == "[" || $0 == "]" || $0 == "," }) else {
            throw invalid("illegal character in host")
        }
        var port = TargetAddress.defaultPort
        if let portText {
            guard let parsed = UInt16(portText), parsed != 0 else { throw invalid("port is not a number 1...65535") }
            port = parsed
        }
        self.init(host: String(host), port: port, portalGroupTag: tag)
    }

    /// The TargetAddress wire form.
    public var description: String {
        let hostPart = host.contains(":") ? "[\(host)]" : host
        let base = "\(hostPart):\(port)"
        if let portalGroupTag { return "\(base),\(portalGroupTag)" }
        return base
    }
}
