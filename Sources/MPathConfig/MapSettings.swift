/// Per-map options as written in one section (defaults, devices/device, overrides,
/// overrides/protocol, multipaths/multipath). nil = not set there.
public struct MapSettings: Equatable, Sendable {
    /// `user_friendly_names`
    public var userFriendlyNames: Bool?
    /// `path_grouping_policy`
    public var pathGroupingPolicy: PathGroupingPolicy?
    /// `path_selector`
    public var pathSelector: PathSelector?
    /// `rr_min_io_rq`
    public var rrMinIORq: Int?
    /// `failback`
    public var failback: Failback?
    /// `no_path_retry`
    public var noPathRetry: NoPathRetry?
    /// `features`
    public var features: CountedArguments?
    /// `prio`
    public var prio: Prioritizer?
    /// `hardware_handler`
    public var hardwareHandler: CountedArguments?
    /// `auto_resize`
    public var autoResize: AutoResize?
    /// `fast_io_fail_tmo`
    public var fastIOFailTimeout: NumberOrOff?
    /// `dev_loss_tmo`
    public var devLossTimeout: DevLossTimeout?
    /// `san_path_err_threshold`
    public var sanPathErrThreshold: NumberOrOff?
    /// `san_path_err_forget_rate`
    public var sanPathErrForgetRate: NumberOrOff?
    /// `san_path_err_recovery_time`
    public var sanPathErrRecoveryTime: NumberOrOff?
    /// `marginal_path_double_failed_time`
    public var marginalPathDoubleFailedTime: NumberOrOff?
    /// `marginal_path_err_sample_time`
    public var marginalPathErrSampleTime: NumberOrOff?
    /// `marginal_path_err_rate_threshold`
    public var marginalPathErrRateThreshold: NumberOrOff?
    /// `marginal_path_err_recheck_gap_time`
    public var marginalPathErrRecheckGapTime: NumberOrOff?
    /// `path_checker`
    public var pathChecker: PathChecker?
    /// `detect_prio`
    public var detectPrio: Bool?
    /// `flush_on_last_del`
    public var flushOnLastDel: FlushOnLastDel?

    public init() {}

    /// Sets one keyword from its text; errors carry the key but no location.
    public mutating func set(key: String, value: String) throws {
        guard let mapKey = MapKey.byName[key] else {
            throw ConfigError(key: key, message: "not a per-map option")
        }
        do {
            try mapKey.parse(&self, value)
        } catch let error as ValueError {
            throw ConfigError(key: key, message: error.message)
        }
    }

    /// `self` with every option set in `newer` replacing ours (later entries win).
    public func merging(_ newer: MapSettings) -> MapSettings {
        var result = self
        for key in MapKey.all { key.overlay(&result, newer) }
        return result
    }

    /// The names of the options set here.
    public var setKeys: [String] { MapKey.all.filter { $0.isSet(self) }.map(\.name) }
}

/// The resolved options of one multipath map, with where each value came from.
public struct MapPolicy: Equatable, Sendable {
    /// The map's WWID.
    public var wwid: String
    /// Alias from a multipaths entry; nil means use the bindings file or the WWID.
    public var alias: String?
    /// `user_friendly_names`
    public var userFriendlyNames = false
    /// `path_grouping_policy`
    public var pathGroupingPolicy = PathGroupingPolicy.failover
    /// `path_selector`
    public var pathSelector = PathSelector.serviceTime
    /// `rr_min_io_rq`
    public var rrMinIORq = 1
    /// `failback`
    public var failback = Failback.manual
    /// `no_path_retry`
    public var noPathRetry = NoPathRetry.fail
    /// Configured features with queue_if_no_path removed (no_path_retry governs queueing).
    public var features = CountedArguments()
    /// `prio`
    public var prio = Prioritizer.const
    /// `hardware_handler`
    public var hardwareHandler = CountedArguments()
    /// `auto_resize`
    public var autoResize = AutoResize.growOnly
    /// `fast_io_fail_tmo`
    public var fastIOFailTimeout = NumberOrOff.value(5)
    /// `dev_loss_tmo`
    public var devLossTimeout = DevLossTimeout.systemDefault
    /// `san_path_err_threshold`
    public var sanPathErrThreshold = NumberOrOff.off
    /// `san_path_err_forget_rate`
    public var sanPathErrForgetRate = NumberOrOff.off
    /// `san_path_err_recovery_time`
    public var sanPathErrRecoveryTime = NumberOrOff.off
    /// `marginal_path_double_failed_time`
    public var marginalPathDoubleFailedTime = NumberOrOff.off
    /// `marginal_path_err_sample_time`
    public var marginalPathErrSampleTime = NumberOrOff.off
    /// `marginal_path_err_rate_threshold`
    public var marginalPathErrRateThreshold = NumberOrOff.off
    /// `marginal_path_err_recheck_gap_time`
    public var marginalPathErrRecheckGapTime = NumberOrOff.off
    /// `path_checker`
    public var pathChecker = PathChecker.tur
    /// `detect_prio`
    public var detectPrio = true
    /// `flush_on_last_del`
    public var flushOnLastDel = FlushOnLastDel.unused

