/// Options that only make sense once per daemon (`defaults` section only).
public struct GlobalSettings: Equatable, Sendable {
    /// `polling_interval` (s): path checker interval for failed paths.
    public var pollingInterval = 5
    /// `max_polling_interval` (s); nil = 4 × polling_interval.
    public var maxPollingInterval: Int?
    /// `find_multipaths` (kept as written; mpath-iscsi multipaths every logged-in LUN).
    public var findMultipaths = "strict"
    /// `checker_timeout` (s); nil = the SCSI command timeout.
    public var checkerTimeout: Int?
    /// `queue_without_daemon`
    public var queueWithoutDaemon = false
    /// `metrics_port` (mpath-iscsi): Prometheus endpoint on 127.0.0.1; 0 = off.
    public var metricsPort = 0
    /// `data_plane` (mpath-iscsi)
    public var dataPlane = DataPlane.auto
    /// `path_devices` (mpath-iscsi): also export each path as its own block device.
    public var pathDevices = false
    /// `io_timeout_floor_ms` (mpath-iscsi): lower bound of the adaptive per-IO timeout.
    public var ioTimeoutFloorMs = 300
    /// `io_timeout_ceiling_ms` (mpath-iscsi): upper bound of the adaptive per-IO timeout.
    public var ioTimeoutCeilingMs = 30_000

    public init() {}

    /// The interval healthy paths back off to.
    public var effectiveMaxPollingInterval: Int {
        max(maxPollingInterval ?? 4 * pollingInterval, pollingInterval)
    }

    static let parsers: [String: (inout GlobalSettings, String) throws -> Void] = [
        "polling_interval": { $0.pollingInterval = try MultipathValue.integer($1, 1...3600) },
        "max_polling_interval": { $0.maxPollingInterval = try MultipathValue.integer($1, 1...3600) },
        "find_multipaths": { settings, text in
            guard !text.isEmpty else { throw ValueError("value is empty") }
            settings.findMultipaths = text
        },
        "checker_timeout": { $0.checkerTimeout = try MultipathValue.integer($1, 1...3600) },
        "queue_without_daemon": { $0.queueWithoutDaemon = try MultipathValue.bool($1) },
        "metrics_port": { $0.metricsPort = try MultipathValue.integer($1, 0...65535) },
        "data_plane": { $0.dataPlane = try MultipathValue.enumeration($1, DataPlane.self) },
        "path_devices": { $0.pathDevices = try MultipathValue.bool($1) },
        "io_timeout_floor_ms": { $0.ioTimeoutFloorMs = try MultipathValue.integer($1, 1...3_600_000) },
        "io_timeout_ceiling_ms": { $0.ioTimeoutCeilingMs = try MultipathValue.integer($1, 1...3_600_000) },
    ]
}

/// A `devices { device { … } }` entry.
public struct DeviceEntry: Equatable, Sendable {
    /// Vendor and product expressions (both required, as in multipath-tools).
    public var match: DeviceMatch
    /// `revision` expression, accepted and kept (not used for matching).
    public var revision: ConfRegex?
    /// Options set in the entry.
    public var settings: MapSettings
    /// Where the entry starts, for messages.
    public var file: String
    /// Line of the entry's opening brace.
    public var line: Int

    public init(
        match: DeviceMatch, revision: ConfRegex? = nil, settings: MapSettings = MapSettings(), file: String = "",
        line: Int = 0
    ) {
        self.match = match
        self.revision = revision
        self.settings = settings
        self.file = file
        self.line = line
    }
}

/// A `multipaths { multipath { … } }` entry.
public struct MultipathEntry: Equatable, Sendable {
    /// Exact WWID (not a regex).
    public var wwid: String
    /// `alias`: the map name for this WWID.
    public var alias: String?
    /// Options set in the entry.
    public var settings: MapSettings
    /// Where the entry starts, for messages.
    public var file: String
    /// Line of the entry's opening brace.
    public var line: Int

    public init(wwid: String, alias: String? = nil, settings: MapSettings = MapSettings(), file: String = "", line: Int = 0) {
        self.wwid = wwid
        self.alias = alias
        self.settings = settings
        self.file = file
        self.line = line
    }
}

