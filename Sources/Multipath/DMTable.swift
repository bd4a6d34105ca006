/// A malformed device-mapper multipath table, with the reason and where it was noticed.
public struct DMTableError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Full text, e.g. "dm table: expected 2 paths in group 1, found 1 (near 'round-robin')".
    public let message: String

    public init(_ message: String) { self.message = message }

    public var description: String { message }
}

/// One path of a priority group: the device and its per-path selector arguments.
public struct DMPath: Equatable, Hashable, Sendable {
    /// `major:minor`, a device node path, or a userspace path id.
    public var device: String
    /// Per-path selector arguments, e.g. `["1"]` (repeat count) or `["1", "1"]` for service-time.
    public var args: [String]

    public init(device: String, args: [String] = []) {
        self.device = device
        self.args = args
    }
}

/// One priority group: a path selector and the paths it chooses among.
public struct DMPathGroup: Equatable, Hashable, Sendable {
    /// Selector name, e.g. "service-time".
    public var selector: String
    /// Selector arguments (the words after the selector's argument count; usually none).
    public var selectorArgs: [String]
    /// Number of arguments every path in this group carries.
    public var pathArgCount: Int
    /// Paths in table order (1...1024 of them).
    public var paths: [DMPath]

    /// `pathArgCount` defaults to the argument count of the first path.
    public init(selector: String = "service-time", selectorArgs: [String] = [], pathArgCount: Int? = nil,
                paths: [DMPath]) {
        self.selector = selector
        self.selectorArgs = selectorArgs
        self.pathArgCount = pathArgCount ?? paths.first?.args.count ?? 0
        self.paths = paths
    }
}

/// The device-mapper `multipath` target table, exactly as the kernel's constructor takes it
/// and as `dmsetup table` prints it:
///
///     <start> <length> multipath <#features> <features…> <#hw> <hw…> <#groups> <initial>
///       {<selector> <#selargs> <selargs…> <#paths> <#pathargs> {<dev> <args…>}}
public struct DMMultipathTable: Equatable, Hashable, Sendable {
    /// Kernel limits from `dm-mpath.c` (`parse_features`, `parse_hw_handler`, `multipath_ctr`,
    /// `parse_priority_group`, `parse_path_selector`).
    public static let maxFeatureArgs = 8
    public static let maxHardwareHandlerArgs = 1024
    public static let maxGroups = 1024
    public static let maxPathsPerGroup = 1024
    public static let maxSelectorArgs = 1024
    public static let maxPathArgs = 1024

    /// First sector (512-byte units) of the target; 0 for a whole-device map.
    public var start: UInt64
    /// Length in 512-byte sectors.
    public var length: UInt64
    /// Feature words after the count, e.g. `["queue_if_no_path"]` or `["pg_init_retries", "50"]`.
    public var features: [String]
    /// Hardware handler words after the count, e.g. `["alua"]`, or empty.
    public var hardwareHandler: [String]
    /// 1-based group the kernel tries first; 0 exactly when there are no groups.
    public var initialGroup: Int
    /// Priority groups in table order; group numbers in messages count from 1.
    public var groups: [DMPathGroup]

    /// `initialGroup` defaults to 1 when there are groups and 0 otherwise.
    public init(start: UInt64 = 0, length: UInt64, features: [String] = [], hardwareHandler: [String] = [],
                initialGroup: Int? = nil, groups: [DMPathGroup]) {
        self.start = start
        self.length = length
        self.features = features
        self.hardwareHandler = hardwareHandler
        self.initialGroup = initialGroup ?? (groups.isEmpty ? 0 : 1)
        self.groups = groups
    }

    /// Whether IO is queued (not failed) while no path is usable.
    public var queueIfNoPath: Bool {
        features.contains { $0.lowercased() == "queue_if_no_path" }
    }

    /// The target parameters: everything after `<start> <length> multipath`.
    public var parameters: String {
        var words: [String] = []
        words.append(String(features.count))
        words += features
        words.append(String(hardwareHandler.count))
        words += hardwareHandler
        words.append(String(groups.count))
        words.append(String(initialGroup))
        for group in groups {
            words.append(group.selector)
            words.append(String(group.selectorArgs.count))
            words += group.selectorArgs
            words.append(String(group.paths.count))
            words.append(String(group.pathArgCount))
            for path in group.paths {
                words.append(path.device)
                words += path.args
            }
        }
        return words.joined(separator: " ")
    }

