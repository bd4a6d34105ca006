/// A bad policy value (`path_grouping_policy`, `failback`, `no_path_retry`, holdback settings).
public struct MultipathPolicyError: Error, Equatable, Sendable, CustomStringConvertible {
    public let message: String

    public init(_ message: String) { self.message = message }

    public var description: String { message }
}

/// What grouping needs to know about one path.
public struct GroupingPath: Equatable, Sendable {
    /// Priority from the prioritizer (`PathPriority.undefined` when unknown).
    public var priority: Int
    /// Checker says up or ghost; only these count towards a group's priority.
    public var usable: Bool
    /// Flagged marginal (shaky); with marginal path groups on, kept apart from healthy paths.
    public var marginal: Bool

    public init(priority: Int, usable: Bool = true, marginal: Bool = false) {
        self.priority = priority
        self.usable = usable
        self.marginal = marginal
    }
}

/// A path group produced by a grouping policy.
public struct PathGrouping: Equatable, Sendable {
    /// Indices into the paths that were grouped, in their original order.
    public var members: [Int]
    /// Mean priority of the usable members (see `PathGrouping.priority(of:)`).
    public var priority: Int
    /// Usable members.
    public var enabledPaths: Int
    /// Every member is marginal.
    public var marginal: Bool

    public init(members: [Int], priority: Int, enabledPaths: Int, marginal: Bool = false) {
        self.members = members
        self.priority = priority
        self.enabledPaths = enabledPaths
        self.marginal = marginal
    }

    /// Builds a group of `members` of `paths` with its priority computed.
    public init(members: [Int], of paths: [GroupingPath]) {
        let selected = members.compactMap { $0 >= 0 && $0 < paths.count ? paths[$0] : nil }
        let summary = Self.priority(of: selected)
        self.init(members: members, priority: summary.priority, enabledPaths: summary.enabledPaths,
                  marginal: !selected.isEmpty && selected.allSatisfy(\.marginal))
    }

    /// multipath-tools' `path_group_prio_update`: the integer mean of the usable paths' defined
    /// priorities; undefined when usable paths exist but none has a priority; 0 with no usable path.
    public static func priority<C: Collection>(of paths: C) -> (priority: Int, enabledPaths: Int)
    where C.Element == GroupingPath {
        var sum = 0
        var defined = 0
        var enabled = 0
        for path in paths where path.usable {
            enabled += 1
            if path.priority != PathPriority.undefined {
                defined += 1
                sum += path.priority
            }
        }
        if defined > 0 { return (sum / defined, enabled) }
        return (enabled > 0 ? PathPriority.undefined : 0, enabled)
    }
}

/// multipath.conf `path_grouping_policy`.
public enum PathGroupingPolicy: String, Equatable, Sendable, CaseIterable {
    /// One path per group: IO uses one path at a time.
    case failover
    /// All paths in one group: IO spread over all of them.
    case multibus
    /// One group per distinct priority.
    case groupByPrio = "group_by_prio"

    /// Reads a multipath.conf value.
    public init(parsing text: String) throws(MultipathPolicyError) {
        guard let policy = PathGroupingPolicy(rawValue: text) else {
            throw MultipathPolicyError(
                "path_grouping_policy: unknown policy '\(DMWordReader.shortened(Substring(text)))', "
                    + "expected failover, multibus or group_by_prio")
        }
        self = policy
    }

    /// Groups `paths` and orders the groups best first, like multipath-tools' `group_paths`:
    /// with `marginalPathGroups` and both kinds present, marginal and healthy paths are grouped
    /// separately; then groups are stably sorted by (healthy before marginal, priority
    /// descending, usable paths descending).
    public func group(_ paths: [GroupingPath], marginalPathGroups: Bool = false) -> [PathGrouping] {
        guard !paths.isEmpty else { return [] }
        let indices = Array(paths.indices)
        var groups: [PathGrouping]
        let marginal = indices.filter { paths[$0].marginal }
        if marginalPathGroups && !marginal.isEmpty && marginal.count < paths.count {
            let healthy = indices.filter { !paths[$0].marginal }
            groups = partition(healthy, of: paths) + partition(marginal, of: paths)
        } else {
            groups = partition(indices, of: paths)
        }
        return Self.sorted(groups)
    }

    private func partition(_ indices: [Int], of paths: [GroupingPath]) -> [PathGrouping] {
        switch self {
        case .failover:
            return indices.map { PathGrouping(members: [$0], of: paths) }
        case .multibus:
            return [PathGrouping(members: indices, of: paths)]
        case .groupByPrio:
            // Groups in order of each priority's first appearance, members in path order.
            var order: [Int] = []
            var members: [Int: [Int]] = [:]
            for index in indices {
                let priority = paths[index].priority
                if members[priority] == nil { order.append(priority) }
                members[priority, default: []].append(index)
            }
            return order.map { PathGrouping(members: members[$0] ?? [], of: paths) }
        }
    }

    /// multipath-tools' `sort_pathgroups`: a stable sort, so equal groups keep path order.
    static func sorted(_ groups: [PathGrouping]) -> [PathGrouping] {
        groups.enumerated().sorted { lhs, rhs in
            let a = lhs.element, b = rhs.element
            if a.marginal != b.marginal { return !a.marginal }
            if a.priority != b.priority { return a.priority > b.priority }
            if a.enabledPaths != b.enabledPaths { return a.enabledPaths > b.enabledPaths }
            return lhs.offset < rhs.offset
        }.map(\.element)
    }
}
