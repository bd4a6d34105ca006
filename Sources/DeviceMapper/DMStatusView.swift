import Multipath

/// Turns what the kernel reports for a map (`dmsetup table` + `dmsetup status`) into the
/// `MapView` that `mpathctl status` and `multipath -ll` print, so a dm-served map reads the same
/// as a FUSE-served one.
public enum DMStatusView {
    /// What the daemon knows about one path that the kernel does not.
    public struct PathMetadata: Equatable, Sendable {
        /// Display name and stable id.
        public var id: PathID
        /// Target portal, e.g. "127.0.0.2:3260".
        public var portal: String
        public var iface: String
        /// Target IQN.
        public var target: String
        public var lun: Int
        public var priority: Int
        /// The last check; nil to derive it from the kernel's state (active ready, failed faulty).
        public var checker: CheckerState?
        /// The session state; nil when unknown (printed "undef").
        public var deviceState: PathDeviceState?
        public var nopRTTMicros: Int?
        public var ioCount: UInt64
        public var bytes: UInt64
        public var errors: UInt64

        public init(id: PathID, portal: String, iface: String = "default", target: String, lun: Int,
                    priority: Int = 1, checker: CheckerState? = nil, deviceState: PathDeviceState? = nil,
                    nopRTTMicros: Int? = nil, ioCount: UInt64 = 0, bytes: UInt64 = 0, errors: UInt64 = 0) {
            self.id = id
            self.portal = portal
            self.iface = iface
            self.target = target
            self.lun = lun
            self.priority = priority
            self.checker = checker
            self.deviceState = deviceState
            self.nopRTTMicros = nopRTTMicros
            self.ioCount = ioCount
            self.bytes = bytes
            self.errors = errors
        }
    }

    /// Builds the view of one map.
    ///
    /// - Parameters:
    ///   - name: the map name (alias).
    ///   - wwid: the WWID (see `DMClient.wwid(fromUUID:)`).
    ///   - device: the exported node, e.g. "dm-0" or "/dev/mapper/mpatha".
    ///   - status: the map's status line, parsed.
    ///   - table: the map's table, parsed; it supplies the selectors, features and hardware
    ///     handler, and must have the same groups and paths as `status`.
    ///   - paths: metadata by path device string ("8:16"); a device without an entry is shown
    ///     with its device string as name and "-" for portal, iface and target, LUN 0.
    public static func mapView(name: String, wwid: String, device: String, vendor: String = "-",
                               product: String = "-", readOnly: Bool = false, status: DMMultipathStatus,
                               table: DMMultipathTable, paths: [String: PathMetadata]) throws -> MapView {
        guard status.groups.count == table.groups.count else {
            throw DeviceMapperError.operation(
                .unexpectedResponse, "status", map: name,
                "status has \(status.groups.count) path groups, table has \(table.groups.count)")
        }
        var groups: [PathGroupView] = []
        for (index, (groupStatus, groupTable)) in zip(status.groups, table.groups).enumerated() {
            let statusDevices = groupStatus.paths.map(\.device)
            let tableDevices = groupTable.paths.map(\.device)
            guard statusDevices == tableDevices else {
                throw DeviceMapperError.operation(
                    .unexpectedResponse, "status", map: name,
                    "group \(index + 1) lists paths \(statusDevices.joined(separator: " ")) in status "
                        + "but \(tableDevices.joined(separator: " ")) in the table")
            }
            let views = groupStatus.paths.map { pathView($0, metadata: paths[$0.device]) }
            let grouping = views.map {
                GroupingPath(priority: $0.priority, usable: $0.dmState == .active)
            }
            let selector = ([groupTable.selector, String(groupTable.selectorArgs.count)] + groupTable.selectorArgs)
                .joined(separator: " ")
            groups.append(PathGroupView(selector: selector, priority: PathGrouping.priority(of: grouping).priority,
                                        status: groupStatus.state.groupStatus, paths: views))
        }
        return MapView(name: name, wwid: wwid, device: device, vendor: vendor, product: product,
                       sizeBytes: table.length * 512,
                       features: counted(table.features), hwhandler: counted(table.hardwareHandler),
                       writeProtect: readOnly ? "ro" : "rw", groups: groups)
    }

    /// One path: the kernel's A/F and fail count, the rest from `metadata`.
    static func pathView(_ path: DMPathStatus, metadata: PathMetadata?) -> PathView {
        let dmState: PathDMState = path.failed ? .failed : .active
        let derivedChecker: CheckerState = path.failed ? .faulty : .ready
        guard let metadata else {
            return PathView(id: PathID(name: path.device, id: path.device), device: path.device, portal: "-",
                            iface: "-", target: "-", lun: 0, dmState: dmState, checker: derivedChecker,
                            deviceState: .undef, priority: PathPriority.undefined, failCount: path.failCount)
        }
        return PathView(id: metadata.id, device: path.device, portal: metadata.portal, iface: metadata.iface,
                        target: metadata.target, lun: metadata.lun, dmState: dmState,
                        checker: metadata.checker ?? derivedChecker, deviceState: metadata.deviceState ?? .undef,
                        priority: metadata.priority, nopRTTMicros: metadata.nopRTTMicros, ioCount: metadata.ioCount,
                        bytes: metadata.bytes, errors: metadata.errors, failCount: path.failCount)
    }

    /// "0", or "1 queue_if_no_path": the count, then the words, as multipath -ll prints them.
    static func counted(_ words: [String]) -> String {
        ([String(words.count)] + words).joined(separator: " ")
    }
}