    /// The full table line, single-spaced, without the trailing space the kernel prints.
    public func render() -> String {
        "\(start) \(length) multipath \(parameters)"
    }

    /// Checks a table built in code against the same rules `parse` applies, so the kernel never
    /// sees a table we could not read back.
    public func validate() throws(DMTableError) {
        for word in features + hardwareHandler where !Self.isSingleWord(word) {
            throw DMTableError("dm table: '\(word)' is not a single word")
        }
        for (g, group) in groups.enumerated() {
            for word in [group.selector] + group.selectorArgs where !Self.isSingleWord(word) {
                throw DMTableError("dm table: '\(word)' in group \(g + 1) is not a single word")
            }
            for path in group.paths {
                guard path.args.count == group.pathArgCount else {
                    throw DMTableError(
                        "dm table: path \(path.device) in group \(g + 1) has \(path.args.count) args, "
                            + "group declares \(group.pathArgCount)")
                }
                for word in [path.device] + path.args where !Self.isSingleWord(word) {
                    throw DMTableError("dm table: '\(word)' in group \(g + 1) is not a single word")
                }
            }
        }
        let reread = try Self.parse(render())
        guard reread == self else {
            throw DMTableError("dm table: table does not read back as itself")
        }
    }

    private static func isSingleWord(_ word: String) -> Bool {
        !word.isEmpty && !word.contains { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
    }

    /// Reads a table line: with or without a leading `name: ` (as `dmsetup table` prints for
    /// several maps), with or without `<start> <length> multipath`, and with or without the
    /// trailing space multipath-tools and the kernel leave. Counts and kernel ranges are checked.
    public static func parse(_ text: String) throws(DMTableError) -> DMMultipathTable {
        do throws(DMSyntaxError) {
            var reader = try DMWordReader(line: text, what: "table")
            return try parse(&reader)
        } catch {
            throw DMTableError("dm table: " + error.message)
        }
    }

    private static func parse(_ r: inout DMWordReader) throws(DMSyntaxError) -> DMMultipathTable {
        let (start, length) = try r.header()

        let featureCount = try r.count("number of feature args", in: 0...maxFeatureArgs)
        let features = try r.take(featureCount, "feature args")
        try validateFeatures(features)

        let hwCount = try r.count("number of hardware handler args", in: 0...maxHardwareHandlerArgs)
        let hardwareHandler = try r.take(hwCount, "hardware handler args")

        let groupCount = try r.count("number of path groups", in: 0...maxGroups)
        let initial = try r.count("initial path group", in: 0...maxGroups)
        if groupCount == 0 && initial != 0 {
            throw DMSyntaxError(message: "initial path group \(initial) given but there are no path groups")
        }
        if groupCount > 0 && (initial == 0 || initial > groupCount) {
            throw DMSyntaxError(message: "initial path group must be 1...\(groupCount), found \(initial)")
        }

        var groups: [DMPathGroup] = []
        groups.reserveCapacity(groupCount)
        for g in stride(from: 1, through: groupCount, by: 1) {
            guard let selectorWord = r.peek() else {
                throw DMSyntaxError(message: "expected \(groupCount) path groups, found \(g - 1)")
            }
            guard Self.isSelectorName(selectorWord) else {
                throw DMSyntaxError(message: "expected path selector name for group \(g), found '\(selectorWord)'")
            }
            r.skip()
            let selector = String(selectorWord)
            let selectorArgCount = try r.count("number of selector args in group \(g)", in: 0...maxSelectorArgs)
            let selectorArgs = try r.take(selectorArgCount, "selector args in group \(g)")
            let pathCount = try r.count("number of paths in group \(g)", in: 1...maxPathsPerGroup)
            let pathArgCount = try r.count("number of path args in group \(g)", in: 0...maxPathArgs)

            var paths: [DMPath] = []
            paths.reserveCapacity(pathCount)
            for p in 1...pathCount {
                guard let device = r.peek(), DMDevice.isPlausible(device) else {
                    throw DMSyntaxError(
                        message: "expected \(pathCount) paths in group \(g), found \(p - 1) (\(r.near))")
                }
                r.skip()
                guard r.remaining >= pathArgCount else {
                    throw DMSyntaxError(
                        message: "path \(device) in group \(g) needs \(pathArgCount) args, found \(r.remaining)")
                }
                let args = try r.take(pathArgCount, "path args")
                try validatePathArgs(args, selector: selector, device: device, group: g)
                paths.append(DMPath(device: String(device), args: args))
            }
            groups.append(DMPathGroup(selector: selector, selectorArgs: selectorArgs,
                                      pathArgCount: pathArgCount, paths: paths))
        }
        guard r.isAtEnd else {
            throw DMSyntaxError(message: "more words after the last of \(groupCount) path groups (\(r.near))")
        }
        return DMMultipathTable(start: start, length: length, features: features,
                                hardwareHandler: hardwareHandler, initialGroup: initial, groups: groups)
    }

    /// Selector names start with a letter and are neither devices nor paths; checking this
    /// names the real mistake when a group holds more paths than it declares.
    private static func isSelectorName(_ word: Substring) -> Bool {
        guard let first = word.first, first.isLetter, first.isASCII else { return false }
        return !word.contains(":") && !word.contains("/")
    }

    /// The kernel's feature grammar (`parse_features`): flags, and three features with a value.
    private static func validateFeatures(_ features: [String]) throws(DMSyntaxError) {
        var i = 0
        while i < features.count {
            let name = features[i].lowercased()
            let value: String? = i + 1 < features.count ? features[i + 1] : nil
            switch name {
            case "queue_if_no_path", "retain_attached_hw_handler":
                i += 1
                continue
            case "pg_init_retries":
                try checkFeatureValue(name, value, in: 1...50)
            case "pg_init_delay_msecs":
                try checkFeatureValue(name, value, in: 0...60000)
            case "queue_mode":
                guard let value else {
                    throw DMSyntaxError(message: "feature 'queue_mode' needs a value (bio, rq or mq)")
                }
                guard ["bio", "rq", "mq"].contains(value.lowercased()) else {
                    throw DMSyntaxError(message: "unknown queue_mode '\(value)', expected bio, rq or mq")
                }
            default:
                throw DMSyntaxError(message: "unrecognised multipath feature '\(features[i])'")
            }
            i += 2
        }
    }

    private static func checkFeatureValue(_ name: String, _ value: String?,
                                          in range: ClosedRange<Int>) throws(DMSyntaxError) {
        guard let value else {
            throw DMSyntaxError(message: "feature '\(name)' needs a value")
        }
        guard let number = DMWordReader.decimal(Substring(value)), range.contains(number) else {
            throw DMSyntaxError(
                message: "\(name) must be between \(range.lowerBound) and \(range.upperBound), found '\(value)'")
        }
    }

    /// Per-path arguments of the selectors the kernel ships (`*_add_path`); unknown selectors'
    /// arguments are passed through unchecked.
    private static func validatePathArgs(_ args: [String], selector: String, device: Substring,
                                         group: Int) throws(DMSyntaxError) {
        let maxArgs: Int
        switch selector {
        case "round-robin", "queue-length", "historical-service-time": maxArgs = 1
        case "service-time": maxArgs = 2
        default: return
        }
        guard args.count <= maxArgs else {
            throw DMSyntaxError(
                message: "\(selector) path \(device) in group \(group) takes at most \(maxArgs) args, found \(args.count)")
        }
        if let repeatCount = args.first, DMWordReader.decimal(Substring(repeatCount)) == nil {
            throw DMSyntaxError(message: "invalid repeat count '\(repeatCount)' for path \(device) in group \(group)")
        }
        if selector == "service-time", args.count == 2 {
            guard let throughput = DMWordReader.decimal(Substring(args[1])), throughput <= 100 else {
                throw DMSyntaxError(
                    message: "invalid relative_throughput '\(args[1])' for path \(device) in group \(group), expected 0...100")
            }
        }
    }
}
