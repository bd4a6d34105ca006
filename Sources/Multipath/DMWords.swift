/// A problem found while reading the words of a device-mapper line; each parser adds its
/// own prefix ("dm table: ", "dm status: ") when it turns this into its public error.
struct DMSyntaxError: Error, Equatable {
    let message: String
}

/// A cursor over the whitespace-separated words of one device-mapper line.
///
/// Every read is bounds-checked and every count is range-checked before use, so hostile input
/// can only produce a `DMSyntaxError`, never a trap or a huge allocation.
struct DMWordReader {
    private let words: [Substring]
    private(set) var position = 0

    /// Splits `line` into words. More than one non-empty line is refused: `dmsetup` prints one
    /// line per target, and a second target would silently become garbage words here.
    init(line: String, what: String) throws(DMSyntaxError) {
        let trimmed = Self.trimmed(line)
        if trimmed.contains(where: { $0 == "\n" || $0 == "\r" }) {
            throw DMSyntaxError(message: "expected one \(what) line, found several")
        }
        words = trimmed.split(whereSeparator: { $0 == " " || $0 == "\t" })
    }

    var isAtEnd: Bool { position >= words.count }
    var remaining: Int { max(0, words.count - position) }

    /// The word at `offset` from the cursor, if there is one.
    func peek(_ offset: Int = 0) -> Substring? {
        let index = position + offset
        return index >= 0 && index < words.count ? words[index] : nil
    }

    /// "near 'word'" for the word at the cursor, or "at end of line"; words are shortened so a
    /// garbage line cannot flood a log.
    var near: String {
        guard let word = peek() else { return "at end of line" }
        return "near '\(Self.shortened(word))'"
    }

    static func shortened(_ word: Substring) -> String {
        word.count > 40 ? String(word.prefix(40)) + "…" : String(word)
    }

    mutating func skip(_ count: Int = 1) {
        position = min(words.count, position + count)
    }

    /// Reads one word that must be present.
    mutating func word(_ what: String) throws(DMSyntaxError) -> Substring {
        guard let word = peek() else {
            throw DMSyntaxError(message: "expected \(what), found end of line")
        }
        position += 1
        return word
    }

    /// Reads a decimal count and checks it against `range`, like the kernel's `dm_read_arg`.
    mutating func count(_ what: String, in range: ClosedRange<Int>) throws(DMSyntaxError) -> Int {
        let word = try self.word(what)
        guard let value = Self.decimal(word) else {
            throw DMSyntaxError(message: "expected \(what), found '\(Self.shortened(word))'")
        }
        guard range.contains(value) else {
            throw DMSyntaxError(message: "\(what) must be \(range.lowerBound)...\(range.upperBound), found \(value)")
        }
        return value
    }

    /// Reads an unsigned 64-bit decimal (sector numbers).
    mutating func uint64(_ what: String) throws(DMSyntaxError) -> UInt64 {
        let word = try self.word(what)
        guard word.allSatisfy(Self.isDigit), let value = UInt64(word) else {
            throw DMSyntaxError(message: "expected \(what), found '\(Self.shortened(word))'")
        }
        return value
    }

    /// Reads exactly `count` words, which must all be present.
    mutating func take(_ count: Int, _ what: String) throws(DMSyntaxError) -> [String] {
        guard remaining >= count else {
            throw DMSyntaxError(message: "expected \(count) \(what), found \(remaining)")
        }
        let slice = words[position..<(position + count)].map(String.init)
        position += count
        return slice
    }

    /// Strict unsigned decimal: digits only (no sign, no spaces), at most 18 digits so the
    /// conversion cannot overflow.
    static func decimal(_ word: Substring) -> Int? {
        guard !word.isEmpty, word.count <= 18, word.allSatisfy(Self.isDigit) else { return nil }
        return Int(word)
    }

    /// Reads the optional `[name:] <start> <length> multipath` prefix that `dmsetup table` and
    /// `dmsetup status` print before the target parameters. Without it the line is taken to be
    /// the bare parameters and start and length are 0.
    mutating func header() throws(DMSyntaxError) -> (start: UInt64, length: UInt64) {
        if let first = peek(), first.count > 1, first.hasSuffix(":") {
            skip()
        }
        if let type = peek(2), type == "multipath" {
            let start = try uint64("start sector")
            let length = try uint64("length in sectors")
            skip()
            return (start, length)
        }
        if let type = peek(2), Self.decimal(peek() ?? "") != nil, Self.decimal(peek(1) ?? "") != nil,
           Self.otherTargetTypes.contains(String(type)) {
            throw DMSyntaxError(message: "target type is '\(type)', expected 'multipath'")
        }
        return (0, 0)
    }

    /// ASCII 0-9 only (`Character.isNumber` also accepts other scripts' digits).
    static func isDigit(_ c: Character) -> Bool { ("0"..."9").contains(c) }

    /// `text` without leading and trailing spaces, tabs and line breaks (multipath-tools and
    /// the kernel leave a trailing space on table and status lines).
    static func trimmed<S: StringProtocol>(_ text: S) -> Substring {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        let whole = Substring(text)
        guard let first = whole.firstIndex(where: { !isSpace($0) }),
              let last = whole.lastIndex(where: { !isSpace($0) }) else { return "" }
        return whole[first...last]
    }

    /// Device-mapper target types that are not multipath, to name the mistake when someone
    /// feeds another device's table to the multipath parser.
    private static let otherTargetTypes: Set<String> = [
        "linear", "striped", "error", "zero", "crypt", "snapshot", "snapshot-origin", "thin",
        "thin-pool", "mirror", "raid", "delay", "flakey", "cache", "era", "verity", "integrity",
        "writecache", "vdo", "dust", "clone", "ebs", "switch", "log-writes", "unstriped",
    ]
}

/// Shape checks for the device word of a table or status line.
enum DMDevice {
    /// Selector names, which must never be taken for a device: a group with fewer paths than
    /// declared otherwise swallows the next group's selector as a "device".
    static let selectorNames: Set<String> = [
        "round-robin", "queue-length", "service-time", "historical-service-time", "io-affinity",
    ]

    /// A device is `major:minor`, an absolute node path, or a userspace path id (at least two
    /// characters starting with a letter, e.g. "p1" or "ip-127.0.0.2:3260-iscsi-...-lun-1"; a
    /// single letter is a status state word, never a path).
    static func isPlausible(_ word: Substring) -> Bool {
        guard let first = word.first else { return false }
        if first == "/" { return word.count > 1 }
        if let colon = word.firstIndex(of: ":") {
            let major = word[..<colon]
            let minor = word[word.index(after: colon)...]
            if DMWordReader.decimal(major) != nil, DMWordReader.decimal(minor) != nil { return true }
        }
        return word.count >= 2 && first.isLetter && first.isASCII && !selectorNames.contains(String(word))
    }
}
