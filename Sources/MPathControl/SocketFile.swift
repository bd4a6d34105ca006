#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// POSIX helpers for the control socket's file: addresses, liveness probe, identity, cleanup.
/// Shared by the blocking client and the server's start-up checks.
enum SocketFile {
    /// What a connect attempt found at a socket path.
    enum Probe: Equatable {
        /// A listener accepted (or its backlog is full: it is alive but busy).
        case answers
        /// A socket file with nobody listening: left over from a daemon that died.
        case stale
        /// Nothing at the path.
        case missing
    }

    /// The inode of the socket file, to remove it on shutdown only if it is still ours.
    struct Identity: Equatable {
        var device: UInt64
        var inode: UInt64
    }

    /// A new `AF_UNIX` stream socket, close-on-exec, optionally non-blocking.
    static func makeSocket(path: String, nonBlocking: Bool) throws -> Int32 {
        var type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        if nonBlocking { type |= Int32(SOCK_NONBLOCK.rawValue) }
        let fd = socket(AF_UNIX, type, 0)
        guard fd >= 0 else { throw ControlError.system(operation: "socket for", path: path, errno: errno) }
        return fd
    }

    /// Calls `body` with a `sockaddr_un` for `path`; paths that do not fit `sun_path` (or hold a
    /// NUL byte) are refused with ENAMETOOLONG / EINVAL naming the operation.
    static func withAddress<T>(
        _ path: String, operation: String, _ body: (UnsafePointer<sockaddr>, socklen_t) throws -> T
    ) throws -> T {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        if bytes.isEmpty || bytes.contains(0) {
            throw ControlError.system(operation: operation, path: path, errno: EINVAL)
        }
        // One byte stays for the terminating NUL.
        if bytes.count >= capacity {
            throw ControlError.system(operation: operation, path: path, errno: ENAMETOOLONG)
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        return try withUnsafePointer(to: &address) { pointer in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                try body(socketAddress, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
    }

    /// Checks whether a listener answers at `path` without blocking.
    static func probe(_ path: String) throws -> Probe {
        let fd = try makeSocket(path: path, nonBlocking: true)
        defer { close(fd) }
        // errno is read inside the closure, before anything else can overwrite it.
        let code = try withAddress(path, operation: "connect to") { connect(fd, $0, $1) == 0 ? 0 : errno }
        if code == 0 { return .answers }
        switch code {
        case EAGAIN, EINPROGRESS: return .answers
        case ECONNREFUSED: return .stale
        case ENOENT: return .missing
        default: throw ControlError.system(operation: "connect to", path: path, errno: code)
        }
    }

    /// Makes `path` free for a new listener: refuses when a live daemon answers there or when a
    /// non-socket file is in the way, and removes a stale socket file.
    static func claim(_ path: String) throws {
        guard let isSocket = try fileIsSocket(path) else { return }
        guard isSocket else { throw ControlError.notASocket(path) }
        switch try probe(path) {
        case .answers:
            throw ControlError.alreadyRunning(path)
        case .stale:
            try removeSocketFile(path)
        case .missing:
            return
        }
    }

    /// nil when nothing exists at `path`; otherwise whether it is a socket (not following links).
    static func fileIsSocket(_ path: String) throws -> Bool? {
        var info = stat()
        if lstat(path, &info) != 0 {
            if errno == ENOENT { return nil }
            throw ControlError.system(operation: "stat", path: path, errno: errno)
        }
        return (info.st_mode & S_IFMT) == S_IFSOCK
    }

    /// Device and inode of the file at `path`, or nil when it is gone.
    static func identity(_ path: String) -> Identity? {
        var info = stat()
        guard lstat(path, &info) == 0 else { return nil }
        return Identity(device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
    }

    /// Removes a socket file; a file that is already gone is fine.
    static func removeSocketFile(_ path: String) throws {
        if unlink(path) != 0 && errno != ENOENT {
            throw ControlError.system(operation: "remove", path: path, errno: errno)
        }
    }

    /// A sibling name for binding before the socket is made private and renamed into place;
    /// kept no longer than "mpathd.sock" so it fits `sun_path` whenever the final path does.
    static func temporaryPath(for path: String) -> String {
        let directory = ControlError.directory(of: path)
        let prefix = directory == "/" ? "/" : directory + "/"
        return prefix + ".s\(getpid())"
    }

    /// Creates `path` and its parents with `mode` when missing.
    static func makeDirectories(_ path: String, mode: mode_t) throws {
        if path.isEmpty || path == "/" || path == "." { return }
        var info = stat()
        if stat(path, &info) == 0 {
            guard (info.st_mode & S_IFMT) == S_IFDIR else {
                throw ControlError.system(operation: "create directory", path: path, errno: ENOTDIR)
            }
            return
        }
        try makeDirectories(ControlError.directory(of: path), mode: mode)
        if mkdir(path, mode) != 0 && errno != EEXIST {
            throw ControlError.system(operation: "create directory", path: path, errno: errno)
        }
    }
}
