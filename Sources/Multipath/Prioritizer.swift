/// Path priority constants shared by prioritizers and grouping.
public enum PathPriority {
    /// multipath-tools' PRIO_UNDEF: the prioritizer could not tell (e.g. ALUA not supported).
    public static let undefined = -1
}

/// SCSI asymmetric access state (SPC-4 REPORT TARGET PORT GROUPS, low 4 bits).
public enum ALUAAccessState: UInt8, Sendable, CaseIterable {
    case activeOptimized = 0x0
    case activeNonOptimized = 0x1
    case standby = 0x2
    case unavailable = 0x3
    case lbaDependent = 0x4
    case offline = 0xE
    case transitioning = 0xF
}

/// What a prioritizer may look at for one path.
public struct PathPriorityInput: Equatable, Sendable {
    /// The target port group's access state; nil when the target does not support ALUA or the
    /// query failed.
    public var aluaState: ALUAAccessState?
    /// The target port group's PREF bit.
    public var preferred: Bool

    public init(aluaState: ALUAAccessState? = nil, preferred: Bool = false) {
        self.aluaState = aluaState
        self.preferred = preferred
    }
}

/// Gives a path a priority; higher is better, `PathPriority.undefined` when unknown.
public protocol Prioritizer: Sendable {
    /// Name as in multipath.conf `prio`.
    var name: String { get }
    func priority(for input: PathPriorityInput) -> Int
}

/// `prio const`: every path 1.
public struct ConstPrioritizer: Prioritizer {
    public var name: String { "const" }

    public init() {}

    public func priority(for input: PathPriorityInput) -> Int { 1 }
}

/// `prio alua` with multipath-tools' values (prioritizers/alua.c): active/optimized 50,
/// active/non-optimized 10, LBA-dependent 5, standby 1, anything else 0; the preferred bit adds
/// 80 unless the path is already active/optimized (or always, with `exclusive_pref_bit`).
public struct ALUAPrioritizer: Prioritizer {
    public var name: String { "alua" }
    /// `prio_args "exclusive_pref_bit"`: only the preferred port group counts as best.
    public var exclusivePreferredBit: Bool

    public init(exclusivePreferredBit: Bool = false) {
        self.exclusivePreferredBit = exclusivePreferredBit
    }

    public func priority(for input: PathPriorityInput) -> Int {
        guard let state = input.aluaState else { return PathPriority.undefined }
        var value: Int
        switch state {
        case .activeOptimized: value = 50
        case .activeNonOptimized: value = 10
        case .lbaDependent: value = 5
        case .standby: value = 1
        case .unavailable, .offline, .transitioning: value = 0
        }
        if input.preferred && (state != .activeOptimized || exclusivePreferredBit) {
            value += 80
        }
        return value
    }
}

/// A bad `prio` / `prio_args` setting.
public struct PrioritizerError: Error, Equatable, Sendable, CustomStringConvertible {
    public let message: String

    public init(_ message: String) { self.message = message }

    public var description: String { message }
}

/// The prioritizer for multipath.conf `prio <name>` and `prio_args <args>`.
public func makePrioritizer(_ name: String, args: String = "") throws(PrioritizerError) -> any Prioritizer {
    let words = args.split(whereSeparator: { $0 == " " || $0 == "\t" })
    switch name {
    case "const":
        return ConstPrioritizer()
    case "alua":
        for word in words where word != "exclusive_pref_bit" {
            throw PrioritizerError("prio alua: unknown argument '\(DMWordReader.shortened(word))'")
        }
        return ALUAPrioritizer(exclusivePreferredBit: words.contains("exclusive_pref_bit"))
    default:
        throw PrioritizerError("prio: unknown prioritizer '\(DMWordReader.shortened(Substring(name)))', expected const or alua")
    }
}
