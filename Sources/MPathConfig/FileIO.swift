import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Small POSIX file helpers. They go straight to the syscalls because the database needs
/// exact modes (records may hold CHAP secrets), atomic replacement and errno-based messages.
enum FileIO {
    /// Reads a whole file as UTF-8 text; nil when it does not exist.
    static func readText(_ path: String) throws -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            let code = errno
            if code == ENOENT { return nil }
            throw ConfigError(file: path, message: "cannot open: \(errnoText(code))")
        }
        defer { close(fd) }
        var data = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                let code = errno
                if code == EINTR { continue }
                throw ConfigError(file: path, message: "cannot read: \(errnoText(code))")
            }
            if count == 0 { break }
            data.append(contentsOf: chunk[0..<count])
            // Configuration files are small; a huge file is almost certainly a mistake.
            if data.count > 16 << 20 {
                throw ConfigError(file: path, message: "file is larger than 16 MiB")
            }
        }
        guard let text = String(validating: data, as: UTF8.self) else {
            throw ConfigError(file: path, message: "file is not valid UTF-8 text")
        }
        return text
    }

    /// Replaces `path` atomically: write a temporary file in the same directory, fsync,
    /// set the mode explicitly (umask must not widen or narrow it), rename over the target.
    static func writeAtomically(_ path: String, contents: String, mode: mode_t) throws {
        let directory = parentDirectory(of: path)
        let base = String(path.split(separator: "/").last ?? "file")
        let suffix = String(UInt64.random(in: 0...UInt64.max), radix: 16)
        let temporary = directory + "/.\(base).tmp.\(getpid()).\(suffix)"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        if fd < 0 {
            throw ConfigError(file: path, message: "cannot create temporary file: \(errnoText(errno))")
        }
        var ok = false
        defer {
            if !ok { unlink(temporary) }
        }
        do {
            defer { close(fd) }
            if fchmod(fd, mode) != 0 {
                throw ConfigError(file: path, message: "cannot set mode: \(errnoText(errno))")
            }
            let bytes = Array(contents.utf8)
            var offset = 0
            while offset < bytes.count {
                let written = bytes.withUnsafeBytes { buffer -> Int in
                    guard let base = buffer.baseAddress else { return 0 }
                    return write(fd, base + offset, buffer.count - offset)
                }
                if written < 0 {
                    let code = errno
                    if code == EINTR { continue }
                    throw ConfigError(file: path, message: "cannot write: \(errnoText(code))")
                }
                offset += written
            }
            if fsync(fd) != 0 {
                throw ConfigError(file: path, message: "cannot sync: \(errnoText(errno))")
            }
        }
        if rename(temporary, path) != 0 {
            throw ConfigError(file: path, message: "cannot replace file: \(errnoText(errno))")
        }
        ok = true
        syncDirectory(directory)
    }

    /// Creates `path` and any missing parents; directories created here get exactly `mode`.
    static func makeDirectories(_ path: String, mode: mode_t) throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
            if isDirectory.boolValue { return }
            throw ConfigError(file: path, message: "exists but is not a directory")
        }
        let parent = parentDirectory(of: path)
        if parent != "." && parent != "/" && parent != path {
            try makeDirectories(parent, mode: mode)
        }
        if mkdir(path, mode) != 0 {
            let code = errno
            if code == EEXIST { return }
            throw ConfigError(file: path, message: "cannot create directory: \(errnoText(code))")
        }
        if chmod(path, mode) != 0 {
            throw ConfigError(file: path, message: "cannot set directory mode: \(errnoText(errno))")
        }
    }

    /// Names in a directory, sorted, without hidden entries (our temporary files start with '.').
    /// A missing directory lists as empty.
    static func listDirectory(_ path: String) throws -> [String] {
        guard let dir = opendir(path) else {
            let code = errno
            if code == ENOENT { return [] }
            throw ConfigError(file: path, message: "cannot list directory: \(errnoText(code))")
        }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: Int(NAME_MAX) + 1) { String(cString: $0) }
            }
            if name.hasPrefix(".") { continue }
            names.append(name)
        }
        return names.sorted()
    }

    static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    static func exists(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0
    }

    /// Removes a file; a file that is already gone is not an error.
    static func removeFile(_ path: String) throws {
        if unlink(path) != 0 {
            let code = errno
            if code == ENOENT { return }
            throw ConfigError(file: path, message: "cannot remove: \(errnoText(code))")
        }
    }

    /// Removes a directory if it is empty; anything else is left alone silently.
    static func removeDirectoryIfEmpty(_ path: String) {
        _ = rmdir(path)
    }

    /// Runs `body` holding an exclusive flock on `directory`, so concurrent processes that
    /// read-modify-write a file in it (the bindings file) do not lose each other's updates.
    static func withDirectoryLock<T>(_ directory: String, _ body: () throws -> T) throws -> T {
        let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd < 0 {
            throw ConfigError(file: directory, message: "cannot open directory for locking: \(errnoText(errno))")
        }
        defer { close(fd) }
        while flock(fd, LOCK_EX) != 0 {
            let code = errno
            if code == EINTR { continue }
            throw ConfigError(file: directory, message: "cannot lock directory: \(errnoText(code))")
        }
        defer { _ = flock(fd, LOCK_UN) }
        return try body()
    }

    private static func syncDirectory(_ directory: String) {
        let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd >= 0 {
            _ = fsync(fd)
            close(fd)
        }
    }

    static func errnoText(_ code: Int32) -> String {
        String(cString: strerror(code))
    }
}

/// Splits text into lines, accepting "\n" and "\r\n" endings; line numbers are index + 1.
func splitLines(_ text: String) -> [Substring] {
    // "\r\n" is a single Character in Swift, so it has to be named as a separator itself.
    var lines = text.split(omittingEmptySubsequences: false) { $0 == "\n" || $0 == "\r\n" }
    if lines.last == "" { lines.removeLast() }
    return lines
}

extension StringProtocol {
    /// The text without leading and trailing spaces and tabs.
    var trimmed: String {
        var slice = Substring(self)
        while let first = slice.first, first == " " || first == "\t" || first == "\r" { slice.removeFirst() }
        while let last = slice.last, last == " " || last == "\t" || last == "\r" { slice.removeLast() }
        return String(slice)
    }
}

/// Everything before the last '/' ("/" for top-level entries, "." for bare names).
func parentDirectory(of path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return "." }
    if slash == path.startIndex { return "/" }
    return String(path[..<slash])
}
