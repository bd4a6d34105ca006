/// Identity of one path: a short display name and a stable id that survives restarts.
public struct PathID: Hashable, Codable, Sendable, CustomStringConvertible {
    /// Short name used in listings and commands, e.g. "p1".
    public var name: String
    /// Stable id, e.g. "ip-127.0.0.2:3260-iscsi-iqn.2026-11.test:lun1-lun-1".
    public var id: String

    public init(name: String, id: String) {
        self.name = name
        self.id = id
    }

    /// A path id in the style of udev's `/dev/disk/by-path` names for iSCSI, so the same
    /// portal, target and LUN always get the same id.
    public static func byPath(name: String, portal: String, target: String, lun: Int) -> PathID {
        PathID(name: name, id: "ip-\(portal)-iscsi-\(target)-lun-\(lun)")
    }

    public var description: String { name }
}

/// Whether the map uses a path (the kernel's A/F), as `multipath -ll` prints it.
public enum PathDMState: String, Codable, Sendable, CaseIterable {
    case active
    case failed
}

/// Result of the last path check, spelled as `multipath -ll` prints it.
public enum CheckerState: String, Codable, Sendable, CaseIterable {
    case ready
    case faulty
    /// Up, but held back because it failed too often recently.
    case shaky
    /// Up but only usable after a group switch (ALUA standby).
    case ghost
    case pending = "i/o pending"
    case undef
}

/// State of the transport under a path (multipath -ll's "running"/"offline" column).
public enum PathDeviceState: String, Codable, Sendable, CaseIterable {
    /// Session logged in.
    case running
    /// Session recovering; IO is held.
    case blocked
    /// Session gone.
    case offline
    case undef
}

/// A path group's state, as `multipath -ll` prints it.
public enum PathGroupStatus: String, Codable, Sendable, CaseIterable {
    case active
    case enabled
    case disabled
    case undef
}

/// Summary of a map for scripts: every path in use, some, or none.
public enum MapHealth: String, Codable, Sendable, CaseIterable {
    case healthy
    case degraded
    case down
}

/// One path as the daemon reports it.
public struct PathView: Equatable, Sendable {
    /// Display name and stable id.
    public var id: PathID
    /// Short name, from `id`.
    public var name: String { id.name }
    /// `major:minor` or path id used in the device-mapper table.
    public var device: String
    /// Target portal, e.g. "127.0.0.2:3260".
    public var portal: String
    /// Initiator interface, e.g. "default".
    public var iface: String
    /// Target IQN.
    public var target: String
    public var lun: Int
    public var dmState: PathDMState
    public var checker: CheckerState
    public var deviceState: PathDeviceState
    public var priority: Int
    /// Last NOP-Out round trip in microseconds; nil until one completed.
    public var nopRTTMicros: Int?
    public var ioCount: UInt64
    public var bytes: UInt64
    public var errors: UInt64
    public var failCount: Int

    public init(id: PathID, device: String, portal: String, iface: String = "default", target: String,
                lun: Int, dmState: PathDMState = .active, checker: CheckerState = .ready,
                deviceState: PathDeviceState = .running, priority: Int = 1, nopRTTMicros: Int? = nil,
                ioCount: UInt64 = 0, bytes: UInt64 = 0, errors: UInt64 = 0, failCount: Int = 0) {
        self.id = id
        self.device = device
        self.portal = portal
        self.iface = iface
        self.target = target
        self.lun = lun
        self.dmState = dmState
        self.checker = checker
        self.deviceState = deviceState
        self.priority = priority
        self.nopRTTMicros = nopRTTMicros
        self.ioCount = ioCount
        self.bytes = bytes
        self.errors = errors
        self.failCount = failCount
    }
}

/// One path group as the daemon reports it.
public struct PathGroupView: Equatable, Sendable {
    /// Selector with its argument count, e.g. "service-time 0".
    public var selector: String
    /// Group priority (mean of the usable paths' priorities).
    public var priority: Int
    public var status: PathGroupStatus
    public var paths: [PathView]

