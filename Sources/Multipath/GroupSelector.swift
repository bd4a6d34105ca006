/// Which priority group IO goes to, following dm-mpath's `choose_pgpath`: stay in the current
/// group while it has a usable path; otherwise honour a pending `switch_group`; otherwise take
/// the first group with a usable path, trying groups that are not bypassed before bypassed ones.
///
/// Groups are 0-based here (DM messages and status lines are 1-based).
public struct GroupSelector: Equatable, Sendable {
    /// Number of groups in the map.
    public private(set) var groupCount: Int
    /// The group IO currently goes to, if one was chosen.
    public private(set) var currentGroup: Int?
    /// Group requested by `switchGroup`, used at the next choice.
    public private(set) var nextGroup: Int?
    /// Bypass flags (`disable_group`).
    public private(set) var bypassed: [Bool]

    /// `initialGroup` is the table's initial group, 0-based.
    public init(groupCount: Int, initialGroup: Int? = nil) {
        self.groupCount = max(0, groupCount)
        self.bypassed = Array(repeating: false, count: max(0, groupCount))
        if let initialGroup, initialGroup >= 0 && initialGroup < groupCount {
            self.nextGroup = initialGroup
        }
    }

    /// `switch_group`: clear every bypass flag and use `group` next. False if out of range.
    @discardableResult
    public mutating func switchGroup(_ group: Int) -> Bool {
        guard group >= 0 && group < groupCount else { return false }
        for index in bypassed.indices { bypassed[index] = false }
        nextGroup = group
        currentGroup = nil
        return true
    }

    /// `disable_group` / `enable_group`. Bypassing the current group makes the next choice
    /// start over. False if out of range.
    @discardableResult
    public mutating func setBypassed(_ group: Int, _ value: Bool) -> Bool {
        guard group >= 0 && group < groupCount else { return false }
        bypassed[group] = value
        currentGroup = nil
        return true
    }

    /// Picks the group for the next IO; `hasUsablePath(g)` tells whether group `g` has a path
    /// the selector may use now. nil when no group has one.
    public mutating func choose(hasUsablePath: (Int) -> Bool) -> Int? {
        if let current = currentGroup, hasUsablePath(current) { return current }
        if let next = nextGroup {
            nextGroup = nil
            if hasUsablePath(next) {
                currentGroup = next
                return next
            }
        }
        for wantBypassed in [false, true] {
            for group in 0..<groupCount where bypassed[group] == wantBypassed && hasUsablePath(group) {
                currentGroup = group
                return group
            }
        }
        currentGroup = nil
        return nil
    }

    /// The kernel's status letter for `group`: D when bypassed, A when current, else E.
    public func state(of group: Int) -> DMGroupState {
        if group >= 0 && group < groupCount && bypassed[group] { return .disabled }
        return group == currentGroup ? .active : .enabled
    }

    /// The group multipathd wants IO in (`select_path_group`): among groups with usable paths,
    /// healthy groups before marginal ones, then the highest priority, then the most usable
    /// paths; earlier groups win ties. 0 when no group has a usable path.
    public static func bestGroup(_ groups: [PathGrouping]) -> Int {
        var sawHealthy = false
        var maxPriority = 0
        var maxEnabled = 1
        var best = 0
        for (index, group) in groups.enumerated() where !group.members.isEmpty {
            if group.marginal && sawHealthy { continue }
            guard group.enabledPaths > 0 else { continue }
            if !group.marginal && !sawHealthy {
                sawHealthy = true
                maxPriority = group.priority
                maxEnabled = group.enabledPaths
                best = index
            } else if group.priority > maxPriority {
                maxPriority = group.priority
                maxEnabled = group.enabledPaths
                best = index
            } else if group.priority == maxPriority && group.enabledPaths > maxEnabled {
                maxEnabled = group.enabledPaths
                best = index
            }
        }
        return best
    }
}
