/// A malformed `dmsetup status` multipath line.
public struct DMStatusError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Full text, e.g. "dm status: expected path state A or F for 8:16 in group 1, found 'X'".
    public let message: String

    public init(_ message: String) { self.message = message }

    public var description: String { message }
}

/// Kernel state of a priority group in a status line.
public enum DMGroupState: String, Equatable, Hashable, Sendable, CaseIterable {
    /// "A": the group IO currently goes to.
    case active = "A"
    /// "E": usable, not current.
    case enabled = "E"
    /// "D": bypassed (`disable_group`, or a hardware handler reported it busy).
    case disabled = "D"

    /// The word `multipath -ll` prints for this state.
    public var groupStatus: PathGroupStatus {
        switch self {
        case .active: return .active
        case .enabled: return .enabled
        case .disabled: return .disabled
        }
    }
}

/// One path in a status line.
public struct DMPathStatus: Equatable, Hashable, Sendable {
    public var device: String
    /// True for "F" (failed), false for "A" (active).
    public var failed: Bool
    /// How many times the kernel failed this path since the table was loaded.
    public var failCount: Int
    /// Selector info words: none for round-robin, `<in-flight>` for queue-length,
    /// `<in-flight-bytes> <relative-throughput>` for service-time.
    public var selectorInfo: [String]

    public init(device: String, failed: Bool = false, failCount: Int = 0, selectorInfo: [String] = []) {
        self.device = device
        self.failed = failed
        self.failCount = failCount
        self.selectorInfo = selectorInfo
    }
}

/// One priority group in a status line.
public struct DMGroupStatus: Equatable, Hashable, Sendable {
    public var state: DMGroupState
    /// Selector-level status words (the kernel's selectors print none).
    public var selectorStatus: [String]
    /// Number of selector info words every path carries.
    public var selectorInfoCount: Int
    public var paths: [DMPathStatus]

    /// `selectorInfoCount` defaults to the info count of the first path.
    public init(state: DMGroupState, selectorStatus: [String] = [], selectorInfoCount: Int? = nil,
                paths: [DMPathStatus]) {
        self.state = state
        self.selectorStatus = selectorStatus
        self.selectorInfoCount = selectorInfoCount ?? paths.first?.selectorInfo.count ?? 0
        self.paths = paths
    }
}

/// The multipath target's `dmsetup status` (STATUSTYPE_INFO) line:
///
///     <start> <len> multipath 2 <queue_io> <pg_init_count> <#hw> <hw…> <#groups> <next_group>
///       {<A|E|D> <#ps_status> <ps_status…> <#paths> <#info> {<dev> <A|F> <fail_count> <info…>}}
public struct DMMultipathStatus: Equatable, Hashable, Sendable {
    public var start: UInt64
    public var length: UInt64
    /// IO is being held while a group is initialised (pg_init), not "queue_if_no_path".
    public var queueIO: Bool
    /// pg_init attempts for the current group.
    public var pgInitCount: Int
    /// Hardware handler status words (the kernel prints none in this form).
    public var hardwareHandlerStatus: [String]
    /// 1-based current (or next) group; 0 exactly when there are no groups.
    public var nextGroup: Int
    /// Groups in table order.
    public var groups: [DMGroupStatus]

    /// `nextGroup` defaults to 1 when there are groups and 0 otherwise.
    public init(start: UInt64 = 0, length: UInt64, queueIO: Bool = false, pgInitCount: Int = 0,
                hardwareHandlerStatus: [String] = [], nextGroup: Int? = nil, groups: [DMGroupStatus]) {
        self.start = start
        self.length = length
        self.queueIO = queueIO
        self.pgInitCount = pgInitCount
        self.hardwareHandlerStatus = hardwareHandlerStatus
        self.nextGroup = nextGroup ?? (groups.isEmpty ? 0 : 1)
        self.groups = groups
    }

    /// Paths the kernel currently considers usable.
    public var activePathCount: Int {
        groups.reduce(0) { $0 + $1.paths.filter { !$0.failed }.count }
    }

    /// 0-based index of the group in state A, if any.
    public var activeGroupIndex: Int? {
        groups.firstIndex { $0.state == .active }
    }

    /// The status parameters: everything after `<start> <length> multipath`.
    public var parameters: String {
        var words = ["2", queueIO ? "1" : "0", String(pgInitCount)]
        words.append(String(hardwareHandlerStatus.count))
        words += hardwareHandlerStatus
        words.append(String(groups.count))
        words.append(String(nextGroup))
        for group in groups {
            words.append(group.state.rawValue)
            words.append(String(group.selectorStatus.count))
            words += group.selectorStatus
            words.append(String(group.paths.count))
            words.append(String(group.selectorInfoCount))
            for path in group.paths {
                words.append(path.device)
                words.append(path.failed ? "F" : "A")
                words.append(String(path.failCount))
                words += path.selectorInfo
            }
        }
        return words.joined(separator: " ")
    }

