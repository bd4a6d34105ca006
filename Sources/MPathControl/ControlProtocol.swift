import Multipath

/// The requests `mpathctl` sends to `mpathd` over RUN_DIR/mpathd.sock: one JSON object per line,
/// answered by one `ControlResponse` line. Names follow multipathd's CLI where one exists.
public enum ControlRequest: Codable, Equatable, Sendable {
    /// `multipath -ll` / `multipathd show topology`; nil map = every map.
    case status(map: String?)
    /// The device-mapper table of one map or all.
    case table(map: String?)
    /// `iscsiadm -m session -P level`.
    case sessions(printLevel: Int)
    /// Log in the node records matching the selector (`all` = every record).
    case login(NodeSelector)
    /// Log out matching sessions; refused for the last path of a map in use unless `force`.
    case logout(NodeSelector, force: Bool)
    case failPath(path: String)
    case reinstatePath(path: String)
    /// 1-based group number, like `multipathd switchgroup map M group N`.
    case switchGroup(map: String, group: Int)
    /// READ CAPACITY on every path (`iscsiadm -m session -R`); nil = all maps.
    case rescan(map: String?)
    /// Grow (or with force, shrink) a map to the size its paths agree on.
    case resize(map: String, force: Bool)
    /// Daemon liveness and version.
    case ping
}

/// Which node records / sessions a login or logout applies to (iscsiadm's -T/-p/-I, or --all).
public struct NodeSelector: Codable, Equatable, Sendable {
    public var all: Bool
    public var target: String?
    /// `HOST[:PORT][,TPGT]` as typed; the daemon parses it.
    public var portal: String?
    public var iface: String?

    public init(all: Bool = false, target: String? = nil, portal: String? = nil, iface: String? = nil) {
        self.all = all
        self.target = target
        self.portal = portal
        self.iface = iface
    }
}

/// One login attempt's outcome, for `mpathctl login` to print like iscsiadm does.
public struct LoginOutcome: Codable, Equatable, Sendable {
    public var target: String
    /// `127.0.0.2:3260,1`
    public var portal: String
    public var iface: String
    /// nil on success.
    public var error: String?

    public init(target: String, portal: String, iface: String, error: String?) {
        self.target = target
        self.portal = portal
        self.iface = iface
        self.error = error
    }
}

/// One session as `mpathctl session -P N` shows it.
public struct SessionInfo: Codable, Equatable, Sendable {
    /// Session id, stable while the daemon runs (like iscsiadm's sid).
    public var sid: Int
    public var target: String
    /// `127.0.0.2:3260,1`
    public var portal: String
    public var iface: String
    /// Source address the session is bound to, or nil for the default route.
    public var localAddress: String?
    /// ISID as 12 hex digits.
    public var isid: String
    public var tsih: Int
    /// LOGGED_IN, FAILED, LOGGING_IN, FREE (open-iscsi's words).
    public var state: String
    /// Negotiated login keys in a stable order: (key, value).
    public var negotiated: [KeyValue]
    /// Timeouts in effect (noop_out_interval, noop_out_timeout, replacement_timeout, login_timeout).
    public var timeouts: [KeyValue]
    /// Whether CHAP was used; the username only, never the secret.
    public var chapUsername: String?
    public var attached: [AttachedLUN]

    public struct KeyValue: Codable, Equatable, Sendable {
        public var key: String
        public var value: String
        public init(_ key: String, _ value: String) {
            self.key = key
            self.value = value
        }
    }

    /// A LUN of this session and the path/map it serves.
    public struct AttachedLUN: Codable, Equatable, Sendable {
        public var lun: Int
        public var path: String
        public var map: String?
        /// `/dev/loop3` of the map, when attached.
        public var device: String?
        /// running | failed
        public var state: String

        public init(lun: Int, path: String, map: String?, device: String?, state: String) {
            self.lun = lun
            self.path = path
            self.map = map
            self.device = device
            self.state = state
        }
    }

    public init(sid: Int, target: String, portal: String, iface: String, localAddress: String?, isid: String, tsih: Int,
                state: String, negotiated: [KeyValue], timeouts: [KeyValue], chapUsername: String?, attached: [AttachedLUN]) {
        self.sid = sid
        self.target = target
        self.portal = portal
        self.iface = iface
        self.localAddress = localAddress
        self.isid = isid
        self.tsih = tsih
        self.state = state
        self.negotiated = negotiated
        self.timeouts = timeouts
        self.chapUsername = chapUsername
        self.attached = attached
    }
}

public enum ControlResponse: Codable, Equatable, Sendable {
    /// Done; the text is printed as is (may be empty).
    case ok(message: String)
    case status(StatusReport)
    /// One table line per map: `name: 0 2097152 multipath …`.
    case table(lines: [String])
    case sessions([SessionInfo])
    case logins([LoginOutcome])
    /// A refusal or failure, one clear line; `code` is the exit status mpathctl should use.
    case error(message: String, code: Int32)
    case pong(version: String, pid: Int32)
}
