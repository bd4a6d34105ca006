import CDeviceMapper
import Foundation

/// Version of the kernel's device-mapper ioctl interface, e.g. 4.47.0.
public struct DMDriverVersion: Equatable, Sendable, CustomStringConvertible {
    public var major: UInt32
    public var minor: UInt32
    public var patch: UInt32

    public init(major: UInt32, minor: UInt32, patch: UInt32) {
        self.major = major
        self.minor = minor
        self.patch = patch
    }

    public var description: String { "\(major).\(minor).\(patch)" }
}

/// Whether this machine can serve maps through the kernel's device-mapper.
public struct DeviceMapperAvailability {
    /// The control node libdevmapper talks to.
    public static let defaultControlPath = "/dev/mapper/control"

    /// Usable when `controlPath` exists, is a character device, opens read-write and answers the
    /// DM_VERSION ioctl with interface version 4; otherwise the error says which step failed,
    /// naming the path.
    public static func check(controlPath: String = defaultControlPath) -> Result<Void, DeviceMapperError> {
        probe(controlPath: controlPath).map { _ in () }
    }

    /// `check`, answering the driver's interface version when usable.
    public static func probe(controlPath: String = defaultControlPath) -> Result<DMDriverVersion, DeviceMapperError> {
        if let problem = nodeProblem(controlPath: controlPath) { return .failure(problem) }
        let fd = open(controlPath, O_RDWR | O_CLOEXEC)
        if fd < 0 {
            let code = errno
            let hint: String
            switch code {
            case ENODEV, ENXIO: hint = " (the dm-mod driver is not loaded)"
            case EACCES, EPERM: hint = " (device-mapper needs root)"
            default: hint = ""
            }
            return .failure(unavailable("\(controlPath) cannot be opened read-write: \(errnoText(code))\(hint)", errno: code))
        }
        defer { close(fd) }
        var info = stat()
        let number = fstat(fd, &info) == 0 ? "\(DeviceNumber(rawValue: UInt64(info.st_rdev)))" : "?"

        var words: [UInt32] = [0, 0, 0]
        if cdm_driver_version_ioctl(fd, &words) != 0 {
            let code = errno
            return .failure(unavailable(
                "\(controlPath) (character device \(number)) is not the device-mapper control node: "
                    + "the DM_VERSION ioctl failed: \(errnoText(code))",
                errno: code))
        }
        let version = DMDriverVersion(major: words[0], minor: words[1], patch: words[2])
        guard version.major == UInt32(DM_VERSION_MAJOR) else {
            return .failure(unavailable(
                "\(controlPath) speaks device-mapper interface \(version), this program needs \(DM_VERSION_MAJOR).x"))
        }
        return .success(version)
    }

    /// The checks that need no open: the node exists and is a character device. `DMClient`
    /// runs these before every operation.
    static func nodeProblem(controlPath: String) -> DeviceMapperError? {
        var info = stat()
        if stat(controlPath, &info) != 0 {
            let code = errno
            if code == ENOENT || code == ENOTDIR {
                return unavailable("\(controlPath) does not exist (this kernel has no dm-mod)", errno: code)
            }
            return unavailable("cannot stat \(controlPath): \(errnoText(code))", errno: code)
        }
        let type = info.st_mode & S_IFMT
        guard type == S_IFCHR else {
            return unavailable("\(controlPath) is \(fileTypeName(type)), not a character device")
        }
        return nil
    }

    static func unavailable(_ reason: String, errno code: Int32? = nil) -> DeviceMapperError {
        DeviceMapperError(kind: .unavailable, operation: "availability", map: nil, errnoCode: code,
                          message: "device-mapper is not available: \(reason); use data_plane fuse")
    }

    /// "a regular file", "a directory", … for the article-and-noun in error sentences.
    static func fileTypeName(_ type: mode_t) -> String {
        switch type {
        case S_IFREG: return "a regular file"
        case S_IFDIR: return "a directory"
        case S_IFBLK: return "a block device"
        case S_IFCHR: return "a character device"
        case S_IFIFO: return "a FIFO"
        case S_IFSOCK: return "a socket"
        case S_IFLNK: return "a symbolic link"
        default: return "an unknown kind of file"
        }
    }
}

/// Where a map's data is served: a FUSE file on a loop device, or a kernel dm-multipath map.
public enum DataPlaneChoice: String, Equatable, Sendable {
    case fuse
    case dm

    /// Resolves the `data_plane` setting: "fuse" always serves through FUSE; "dm" needs
    /// device-mapper and throws `check`'s error when it is unusable; "auto" takes dm when
    /// usable and FUSE otherwise. Case and surrounding blanks are ignored.
    public static func choose(
        configured: String,
        check: () -> Result<Void, DeviceMapperError> = { DeviceMapperAvailability.check() }
    ) throws -> DataPlaneChoice {
        let value = configured.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
        switch value {
        case "fuse":
            return .fuse
        case "dm":
            if case .failure(let error) = check() { throw error }
            return .dm
        case "auto":
            if case .success = check() { return .dm }
            return .fuse
        default:
            let shown = value.count > 40 ? String(value.prefix(40)) + "…" : value
            throw DeviceMapperError(
                kind: .invalidConfiguration, operation: "data_plane", map: nil,
                message: "data_plane must be fuse, dm or auto, found '\(shown)'")
        }
    }
}