    /// The full status line, single-spaced.
    public func render() -> String {
        "\(start) \(length) multipath \(parameters)"
    }

    /// Reads a status line, with or without `name: ` and `<start> <length> multipath`, and
    /// with or without a trailing space.
    public static func parse(_ text: String) throws(DMStatusError) -> DMMultipathStatus {
        do throws(DMSyntaxError) {
            var reader = try DMWordReader(line: text, what: "status")
            return try parse(&reader)
        } catch {
            throw DMStatusError("dm status: " + error.message)
        }
    }

    private static func parse(_ r: inout DMWordReader) throws(DMSyntaxError) -> DMMultipathStatus {
        let (start, length) = try r.header()

        // The kernel always reports exactly two feature words: queue_io and pg_init_count.
        let featureCount = try r.count("number of status feature args", in: 0...DMMultipathTable.maxFeatureArgs)
        guard featureCount == 2 else {
            throw DMSyntaxError(message: "expected 2 status feature args (queue_io, pg_init_count), found \(featureCount)")
        }
        let queueIO = try r.count("queue_io flag", in: 0...1) == 1
        let pgInitCount = try r.count("pg_init_count", in: 0...Int(Int32.max))

        let hwCount = try r.count("number of hardware handler status args",
                                  in: 0...DMMultipathTable.maxHardwareHandlerArgs)
        let hwStatus = try r.take(hwCount, "hardware handler status args")

        let groupCount = try r.count("number of path groups", in: 0...DMMultipathTable.maxGroups)
        let next = try r.count("next path group", in: 0...DMMultipathTable.maxGroups)
        if groupCount == 0 && next != 0 {
            throw DMSyntaxError(message: "next path group \(next) given but there are no path groups")
        }
        if groupCount > 0 && (next == 0 || next > groupCount) {
            throw DMSyntaxError(message: "next path group must be 1...\(groupCount), found \(next)")
        }

        var groups: [DMGroupStatus] = []
        groups.reserveCapacity(groupCount)
        for g in stride(from: 1, through: groupCount, by: 1) {
            guard let stateWord = r.peek() else {
                throw DMSyntaxError(message: "expected \(groupCount) path groups, found \(g - 1)")
            }
            guard let state = DMGroupState(rawValue: String(stateWord)) else {
                throw DMSyntaxError(
                    message: "expected group state A, E or D for group \(g), found '\(DMWordReader.shortened(stateWord))'")
            }
            r.skip()
            let statusCount = try r.count("number of selector status args in group \(g)",
                                          in: 0...DMMultipathTable.maxSelectorArgs)
            let selectorStatus = try r.take(statusCount, "selector status args in group \(g)")
            let pathCount = try r.count("number of paths in group \(g)", in: 1...DMMultipathTable.maxPathsPerGroup)
            let infoCount = try r.count("number of selector info args in group \(g)",
                                        in: 0...DMMultipathTable.maxPathArgs)

            var paths: [DMPathStatus] = []
            paths.reserveCapacity(pathCount)
            for p in 1...pathCount {
                guard let device = r.peek(), DMDevice.isPlausible(device) else {
                    throw DMSyntaxError(
                        message: "expected \(pathCount) paths in group \(g), found \(p - 1) (\(r.near))")
                }
                r.skip()
                let stateWord = try r.word("path state for \(device) in group \(g)")
                guard stateWord == "A" || stateWord == "F" else {
                    throw DMSyntaxError(
                        message: "expected path state A or F for \(device) in group \(g), found '\(DMWordReader.shortened(stateWord))'")
                }
                let failCount = try r.count("fail count for \(device) in group \(g)", in: 0...Int(UInt32.max))
                guard r.remaining >= infoCount else {
                    throw DMSyntaxError(
                        message: "path \(device) in group \(g) needs \(infoCount) selector info args, found \(r.remaining)")
                }
                let info = try r.take(infoCount, "selector info args")
                paths.append(DMPathStatus(device: String(device), failed: stateWord == "F",
                                          failCount: failCount, selectorInfo: info))
            }
            groups.append(DMGroupStatus(state: state, selectorStatus: selectorStatus,
                                        selectorInfoCount: infoCount, paths: paths))
        }
        guard r.isAtEnd else {
            throw DMSyntaxError(message: "more words after the last of \(groupCount) path groups (\(r.near))")
        }
        if groups.filter({ $0.state == .active }).count > 1 {
            throw DMSyntaxError(message: "more than one path group is active")
        }
        return DMMultipathStatus(start: start, length: length, queueIO: queueIO, pgInitCount: pgInitCount,
                                 hardwareHandlerStatus: hwStatus, nextGroup: next, groups: groups)
    }
}
