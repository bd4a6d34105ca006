/// Map-wide settings that shape the device-mapper table.
public struct DMTablePolicy: Equatable, Hashable, Sendable {
    /// Selector with its argument count, e.g. "service-time 0".
    public var selector: String
    /// Decides whether `queue_if_no_path` is in the features.
    public var noPathRetry: NoPathRetry
    /// Other feature words, e.g. `["pg_init_retries", "50"]`. A `queue_if_no_path` here is
    /// dropped: `noPathRetry` supersedes it, as in multipath-tools.
    public var features: [String]
    /// Hardware handler words, e.g. `["alua"]`.
    public var hardwareHandler: [String]
    /// `rr_min_io_rq`: the per-path repeat count written for every path.
    public var minIO: Int
    /// `rr_weight priorities`: multiply the repeat count by the path priority.
    public var weightByPriority: Bool

    public init(selector: String = "service-time 0", noPathRetry: NoPathRetry = .fail, features: [String] = [],
                hardwareHandler: [String] = [], minIO: Int = 1, weightByPriority: Bool = false) {
        self.selector = selector
        self.noPathRetry = noPathRetry
        self.features = features
        self.hardwareHandler = hardwareHandler
        self.minIO = minIO
        self.weightByPriority = weightByPriority
    }
}

/// Builds the table multipath-tools' `assemble_map` would load for a map: per group
/// `"<selector> <#paths> 1"` and per path `"<dev> <minio>"`, features from `no_path_retry`,
/// and the active group as the initial group.
public enum DMTableBuilder {
    /// Builds and validates the table. Groups without paths are left out (the kernel refuses
    /// them). `initialGroup` (1-based, counting the groups of `map`) overrides the group in
    /// status active; without either the first group is initial.
    public static func build(_ map: MapView, policy: DMTablePolicy = DMTablePolicy(),
                             initialGroup: Int? = nil) throws(DMTableError) -> DMMultipathTable {
        let selectorWords = DMWordReader.trimmed(policy.selector)
            .split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard let selectorName = selectorWords.first else {
            throw DMTableError("dm table: empty path selector")
        }
        let selectorArgs = Array(selectorWords.dropFirst(2))
        if selectorWords.count > 1 {
            guard let declared = DMWordReader.decimal(Substring(selectorWords[1])),
                  declared == selectorArgs.count else {
                throw DMTableError("dm table: path selector '\(policy.selector)' does not count its args correctly")
            }
        }
        guard map.sizeBytes >= 512 else {
            throw DMTableError("dm table: map \(map.name) has size \(map.sizeBytes) bytes, less than one sector")
        }
        let minIO = max(1, policy.minIO)

        var groups: [DMPathGroup] = []
        var initial = 0
        for (index, group) in map.groups.enumerated() where !group.paths.isEmpty {
            let paths = group.paths.map { path -> DMPath in
                let repeatCount = policy.weightByPriority && path.priority > 0 ? minIO * path.priority : minIO
                return DMPath(device: path.device, args: [String(repeatCount)])
            }
            groups.append(DMPathGroup(selector: selectorName, selectorArgs: selectorArgs, pathArgCount: 1, paths: paths))
            let wanted = initialGroup.map { $0 == index + 1 } ?? (group.status == .active)
            if wanted && initial == 0 { initial = groups.count }
        }
        if initial == 0 && !groups.isEmpty { initial = 1 }

        let features = policy.features.filter { $0.lowercased() != "queue_if_no_path" } + policy.noPathRetry.features
        let table = DMMultipathTable(start: 0, length: map.sizeBytes / 512, features: features,
                                     hardwareHandler: policy.hardwareHandler, initialGroup: initial, groups: groups)
        try table.validate()
        return table
    }
}