    /// Keyword → origin, worded like multipath-tools, e.g.
    /// "(setting: multipath.conf multipaths section)".
    public var provenance: [String: String] = [:]
    /// Remarks from resolution, e.g. an ignored queue_if_no_path feature.
    public var notes: [String] = []

    /// Built-in defaults for `wwid`.
    public init(wwid: String) {
        self.wwid = wwid
    }

    /// True when IO is queued (for a while or forever) once all paths are down.
    public var queueIfNoPath: Bool { noPathRetry != .fail }

    /// The features argument for the dm table / data plane: the configured features plus
    /// queue_if_no_path while queueing is wanted.
    public var tableFeatures: CountedArguments {
        var words = features.words
        if queueIfNoPath { words.append(Self.queueIfNoPathFeature) }
        return CountedArguments(words)
    }

    /// `keyword = value (origin)` lines for every option, like multipathd's verbose output.
    public func explain() -> [String] {
        var lines: [String] = []
        if let alias {
            lines.append("alias = \(alias) \(provenance["alias"] ?? MapPolicy.internalOrigin)")
        }
        for key in MapKey.all {
            lines.append("\(key.name) = \(key.render(self)) \(provenance[key.name] ?? MapPolicy.internalOrigin)")
        }
        return lines + notes
    }

    static let queueIfNoPathFeature = "queue_if_no_path"
    static let internalOrigin = "(setting: multipath internal)"
}

/// One per-map keyword: parse into `MapSettings`, resolve into `MapPolicy`, render.
struct MapKey {
    let name: String
    /// Valid in an overrides/protocol section (path-level options only, as in multipath-tools).
    let isPathLevel: Bool
    let parse: (inout MapSettings, String) throws -> Void
    let isSet: (MapSettings) -> Bool
    let overlay: (inout MapSettings, MapSettings) -> Void
    /// Copies the value into the policy when `settings` has it; returns whether it did.
    let resolve: (inout MapPolicy, MapSettings) -> Bool
    let render: (MapPolicy) -> String

