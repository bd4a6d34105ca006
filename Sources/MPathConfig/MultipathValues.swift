/// `failback`: when to return to the highest-priority path group.
public enum Failback: Equatable, Sendable, CustomStringConvertible {
    case immediate
    case manual
    case followover
    /// Wait this many seconds after a better group becomes usable.
    case seconds(Int)

    static func parse(_ text: String) throws -> Failback {
        switch text.lowercased() {
        case "immediate": return .immediate
        case "manual": return .manual
        case "followover": return .followover
        default:
            guard let value = Int(text), value >= 0 else {
                throw ValueError(
                    "'\(ISCSIName.printable(text))' is not allowed; expected immediate, manual, followover or a number of seconds")
            }
            return value == 0 ? .immediate : .seconds(value)
        }
    }

    public var description: String {
        switch self {
        case .immediate: return "immediate"
        case .manual: return "manual"
        case .followover: return "followover"
        case .seconds(let value): return String(value)
        }
    }
}

/// `no_path_retry`: what happens to IO when every path has failed.
public enum NoPathRetry: Equatable, Sendable, CustomStringConvertible {
    /// Fail IO at once.
    case fail
    /// Queue IO until a path returns.
    case queue
    /// Queue for this many path-checker intervals, then fail.
    case retries(Int)

    static func parse(_ text: String) throws -> NoPathRetry {
        switch text.lowercased() {
        case "fail": return .fail
        case "queue": return .queue
        default:
            guard let value = Int(text), value >= 0 else {
                throw ValueError("'\(ISCSIName.printable(text))' is not allowed; expected fail, queue or a number of retries")
            }
            return value == 0 ? .fail : .retries(value)
        }
    }

    public var description: String {
        switch self {
        case .fail: return "fail"
        case .queue: return "queue"
        case .retries(let value): return String(value)
        }
    }
}

/// A device-mapper argument list with a leading count (`features`, `hardware_handler`):
/// "0", "1 queue_if_no_path", "2 pg_init_retries 50".
public struct CountedArguments: Equatable, Sendable, CustomStringConvertible {
    /// The words after the count.
    public var words: [String]

    public init(_ words: [String] = []) { self.words = words }

    /// Parses "<count> <word>…", checking the count matches.
    public init(parsing text: String) throws {
        let parts = text.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard let first = parts.first, let count = Int(first), count >= 0 else {
            throw ValueError("'\(ISCSIName.printable(text))' must start with the number of words that follow, e.g. \"1 queue_if_no_path\"")
        }
        guard count == parts.count - 1 else {
            throw ValueError(
                "'\(ISCSIName.printable(text))' announces \(count) word(s) but has \(parts.count - 1)")
        }
        words = Array(parts.dropFirst())
    }

    public var description: String {
        ([String(words.count)] + words).joined(separator: " ")
    }
}

/// `path_grouping_policy`.
public enum PathGroupingPolicy: String, CaseIterable, Sendable {
    /// One path per group: active/passive.
    case failover
    /// All paths in one group: active/active.
    case multibus
    case groupBySerial = "group_by_serial"
    case groupByPrio = "group_by_prio"
    case groupByNodeName = "group_by_node_name"
    case groupByTPG = "group_by_tpg"
}

/// `path_selector`: the dm path selector with its argument count.
public enum PathSelector: String, CaseIterable, Sendable {
    case roundRobin = "round-robin 0"
    case queueLength = "queue-length 0"
    case serviceTime = "service-time 0"
    case historicalServiceTime = "historical-service-time 0"

    /// The selector's name without arguments.
    public var name: String { String(rawValue.split(separator: " ")[0]) }

    static func parse(_ text: String) throws -> PathSelector {
        let words = text.split(whereSeparator: { $0 == " " || $0 == "\t" })
        let normalized = words.count == 1 ? "\(words[0]) 0" : words.joined(separator: " ")
        guard let selector = allCases.first(where: { $0.rawValue == normalized }) else {
            throw ValueError(
                "'\(ISCSIName.printable(text))' is not allowed; expected one of: "
                    + allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", "))
        }
        return selector
    }
}

