/// iSCSI name rules (RFC 3720 §3.2.6, RFC 3980 for `naa.`).
public enum ISCSIName {
    /// The longest iSCSI name allowed, in bytes of UTF-8.
    public static let maximumLength = 223

    /// The three name formats.
    public enum Format: String, Sendable {
        case iqn, eui, naa
    }

    /// Returns the format of a valid name, or throws a `ConfigError` (without location)
    /// explaining what is wrong with it.
    @discardableResult
    public static func validate(_ name: String) throws -> Format {
        do {
            return try check(name)
        } catch let error as ValueError {
            throw ConfigError(message: "invalid iSCSI name '\(printable(name))': \(error.message)")
        }
    }

    /// True when `name` is a valid iqn., eui. or naa. name.
    public static func isValid(_ name: String) -> Bool {
        (try? check(name)) != nil
    }

    static func check(_ name: String) throws -> Format {
        if name.isEmpty { throw ValueError("name is empty") }
        if name.utf8.count > maximumLength {
            throw ValueError("longer than \(maximumLength) bytes (\(name.utf8.count))")
        }
        let lower = name.lowercased()
        if lower.hasPrefix("iqn.") {
            if !name.hasPrefix("iqn.") { throw ValueError("the 'iqn.' prefix must be lowercase") }
            try checkIQN(name)
            return .iqn
        }
        if lower.hasPrefix("eui.") {
            if !name.hasPrefix("eui.") { throw ValueError("the 'eui.' prefix must be lowercase") }
            try checkHex(name.dropFirst(4), lengths: [16], what: "EUI-64")
            return .eui
        }
        if lower.hasPrefix("naa.") {
            if !name.hasPrefix("naa.") { throw ValueError("the 'naa.' prefix must be lowercase") }
            try checkHex(name.dropFirst(4), lengths: [16, 32], what: "NAA identifier")
            return .naa
        }
        throw ValueError("must start with 'iqn.', 'eui.' or 'naa.'")
    }

    /// `iqn.yyyy-mm.reversed.domain[:anything]`, lowercase ASCII letters, digits, '-', '.', ':'.
    private static func checkIQN(_ name: String) throws {
        for scalar in name.unicodeScalars {
            switch scalar {
            case "a"..."z", "0"..."9", "-", ".", ":":
                continue
            case "A"..."Z":
                throw ValueError("iqn names must be lowercase (found '\(Character(scalar))')")
            default:
                throw ValueError(
                    "character '\(printable(String(Character(scalar))))' is not allowed "
                        + "(use lowercase letters, digits, '-', '.', ':')")
            }
        }
        let body = name.dropFirst(4)
        let datePart = body.prefix(7)
        let dateBytes = Array(datePart.utf8)
        let isDigit: (UInt8) -> Bool = { $0 >= 0x30 && $0 <= 0x39 }
        guard dateBytes.count == 7, dateBytes[4] == UInt8(ascii: "-"),
            dateBytes[0..<4].allSatisfy(isDigit), dateBytes[5..<7].allSatisfy(isDigit)
        else {
            throw ValueError("expected a date 'yyyy-mm' after 'iqn.'")
        }
        let month = Int(String(datePart.suffix(2))) ?? 0
        if month < 1 || month > 12 { throw ValueError("month \(datePart.suffix(2)) is not 01-12") }
        let afterDate = body.dropFirst(7)
        guard afterDate.first == "." else {
            throw ValueError("expected '.' and a reversed domain name after the date")
        }
        let authority = afterDate.dropFirst().split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        guard let domain = authority.first, !domain.isEmpty else {
            throw ValueError("missing reversed domain name after the date")
        }
        for label in domain.split(separator: ".", omittingEmptySubsequences: false) {
            if label.isEmpty { throw ValueError("empty label in the domain name '\(domain)'") }
        }
    }

    private static func checkHex(_ digits: Substring, lengths: [Int], what: String) throws {
        let isHex = digits.unicodeScalars.allSatisfy {
            ("0"..."9").contains($0) || ("a"..."f").contains($0) || ("A"..."F").contains($0)
        }
        let expected = lengths.map(String.init).joined(separator: " or ")
        guard isHex, lengths.contains(digits.count) else {
            throw ValueError("\(what) must be \(expected) hexadecimal digits")
        }
    }

    /// The name with control characters escaped, safe to put in a one-line message.
    static func printable(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars.prefix(240) {
            if scalar.value < 0x20 || scalar.value == 0x7f {
                out += "\\u{\(String(scalar.value, radix: 16))}"
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