/// An `overrides { protocol { type … } }` entry.
public struct ProtocolEntry: Equatable, Sendable {
    /// Protocol string such as "scsi:iscsi" (exact match).
    public var type: String
    /// Options set in the entry.
    public var settings: MapSettings
    /// Where the entry starts, for messages.
    public var file: String
    /// Line of the entry's opening brace.
    public var line: Int

    public init(type: String, settings: MapSettings = MapSettings(), file: String = "", line: Int = 0) {
        self.type = type
        self.settings = settings
        self.file = file
        self.line = line
    }
}

/// multipath.conf, typed, with mpath-iscsi's defaults.
public struct MultipathConfiguration: Equatable, Sendable {
    /// Daemon-wide options from `defaults`.
    public var global = GlobalSettings()
    /// Per-map options set in the `defaults` section.
    public var defaults = MapSettings()
    /// The `blacklist` section (all occurrences, all files).
    public var blacklist = BlacklistRules()
    /// The `blacklist_exceptions` section.
    public var blacklistExceptions = BlacklistRules()
    /// In file order; later entries win where several match.
    public var devices: [DeviceEntry] = []
    /// In file order; entries repeating a WWID are merged, later wins.
    public var multipaths: [MultipathEntry] = []
    /// Options of the `overrides` section.
    public var overrides = MapSettings()
    /// `overrides { protocol { … } }` entries in file order.
    public var protocolOverrides: [ProtocolEntry] = []

    /// The built-in configuration (no file).
    public init() {}

    static let multipathsOrigin = "(setting: multipath.conf multipaths section)"
    static let protocolOrigin = "(setting: multipath.conf overrides protocol section)"
    static let overridesOrigin = "(setting: multipath.conf overrides section)"
    static let deviceOrigin = "(setting: storage device configuration)"
    static let defaultsOrigin = "(setting: multipath.conf defaults/devices section)"

    /// Resolves every per-map option for a device with multipath-tools' precedence:
    /// multipaths > overrides protocol > overrides > devices > defaults > built-in.
    public func effective(forWWID wwid: String, vendor: String, product: String) -> MapPolicy {
        var policy = MapPolicy(wwid: wwid)
        let mapEntries = multipaths.filter { $0.wwid == wwid }
        let mapSettings = mapEntries.reduce(MapSettings()) { $0.merging($1.settings) }
        let protocolSettings = protocolOverrides.filter { $0.type == Self.iscsiProtocol }
            .reduce(MapSettings()) { $0.merging($1.settings) }
        let deviceSettings = devices.filter { $0.match.matches(vendor: vendor, product: product) }
            .reduce(MapSettings()) { $0.merging($1.settings) }
        let layers: [(MapSettings, String)] = [
            (mapSettings, Self.multipathsOrigin),
            (protocolSettings, Self.protocolOrigin),
            (overrides, Self.overridesOrigin),
            (deviceSettings, Self.deviceOrigin),
            (defaults, Self.defaultsOrigin),
        ]
        for key in MapKey.all {
            policy.provenance[key.name] = MapPolicy.internalOrigin
            for (settings, origin) in layers where key.resolve(&policy, settings) {
                policy.provenance[key.name] = origin
                break
            }
        }
        if let alias = mapEntries.compactMap(\.alias).last {
            policy.alias = alias
            policy.provenance["alias"] = Self.multipathsOrigin
        }
        reconcileQueueing(&policy)
        return policy
    }

    /// no_path_retry supersedes a queue_if_no_path feature (multipath-tools semantics): an
    /// explicit no_path_retry wins; otherwise the feature means "queue".
    private func reconcileQueueing(_ policy: inout MapPolicy) {
        let feature = MapPolicy.queueIfNoPathFeature
        guard policy.features.words.contains(feature) else { return }
        policy.features.words.removeAll { $0 == feature }
        let featuresOrigin = policy.provenance["features"] ?? MapPolicy.internalOrigin
        if policy.provenance["no_path_retry"] == MapPolicy.internalOrigin {
            policy.noPathRetry = .queue
            policy.provenance["no_path_retry"] = featuresOrigin
            policy.notes.append(
                "features \"\(feature)\" \(featuresOrigin) is deprecated; it sets no_path_retry queue")
        } else {
            policy.notes.append(
                "features \"\(feature)\" \(featuresOrigin) ignored: no_path_retry \(policy.noPathRetry) "
                    + "\(policy.provenance["no_path_retry"] ?? "") takes precedence")
        }
    }
}