/// `prio`: how path priorities are obtained.
public enum Prioritizer: String, CaseIterable, Sendable {
    /// Every path priority 1.
    case const
    /// From ALUA target port group states (REPORT TARGET PORT GROUPS).
    case alua
}

/// `path_checker`.
public enum PathChecker: String, CaseIterable, Sendable {
    /// TEST UNIT READY.
    case tur
    /// No active checking; path state follows session state only.
    case none
}

/// `auto_resize`: react to a LUN capacity change reported by all paths.
public enum AutoResize: String, CaseIterable, Sendable {
    case never
    case growOnly = "grow_only"
    case growShrink = "grow_shrink"
}

/// `data_plane` (mpath-iscsi): how the multipath device is exported.
public enum DataPlane: String, CaseIterable, Sendable {
    /// A FUSE file backed by the userspace multipath core (+ loop device).
    case fuse
    /// A device-mapper multipath table over per-path block devices.
    case dm
    /// dm when available, else fuse.
    case auto
}

/// `flush_on_last_del` (multipath-tools 0.10 values; yes/no are read as always/never).
public enum FlushOnLastDel: String, CaseIterable, Sendable {
    case always
    case unused
    case never
}

/// A number that can also be switched off (`fast_io_fail_tmo off`, `san_path_err_threshold no`).
public enum NumberOrOff: Equatable, Sendable, CustomStringConvertible {
    case off
    case value(Int)

    public var description: String {
        switch self {
        case .off: return "off"
        case .value(let value): return String(value)
        }
    }

    /// The number, or nil when off.
    public var number: Int? {
        if case .value(let value) = self { return value }
        return nil
    }
}

/// `dev_loss_tmo`.
public enum DevLossTimeout: Equatable, Sendable, CustomStringConvertible {
    /// Not configured: leave the transport's own value.
    case systemDefault
    case infinity
    case seconds(Int)

    public var description: String {
        switch self {
        case .systemDefault: return "unset"
        case .infinity: return "infinity"
        case .seconds(let value): return String(value)
        }
    }
}

/// Value parsers shared by the multipath.conf keys.
enum MultipathValue {
    static func bool(_ text: String) throws -> Bool {
        switch text.lowercased() {
        case "yes", "1": return true
        case "no", "0": return false
        default: throw ValueError("'\(ISCSIName.printable(text))' is not allowed; expected yes or no")
        }
    }

    static func integer(_ text: String, _ range: ClosedRange<Int>) throws -> Int {
        guard let value = Int(text) else {
            throw ValueError("'\(ISCSIName.printable(text))' is not a number; expected \(range.lowerBound)-\(range.upperBound)")
        }
        guard range.contains(value) else {
            throw ValueError("\(value) is out of range; expected \(range.lowerBound)-\(range.upperBound)")
        }
        return value
    }

    static func enumeration<E: RawRepresentable & CaseIterable>(_ text: String, _: E.Type) throws -> E
    where E.RawValue == String {
        guard let value = E.allCases.first(where: { $0.rawValue == text.lowercased() }) else {
            let allowed = E.allCases.map(\.rawValue).joined(separator: ", ")
            throw ValueError("'\(ISCSIName.printable(text))' is not allowed; expected one of: \(allowed)")
        }
        return value
    }

    /// "off"/"no" or a number in `range`.
    static func numberOrOff(_ text: String, _ range: ClosedRange<Int>) throws -> NumberOrOff {
        let lower = text.lowercased()
        if lower == "off" || lower == "no" { return .off }
        guard let value = Int(text), range.contains(value) else {
            throw ValueError(
                "'\(ISCSIName.printable(text))' is not allowed; expected no/off or a number \(range.lowerBound)-\(range.upperBound)")
        }
        return .value(value)
    }

    static func devLoss(_ text: String) throws -> DevLossTimeout {
        if text.lowercased() == "infinity" { return .infinity }
        guard let value = Int(text), value >= 1 else {
            throw ValueError("'\(ISCSIName.printable(text))' is not allowed; expected infinity or a number of seconds >= 1")
        }
        return .seconds(value)
    }

    static func flushOnLastDel(_ text: String) throws -> FlushOnLastDel {
        switch text.lowercased() {
        case "yes": return .always
        case "no": return .never
        default: return try enumeration(text, FlushOnLastDel.self)
        }
    }
}
