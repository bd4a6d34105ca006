#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// One exported device file.
final class DeviceNode: @unchecked Sendable {
    let name: String
    let inode: UInt64
    let device: ExportedDevice
    /// Open file handles on this file; guarded by the registry lock.
    var openCount = 0
    /// open(2) flags of the latest open, for diagnostics; guarded by the registry lock.
    var lastOpenFlags: Int32 = 0

    init(name: String, inode: UInt64, device: ExportedDevice) {
        self.name = name
        self.inode = inode
        self.device = device
    }
}

/// Name and inode bookkeeping of the mount's single flat directory.
/// Inode numbers are never reused within one mount, so a kernel handle to a
/// removed device can never reach a newer device of the same name.
struct DeviceRegistry {
    /// The FUSE root directory's inode.
    static let rootInode: UInt64 = 1
    /// readdir cookies of "." and ".."; device cookies are inode + 1 (> 2).
    static let dotCookie: Int64 = 1
    static let dotDotCookie: Int64 = 2

    private var byName: [String: DeviceNode] = [:]
    private var byInode: [UInt64: DeviceNode] = [:]
    private var nextInode: UInt64 = 2

    init() {}

    /// Number of exported devices.
    var count: Int { byName.count }

    /// Names of the exported devices, sorted.
    var names: [String] { byName.keys.sorted() }

    /// Registers `device` under `name`.
    mutating func add(name: String, device: ExportedDevice) throws -> DeviceNode {
        try Self.validate(name: name)
        guard byName[name] == nil else {
            throw BlockExportError(operation: "export device \(name)", reason: "a device with this name is already exported", errno: EEXIST)
        }
        let node = DeviceNode(name: name, inode: nextInode, device: device)
        nextInode += 1
        byName[name] = node
        byInode[node.inode] = node
        return node
    }

    /// Unregisters `name`; refuses while the file is open (a loop device or
    /// another process still uses it).
    mutating func remove(name: String) throws -> DeviceNode {
        guard let node = byName[name] else {
            throw BlockExportError(operation: "remove device \(name)", reason: "no such exported device", errno: ENOENT)
        }
        guard node.openCount == 0 else {
            throw BlockExportError(
                operation: "remove device \(name)",
                reason: "the device file is still open (\(node.openCount) handle(s)); detach its loop device first",
                errno: EBUSY)
        }
        byName[name] = nil
        byInode[node.inode] = nil
        return node
    }

    func node(named name: String) -> DeviceNode? { byName[name] }

    func node(inode: UInt64) -> DeviceNode? { byInode[inode] }

    /// Directory entries after readdir cookie `cookie`, in cookie order:
    /// (name, inode, cookie of this entry). Cookies stay valid while devices
    /// come and go, so a listing in progress neither repeats nor skips survivors.
    func entries(after cookie: Int64) -> [(name: String, inode: UInt64, cookie: Int64)] {
        var result: [(name: String, inode: UInt64, cookie: Int64)] = []
        if cookie < Self.dotCookie {
            result.append((".", Self.rootInode, Self.dotCookie))
        }
        if cookie < Self.dotDotCookie {
            result.append(("..", Self.rootInode, Self.dotDotCookie))
        }
        for node in byInode.values.sorted(by: { $0.inode < $1.inode }) {
            let entryCookie = Int64(node.inode) + 1
            if entryCookie > cookie {
                result.append((node.name, node.inode, entryCookie))
            }
        }
        return result
    }

    /// A device name must be a single path component the kernel accepts.
    static func validate(name: String) throws {
        let bytes = Array(name.utf8)
        let problem: String?
        if bytes.isEmpty {
            problem = "the name is empty"
        } else if bytes.count > 255 {
            problem = "the name is longer than 255 bytes"
        } else if name == "." || name == ".." {
            problem = "'\(name)' is reserved"
        } else if bytes.contains(UInt8(ascii: "/")) {
            problem = "the name contains '/'"
        } else if bytes.contains(0) {
            problem = "the name contains a NUL byte"
        } else {
            problem = nil
        }
        if let problem {
            throw BlockExportError(operation: "export device \(name.debugDescription)", reason: problem, errno: EINVAL)
        }
    }
}