    public init(selector: String = "service-time 0", priority: Int = 1, status: PathGroupStatus = .enabled,
                paths: [PathView]) {
        self.selector = selector
        self.priority = priority
        self.status = status
        self.paths = paths
    }
}

/// One multipath map as the daemon reports it.
public struct MapView: Equatable, Sendable {
    /// Alias, e.g. "mpatha" (or the WWID when there is no alias).
    public var name: String
    /// WWID as multipath prints it, e.g. "360000000000000000000a000e0000001".
    public var wwid: String
    /// Exported device, e.g. "/dev/loop3" or "dm-0"; "-" when not exported.
    public var device: String
    public var vendor: String
    public var product: String
    public var sizeBytes: UInt64
    /// Feature string with its count, e.g. "0" or "1 queue_if_no_path".
    public var features: String
    /// Hardware handler string with its count, e.g. "0" or "1 alua".
    public var hwhandler: String
    /// "rw" or "ro".
    public var writeProtect: String
    /// Path groups in table order.
    public var groups: [PathGroupView]

    public init(name: String, wwid: String, device: String = "-", vendor: String, product: String,
                sizeBytes: UInt64, features: String = "0", hwhandler: String = "0", writeProtect: String = "rw",
                groups: [PathGroupView]) {
        self.name = name
        self.wwid = wwid
        self.device = device
        self.vendor = vendor
        self.product = product
        self.sizeBytes = sizeBytes
        self.features = features
        self.hwhandler = hwhandler
        self.writeProtect = writeProtect
        self.groups = groups
    }

    /// All paths, group by group.
    public var paths: [PathView] { groups.flatMap(\.paths) }

    /// Healthy when every path is active, degraded when some are, down when none is (or the map
    /// has no path at all).
    public var health: MapHealth {
        var total = 0
        var active = 0
        for group in groups {
            for path in group.paths {
                total += 1
                if path.dmState == .active { active += 1 }
            }
        }
        if active == 0 { return .down }
        return active == total ? .healthy : .degraded
    }
}

// MARK: - JSON (`mpathctl status --json`)

/// Keys of a path object; `group` only appears inside a map's flattened `paths` array.
enum PathJSONKey: String, CodingKey {
    case name, id, device, portal, iface, target, lun, state, checker
    case deviceState = "device_state"
    case priority
    case nopRTTMicros = "nop_rtt_us"
    case ioCount = "io_count"
    case bytes, errors
    case failCount = "fail_count"
    case group
}

extension PathView: Codable {
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: PathJSONKey.self)
        try self.init(from: c)
    }

    init(from c: KeyedDecodingContainer<PathJSONKey>) throws {
        self.init(
            id: PathID(name: try c.decode(String.self, forKey: .name), id: try c.decode(String.self, forKey: .id)),
            device: try c.decode(String.self, forKey: .device),
            portal: try c.decode(String.self, forKey: .portal),
            iface: try c.decode(String.self, forKey: .iface),
            target: try c.decode(String.self, forKey: .target),
            lun: try c.decode(Int.self, forKey: .lun),
            dmState: try c.decode(PathDMState.self, forKey: .state),
            checker: try c.decode(CheckerState.self, forKey: .checker),
            deviceState: try c.decode(PathDeviceState.self, forKey: .deviceState),
            priority: try c.decode(Int.self, forKey: .priority),
            nopRTTMicros: try c.decodeIfPresent(Int.self, forKey: .nopRTTMicros),
            ioCount: try c.decode(UInt64.self, forKey: .ioCount),
            bytes: try c.decode(UInt64.self, forKey: .bytes),
            errors: try c.decode(UInt64.self, forKey: .errors),
            failCount: try c.decode(Int.self, forKey: .failCount))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: PathJSONKey.self)
        try encodeFields(into: &c)
    }

    func encodeFields(into c: inout KeyedEncodingContainer<PathJSONKey>) throws {
        try c.encode(name, forKey: .name)
        try c.encode(id.id, forKey: .id)
        try c.encode(device, forKey: .device)
        try c.encode(portal, forKey: .portal)
        try c.encode(iface, forKey: .iface)
        try c.encode(target, forKey: .target)
        try c.encode(lun, forKey: .lun)
        try c.encode(dmState, forKey: .state)
        try c.encode(checker, forKey: .checker)
        try c.encode(deviceState, forKey: .deviceState)
        try c.encode(priority, forKey: .priority)
        // Explicit null, so consumers can rely on the key being there.
        try c.encode(nopRTTMicros, forKey: .nopRTTMicros)
        try c.encode(ioCount, forKey: .ioCount)
        try c.encode(bytes, forKey: .bytes)
        try c.encode(errors, forKey: .errors)
        try c.encode(failCount, forKey: .failCount)
    }
}

