/// One uevent of a block device, as the udev monitor delivers it.
public struct UdevEvent: Equatable, Sendable {
    /// What happened to the device.
    public enum Action: Equatable, Sendable, CustomStringConvertible {
        case add
        case change
        case remove
        /// Anything else ("move", "online", "bind", …), spelled as received.
        case other(String)

        public init(_ text: String) {
            switch text {
            case "add": self = .add
            case "change": self = .change
            case "remove": self = .remove
            default: self = .other(text)
            }
        }

        public var description: String {
            switch self {
            case .add: return "add"
            case .change: return "change"
            case .remove: return "remove"
            case .other(let text): return text
            }
        }
    }

    public var action: Action
    /// Device node, e.g. "/dev/sdb" or "/dev/dm-0"; nil when the event has none.
    public var devnode: String?
    /// Device number; nil when the event has none.
    public var devnum: DeviceNumber?
    /// Kernel name, e.g. "sdb" or "dm-0".
    public var sysname: String?
    /// Every udev property of the event (ACTION, DEVNAME, MAJOR, RESIZE, DM_UUID, …).
    public var properties: [String: String]

    public init(action: Action, devnode: String? = nil, devnum: DeviceNumber? = nil, sysname: String? = nil,
                properties: [String: String] = [:]) {
        self.action = action
        self.devnode = devnode
        self.devnum = devnum
        self.sysname = sysname
        self.properties = properties
    }

    /// A `change` with RESIZE=1: the capacity changed (sd revalidated, `set_capacity_and_notify`).
    public var isResize: Bool { properties["RESIZE"] == "1" }

    /// The device-mapper UUID, e.g. "mpath-3600…", for dm devices.
    public var dmUUID: String? { properties["DM_UUID"] }

    /// A dm-multipath map (DM_UUID starts with "mpath-").
    public var isMultipathMap: Bool { dmUUID?.hasPrefix(DMClient.uuidPrefix) ?? false }
}
