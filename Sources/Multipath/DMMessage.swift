/// A malformed or inapplicable multipath target message.
public struct DMMessageError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Full text, e.g. "dm message: unknown command 'fail'".
    public let message: String

    public init(_ message: String) { self.message = message }

    public var description: String { message }
}

/// A message for the multipath target (`dmsetup message <map> 0 "<text>"`), as handled by the
/// kernel's `multipath_message`.
public enum DMMessage: Equatable, Hashable, Sendable, CustomStringConvertible {
    /// Take a path out of use (`fail_path 8:16`).
    case failPath(String)
    /// Put a failed path back in use.
    case reinstatePath(String)
    /// Use this 1-based group for the next IO; clears every group's bypass flag.
    case switchGroup(Int)
    /// Bypass a 1-based group until no other group has a usable path.
    case disableGroup(Int)
    /// Clear a group's bypass flag.
    case enableGroup(Int)
    /// Queue IO while no path is usable.
    case queueIfNoPath
    /// Fail IO (including IO already queued) while no path is usable.
    case failIfNoPath

    /// The message text, e.g. "fail_path 8:16".
    public var text: String {
        switch self {
        case .failPath(let device): return "fail_path \(device)"
        case .reinstatePath(let device): return "reinstate_path \(device)"
        case .switchGroup(let group): return "switch_group \(group)"
        case .disableGroup(let group): return "disable_group \(group)"
        case .enableGroup(let group): return "enable_group \(group)"
        case .queueIfNoPath: return "queue_if_no_path"
        case .failIfNoPath: return "fail_if_no_path"
        }
    }

    public var description: String { text }

    /// Reads a message; command words are case-insensitive like the kernel's `strcasecmp`.
    public static func parse(_ text: String) throws(DMMessageError) -> DMMessage {
        let words = DMWordReader.trimmed(text).split(whereSeparator: { $0 == " " || $0 == "\t" })
        guard let command = words.first?.lowercased() else {
            throw DMMessageError("dm message: empty message")
        }
        switch command {
        case "queue_if_no_path", "fail_if_no_path":
            guard words.count == 1 else {
                throw DMMessageError("dm message: '\(command)' takes no argument, found \(words.count - 1)")
            }
            return command == "queue_if_no_path" ? .queueIfNoPath : .failIfNoPath
        case "fail_path", "reinstate_path":
            guard words.count == 2 else {
                throw DMMessageError("dm message: '\(command)' needs exactly one device, found \(words.count - 1) args")
            }
            let device = words[1]
            guard DMDevice.isPlausible(device) else {
                throw DMMessageError("dm message: '\(DMWordReader.shortened(device))' is not a device")
            }
            return command == "fail_path" ? .failPath(String(device)) : .reinstatePath(String(device))
        case "switch_group", "disable_group", "enable_group":
            guard words.count == 2 else {
                throw DMMessageError("dm message: '\(command)' needs exactly one group number, found \(words.count - 1) args")
            }
            guard let group = DMWordReader.decimal(words[1]), (1...DMMultipathTable.maxGroups).contains(group) else {
                throw DMMessageError(
                    "dm message: group number must be 1...\(DMMultipathTable.maxGroups), found '\(DMWordReader.shortened(words[1]))'")
            }
            switch command {
            case "switch_group": return .switchGroup(group)
            case "disable_group": return .disableGroup(group)
            default: return .enableGroup(group)
            }
        default:
            throw DMMessageError("dm message: unknown command '\(DMWordReader.shortened(words[0]))'")
        }
    }

    /// Checks that the message refers to a group or device that `table` has, as the kernel
    /// would (it answers EINVAL otherwise).
    public func validate(against table: DMMultipathTable) throws(DMMessageError) {
        switch self {
        case .switchGroup(let group), .disableGroup(let group), .enableGroup(let group):
            guard group >= 1 && group <= table.groups.count else {
                throw DMMessageError("dm message: group \(group) does not exist (map has \(table.groups.count))")
            }
        case .failPath(let device), .reinstatePath(let device):
            guard table.groups.contains(where: { $0.paths.contains { $0.device == device } }) else {
                throw DMMessageError("dm message: device \(device) is not a path of this map")
            }
        case .queueIfNoPath, .failIfNoPath:
            return
        }
    }
}
