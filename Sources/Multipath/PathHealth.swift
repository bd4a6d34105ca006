/// Settings for holding back a path that keeps failing (multipath-tools' san_path_err_* and
/// marginal_path_* serve the same purpose).
public struct ShakyPathPolicy: Equatable, Hashable, Sendable {
    /// Failures within `window` that make a path shaky.
    public var threshold: Int
    /// Seconds over which failures are counted.
    public var window: Double
    /// Holdback after the first shaky episode, seconds.
    public var initialHoldback: Double
    /// Holdback never grows beyond this, seconds.
    public var maxHoldback: Double
    /// A path that runs this long without failing after its last holdback is forgiven: the next
    /// episode starts again at `initialHoldback`.
    public var forgetAfter: Double

    public init(threshold: Int = 3, window: Double = 60, initialHoldback: Double = 30, maxHoldback: Double = 480,
                forgetAfter: Double = 600) {
        self.threshold = threshold
        self.window = window
        self.initialHoldback = initialHoldback
        self.maxHoldback = maxHoldback
        self.forgetAfter = forgetAfter
    }

    /// Rejects settings that would make every path shaky or never release one.
    public func validate() throws(MultipathPolicyError) {
        guard threshold >= 1 else { throw MultipathPolicyError("shaky path threshold must be ≥ 1, found \(threshold)") }
        guard window > 0 && window.isFinite else { throw MultipathPolicyError("shaky path window must be > 0 s") }
        guard initialHoldback >= 0 && initialHoldback.isFinite else {
            throw MultipathPolicyError("shaky path holdback must be ≥ 0 s")
        }
        guard maxHoldback >= initialHoldback && maxHoldback.isFinite else {
            throw MultipathPolicyError("shaky path max holdback must be ≥ the initial holdback")
        }
        guard forgetAfter >= 0 && forgetAfter.isFinite else {
            throw MultipathPolicyError("shaky path forget time must be ≥ 0 s")
        }
    }
}

/// Failure history of one path and the holdback it earned: a path failing `threshold` times
/// within `window` is shaky and may not be reinstated for a delay that doubles with each
/// repeat episode, up to `maxHoldback`. Pure: time is passed in (monotonic seconds).
public struct PathHealth: Equatable, Sendable {
    /// Thresholds and delays in force.
    public let policy: ShakyPathPolicy
    /// Failure times still inside the window (at most `threshold - 1` between episodes).
    public private(set) var recentFailures: [Double] = []
    /// Shaky episodes since the path was last forgiven.
    public private(set) var episodes = 0
    /// End of the current or last holdback.
    public private(set) var heldUntil: Double?
    /// Time of the most recent failure.
    public private(set) var lastFailure: Double?

    public init(policy: ShakyPathPolicy = ShakyPathPolicy()) {
        self.policy = policy
    }

    /// Records a failure at `now`. Returns true when this failure made the path shaky.
    @discardableResult
    public mutating func recordFailure(at now: Double) -> Bool {
        if episodes > 0 {
            let cleanSince = max(lastFailure ?? now, heldUntil ?? now)
            if now - cleanSince >= policy.forgetAfter { episodes = 0 }
        }
        lastFailure = now
        recentFailures.removeAll { now - $0 >= policy.window }
        recentFailures.append(now)
        guard recentFailures.count >= max(1, policy.threshold) else { return false }
        recentFailures.removeAll()
        episodes += 1
        heldUntil = now + holdback(forEpisode: episodes)
        return true
    }

    /// Holdback for the n-th episode: initial × 2^(n-1), capped.
    public func holdback(forEpisode episode: Int) -> Double {
        guard episode >= 1 else { return 0 }
        var delay = policy.initialHoldback
        for _ in 1..<min(episode, 64) where delay < policy.maxHoldback {
            delay *= 2
        }
        return min(delay, policy.maxHoldback)
    }

    /// Held back at `now`.
    public func isShaky(now: Double) -> Bool {
        guard let heldUntil else { return false }
        return now < heldUntil
    }

    /// The checker may put the path back in use.
    public func canReinstate(now: Double) -> Bool { !isShaky(now: now) }

    /// Seconds until the holdback ends (0 when not held).
    public func holdbackRemaining(now: Double) -> Double {
        guard let heldUntil, now < heldUntil else { return 0 }
        return heldUntil - now
    }

    /// What the checker column should say for a path that is otherwise up.
    public func checkerState(now: Double, upState: CheckerState = .ready) -> CheckerState {
        isShaky(now: now) ? .shaky : upState
    }
}