/// A path in a map's flattened `paths` array, tagged with its 1-based group number.
private struct GroupedPathJSON: Codable {
    var path: PathView
    var group: Int

    init(path: PathView, group: Int) {
        self.path = path
        self.group = group
    }

    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: PathJSONKey.self)
        path = try PathView(from: c)
        group = try c.decode(Int.self, forKey: .group)
    }

    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: PathJSONKey.self)
        try path.encodeFields(into: &c)
        try c.encode(group, forKey: .group)
    }
}

/// A group summary in a map's `groups` array; its paths are listed by name and live in the
/// map's flattened `paths` array.
private struct GroupJSON: Codable {
    var number: Int
    var selector: String
    var priority: Int
    var status: PathGroupStatus
    var paths: [String]
}

extension MapView: Codable {
    enum CodingKeys: String, CodingKey {
        case name, wwid, device
        case sizeBytes = "size_bytes"
        case state, paths, groups, vendor, product, features, hwhandler
        case writeProtect = "write_protect"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let groupInfo = try c.decode([GroupJSON].self, forKey: .groups)
        let flatPaths = try c.decode([GroupedPathJSON].self, forKey: .paths)
        var groups = groupInfo.map {
            PathGroupView(selector: $0.selector, priority: $0.priority, status: $0.status, paths: [])
        }
        for entry in flatPaths {
            guard entry.group >= 1 && entry.group <= groups.count else {
                throw DecodingError.dataCorruptedError(
                    forKey: .paths, in: c,
                    debugDescription: "path \(entry.path.name) names group \(entry.group), map has \(groups.count)")
            }
            groups[entry.group - 1].paths.append(entry.path)
        }
        self.init(name: try c.decode(String.self, forKey: .name),
                  wwid: try c.decode(String.self, forKey: .wwid),
                  device: try c.decode(String.self, forKey: .device),
                  vendor: try c.decode(String.self, forKey: .vendor),
                  product: try c.decode(String.self, forKey: .product),
                  sizeBytes: try c.decode(UInt64.self, forKey: .sizeBytes),
                  features: try c.decode(String.self, forKey: .features),
                  hwhandler: try c.decode(String.self, forKey: .hwhandler),
                  writeProtect: try c.decode(String.self, forKey: .writeProtect),
                  groups: groups)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encode(wwid, forKey: .wwid)
        try c.encode(device, forKey: .device)
        try c.encode(sizeBytes, forKey: .sizeBytes)
        try c.encode(health, forKey: .state)
        try c.encode(vendor, forKey: .vendor)
        try c.encode(product, forKey: .product)
        try c.encode(features, forKey: .features)
        try c.encode(hwhandler, forKey: .hwhandler)
        try c.encode(writeProtect, forKey: .writeProtect)
        var flat: [GroupedPathJSON] = []
        var summaries: [GroupJSON] = []
        for (index, group) in groups.enumerated() {
            summaries.append(GroupJSON(number: index + 1, selector: group.selector, priority: group.priority,
                                       status: group.status, paths: group.paths.map(\.name)))
            flat += group.paths.map { GroupedPathJSON(path: $0, group: index + 1) }
        }
        try c.encode(flat, forKey: .paths)
        try c.encode(summaries, forKey: .groups)
    }
}
