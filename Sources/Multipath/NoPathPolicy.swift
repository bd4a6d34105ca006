/// multipath.conf `no_path_retry`: what IO does while no path is usable.
public enum NoPathRetry: Equatable, Hashable, Sendable, CustomStringConvertible {
    /// Fail IO at once (the multipath-tools default).
    case fail
    /// Queue IO until a path returns, however long that takes.
    case queue
    /// Queue for this many path-checker intervals, then fail.
    case retries(Int)

    /// Reads "fail", "queue" or a number of retries; "0" means fail.
    public init(parsing text: String) throws(MultipathPolicyError) {
        switch text {
        case "fail": self = .fail
        case "queue": self = .queue
        default:
            guard let count = DMWordReader.decimal(Substring(text)) else {
                throw MultipathPolicyError(
                    "no_path_retry: expected fail, queue or a number of retries, found '\(DMWordReader.shortened(Substring(text)))'")
            }
            self = count == 0 ? .fail : .retries(count)
        }
    }

    /// The setting in effect when both `no_path_retry` and the legacy `features
    /// "1 queue_if_no_path"` may be given: `no_path_retry` wins; without it the feature means
    /// `queue`; with neither, `fail`.
    public static func resolve(noPathRetry: NoPathRetry?, features: [String]) -> NoPathRetry {
        if let noPathRetry { return noPathRetry }
        return features.contains { $0.lowercased() == "queue_if_no_path" } ? .queue : .fail
    }

    /// Whether the table carries `queue_if_no_path` (queueing is on until the retries run out).
    public var queuesIO: Bool { self != .fail }

    /// Feature words for the table.
    public var features: [String] { queuesIO ? ["queue_if_no_path"] : [] }

    /// Feature string as multipath prints it: "1 queue_if_no_path" or "0".
    public var featuresString: String { queuesIO ? "1 queue_if_no_path" : "0" }

    /// How long IO queues with no path, in seconds; nil = forever, 0 = not at all.
    public func queueingDuration(pollingInterval: Double) -> Double? {
        switch self {
        case .fail: return 0
        case .queue: return nil
        case .retries(let count): return Double(count) * pollingInterval
        }
    }

    public var description: String {
        switch self {
        case .fail: return "fail"
        case .queue: return "queue"
        case .retries(let count): return String(count)
        }
    }
}

/// Something the daemon observed about a map's paths.
public enum NoPathEvent: Equatable, Sendable {
    /// The last usable path went away.
    case allPathsDown(at: Double)
    /// A path is usable again.
    case pathRestored(at: Double)
    /// Periodic clock tick.
    case tick(now: Double)
}

/// What the daemon should do about IO with no usable path.
public enum NoPathDecision: Equatable, Sendable {
    /// Nothing to change.
    case none
    /// Hold IO; give up at `until` (nil: never).
    case queue(until: Double?)
    /// Stop queueing: fail IO already held and new IO while no path is usable.
    case failQueued(reason: String)
    /// A path is back after queueing had been given up: turn queueing on again for the next
    /// outage.
    case resumeQueueing

    /// The device-mapper message that carries the decision out, if one is needed.
    public var message: DMMessage? {
        switch self {
        case .none, .queue: return nil
        case .failQueued: return .failIfNoPath
        case .resumeQueueing: return .queueIfNoPath
        }
    }
}

/// multipathd's recovery mode for one map (`enter_recovery_mode`, `retry_count_tick`,
/// `leave_recovery_mode`) as a pure state machine over events with injected time: with
/// `no_path_retry N`, IO queues for N × polling_interval seconds after the last path is lost,
/// then queued IO fails; a returning path re-arms queueing.
public struct NoPathRetryController: Equatable, Sendable {
    /// Where the map stands with respect to usable paths.
    public enum State: Equatable, Sendable {
        /// At least one path usable.
        case normal
        /// No path; IO is held until the deadline (nil: forever).
        case queueing(since: Double, deadline: Double?)
        /// No path and queueing given up: IO fails.
        case failing
    }

    /// The configured `no_path_retry`.
    public let policy: NoPathRetry
    /// multipath.conf `polling_interval`, seconds.
    public let pollingInterval: Double
    /// Current state; starts `normal`.
    public private(set) var state: State = .normal

    public init(policy: NoPathRetry, pollingInterval: Double = 5) {
        self.policy = policy
        self.pollingInterval = pollingInterval
    }

    /// Whether IO is currently held rather than failed.
    public var isQueueing: Bool {
        if case .queueing = state { return true }
        return false
    }

    /// Applies one event and says what to do with IO.
    public mutating func handle(_ event: NoPathEvent) -> NoPathDecision {
        switch (event, state) {
        case (.allPathsDown(let at), .normal):
            switch policy {
            case .fail:
                state = .failing
                return .failQueued(reason: "no usable path and no_path_retry is fail")
            case .queue:
                state = .queueing(since: at, deadline: nil)
                return .queue(until: nil)
            case .retries:
                let deadline = at + (policy.queueingDuration(pollingInterval: pollingInterval) ?? 0)
                state = .queueing(since: at, deadline: deadline)
                return .queue(until: deadline)
            }
        case (.allPathsDown, _):
            return .none
        case (.pathRestored, .queueing):
            state = .normal
            return .none
        case (.pathRestored, .failing):
            state = .normal
            return policy.queuesIO ? .resumeQueueing : .none
        case (.pathRestored, .normal):
            return .none
        case (.tick(let now), .queueing(let since, let deadline?)) where now >= deadline:
            state = .failing
            let waited = Self.seconds(now - since)
            return .failQueued(
                reason: "no usable path for \(waited) s: no_path_retry \(policy) × polling_interval "
                    + "\(Self.seconds(pollingInterval)) s exhausted")
        case (.tick, _):
            return .none
        }
    }

    /// Seconds without a trailing ".0" when whole.
    private static func seconds(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)
    }
}
