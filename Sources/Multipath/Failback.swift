/// multipath.conf `failback`: when to move IO back to the best group after it recovers.
public enum FailbackPolicy: Equatable, Hashable, Sendable, CustomStringConvertible {
    /// As soon as a better group is usable.
    case immediate
    /// Never automatically (the multipath-tools default).
    case manual
    /// Only when the first path of the best group comes back (the group had been entirely
    /// down), so a failover someone else triggered is followed rather than undone.
    case followover
    /// After the better group has been usable for this many seconds.
    case deferred(seconds: Int)

    /// Reads "immediate", "manual", "followover" or a number of seconds (≥ 1).
    public init(parsing text: String) throws(MultipathPolicyError) {
        switch text {
        case "immediate": self = .immediate
        case "manual": self = .manual
        case "followover": self = .followover
        default:
            guard let seconds = DMWordReader.decimal(Substring(text)), seconds >= 1 else {
                throw MultipathPolicyError(
                    "failback: expected immediate, manual, followover or seconds ≥ 1, found '\(DMWordReader.shortened(Substring(text)))'")
            }
            self = .deferred(seconds: seconds)
        }
    }

    public var description: String {
        switch self {
        case .immediate: return "immediate"
        case .manual: return "manual"
        case .followover: return "followover"
        case .deferred(let seconds): return String(seconds)
        }
    }
}

/// One failback check, made after each round of path checks.
public struct FailbackInput: Equatable, Sendable {
    /// Group IO uses now (0-based).
    public var currentGroup: Int
    /// Group it should use (`GroupSelector.bestGroup`).
    public var bestGroup: Int
    /// Monotonic time in seconds.
    public var now: Double
    /// A path became usable in this round.
    public var pathCameUp: Bool
    /// A path came up in the best group while every other path of that group was down
    /// (`FailbackController.followoverShouldFailback`).
    public var followoverTriggered: Bool

    public init(currentGroup: Int, bestGroup: Int, now: Double, pathCameUp: Bool = false,
                followoverTriggered: Bool = false) {
        self.currentGroup = currentGroup
        self.bestGroup = bestGroup
        self.now = now
        self.pathCameUp = pathCameUp
        self.followoverTriggered = followoverTriggered
    }
}

/// What to do after a failback check.
public enum FailbackDecision: Equatable, Sendable {
    /// Keep using the current group.
    case stay
    /// Switch IO to this group now (send `switch_group <group + 1>`).
    case switchTo(group: Int)
    /// A deferred failback is pending until this time.
    case waitUntil(Double)
}

/// Failback evaluation as multipathd does it (`check_path` / `deferred_failback_tick`): a pure
/// state machine over group choices and injected time.
public struct FailbackController: Equatable, Sendable {
    /// The configured policy.
    public let policy: FailbackPolicy
    /// When a deferred failback fires; restarted whenever another path comes up.
    public private(set) var deadline: Double?

    public init(policy: FailbackPolicy) {
        self.policy = policy
    }

    /// Decides after one round of path checks whether to switch groups now, later, or not.
    public mutating func evaluate(_ input: FailbackInput) -> FailbackDecision {
        let needSwitch = input.bestGroup != input.currentGroup
        switch policy {
        case .manual:
            return .stay
        case .immediate:
            return needSwitch ? .switchTo(group: input.bestGroup) : .stay
        case .followover:
            return needSwitch && input.followoverTriggered ? .switchTo(group: input.bestGroup) : .stay
        case .deferred(let seconds):
            // No longer needed (the best group failed again, or someone switched): forget it.
            guard needSwitch else {
                deadline = nil
                return .stay
            }
            if let due = deadline, input.now >= due {
                deadline = nil
                return .switchTo(group: input.bestGroup)
            }
            // Like multipathd, another path coming up restarts the wait.
            let due: Double
            if let pending = deadline, !input.pathCameUp {
                due = pending
            } else {
                due = input.now + Double(seconds)
            }
            deadline = due
            return .waitUntil(due)
        }
    }

    /// multipathd's `followover_should_failback`: the path that came up is in the best group and
    /// every other path of that group is down (or shaky).
    public static func followoverShouldFailback(restoredPathGroup: Int, bestGroup: Int,
                                                otherPathsOfGroupUp: Int) -> Bool {
        restoredPathGroup == bestGroup && otherPathsOfGroupUp == 0
    }
}