    static let all: [MapKey] = [
        make("user_friendly_names", \.userFriendlyNames, \.userFriendlyNames, MultipathValue.bool) { $0 ? "yes" : "no" },
        make("path_grouping_policy", \.pathGroupingPolicy, \.pathGroupingPolicy) {
            try MultipathValue.enumeration($0, PathGroupingPolicy.self)
        } render: { $0.rawValue },
        make("path_selector", \.pathSelector, \.pathSelector, PathSelector.parse) { "\"\($0.rawValue)\"" },
        make("rr_min_io_rq", \.rrMinIORq, \.rrMinIORq) { try MultipathValue.integer($0, 1...1_000_000) } render: {
            String($0)
        },
        make("failback", \.failback, \.failback, Failback.parse) { $0.description },
        make("no_path_retry", \.noPathRetry, \.noPathRetry, NoPathRetry.parse) { $0.description },
        make("features", \.features, \.features) { try CountedArguments(parsing: $0) } render: { "\"\($0)\"" },
        make("prio", \.prio, \.prio) { try MultipathValue.enumeration($0, Prioritizer.self) } render: { $0.rawValue },
        make("hardware_handler", \.hardwareHandler, \.hardwareHandler) { try CountedArguments(parsing: $0) } render: {
            "\"\($0)\""
        },
        make("auto_resize", \.autoResize, \.autoResize) { try MultipathValue.enumeration($0, AutoResize.self) } render: {
            $0.rawValue
        },
        make("fast_io_fail_tmo", \.fastIOFailTimeout, \.fastIOFailTimeout, pathLevel: true) {
            try MultipathValue.numberOrOff($0, 0...86400)
        } render: { $0.description },
        make("dev_loss_tmo", \.devLossTimeout, \.devLossTimeout, pathLevel: true, MultipathValue.devLoss) {
            $0.description
        },
        make("san_path_err_threshold", \.sanPathErrThreshold, \.sanPathErrThreshold, pathLevel: true) {
            try MultipathValue.numberOrOff($0, 1...1_000_000)
        } render: { $0.description },
        make("san_path_err_forget_rate", \.sanPathErrForgetRate, \.sanPathErrForgetRate, pathLevel: true) {
            try MultipathValue.numberOrOff($0, 1...1_000_000)
        } render: { $0.description },
        make("san_path_err_recovery_time", \.sanPathErrRecoveryTime, \.sanPathErrRecoveryTime, pathLevel: true) {
            try MultipathValue.numberOrOff($0, 1...86400)
        } render: { $0.description },
        make(
            "marginal_path_double_failed_time", \.marginalPathDoubleFailedTime, \.marginalPathDoubleFailedTime,
            pathLevel: true
        ) { try MultipathValue.numberOrOff($0, 1...86400) } render: { $0.description },
        // multipath-tools requires at least 120 s of sampling to judge an error rate.
        make(
            "marginal_path_err_sample_time", \.marginalPathErrSampleTime, \.marginalPathErrSampleTime,
            pathLevel: true
        ) { try MultipathValue.numberOrOff($0, 120...86400) } render: { $0.description },
        make(
            "marginal_path_err_rate_threshold", \.marginalPathErrRateThreshold, \.marginalPathErrRateThreshold,
            pathLevel: true
        ) { try MultipathValue.numberOrOff($0, 0...1000) } render: { $0.description },
        make(
            "marginal_path_err_recheck_gap_time", \.marginalPathErrRecheckGapTime, \.marginalPathErrRecheckGapTime,
            pathLevel: true
        ) { try MultipathValue.numberOrOff($0, 1...86400) } render: { $0.description },
        make("path_checker", \.pathChecker, \.pathChecker, pathLevel: true) {
            try MultipathValue.enumeration($0, PathChecker.self)
        } render: { $0.rawValue },
        make("detect_prio", \.detectPrio, \.detectPrio, pathLevel: true, MultipathValue.bool) { $0 ? "yes" : "no" },
        make("flush_on_last_del", \.flushOnLastDel, \.flushOnLastDel, MultipathValue.flushOnLastDel) { $0.rawValue },
    ]

    static let byName: [String: MapKey] = Dictionary(
        all.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })

    private static func make<T>(
        _ name: String, _ setting: WritableKeyPath<MapSettings, T?>, _ policy: WritableKeyPath<MapPolicy, T>,
        pathLevel: Bool = false, _ parse: @escaping (String) throws -> T, render: @escaping (T) -> String
    ) -> MapKey {
        MapKey(
            name: name, isPathLevel: pathLevel,
            parse: { settings, text in settings[keyPath: setting] = try parse(text) },
            isSet: { $0[keyPath: setting] != nil },
            overlay: { target, newer in
                if let value = newer[keyPath: setting] { target[keyPath: setting] = value }
            },
            resolve: { target, settings in
                guard let value = settings[keyPath: setting] else { return false }
                target[keyPath: policy] = value
                return true
            },
            render: { render($0[keyPath: policy]) })
    }
}
