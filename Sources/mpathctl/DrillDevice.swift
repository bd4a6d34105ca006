import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The map's block device as the drill's IO load sees it: checks that nobody else uses it and
/// opens it exclusively for O_DIRECT IO.
struct DrillDevice {
    let path: String
    /// Kernel name, e.g. "loop3".
    let kernelName: String
    let fd: Int32
    let sizeBytes: UInt64
    let logicalBlockSize: Int

    /// Refuses a device that is mounted, held by another driver (dm, md) or claimed exclusively,
    /// then opens it O_RDWR|O_DIRECT|O_EXCL so nobody can mount it while the drill writes.
    static func open(_ path: String) throws -> DrillDevice {
        let resolved = (try? FileManager.default.destinationOfSymbolicLink(atPath: path)).map { link in
            link.hasPrefix("/") ? link : URL(fileURLWithPath: path).deletingLastPathComponent().appendingPathComponent(link).path
        } ?? path
        var info = stat()
        guard stat(resolved, &info) == 0 else { throw DrillError("\(resolved): \(String(cString: strerror(errno)))") }
        guard (info.st_mode & S_IFMT) == S_IFBLK else { throw DrillError("\(resolved) is not a block device") }
        let kernelName = URL(fileURLWithPath: resolved).lastPathComponent
        let useHint = "; use --watch to drill a map that is in use (no IO of the drill's own)"
        if let mount = mountPoint(major: Self.major(info.st_rdev), minor: Self.minor(info.st_rdev), device: resolved) {
            throw DrillError("\(resolved) is mounted on \(mount): the drill's IO would overwrite it\(useHint)")
        }
        let holders = (try? FileManager.default.contentsOfDirectory(atPath: "/sys/block/\(kernelName)/holders")) ?? []
        if !holders.isEmpty {
            throw DrillError("\(resolved) is held by \(holders.sorted().joined(separator: ", "))\(useHint)")
        }
        let fd = Glibc.open(resolved, O_RDWR | Self.directFlag | O_EXCL | O_CLOEXEC)
        guard fd >= 0 else {
            let code = errno
            if code == EBUSY { throw DrillError("\(resolved) is in use (mounted or claimed by another program)\(useHint)") }
            throw DrillError("cannot open \(resolved): \(String(cString: strerror(code)))")
        }
        let end = lseek(fd, 0, SEEK_END)
        guard end > 0 else {
            _ = Glibc.close(fd)
            throw DrillError("\(resolved) has no capacity")
        }
        let sectorText = (try? String(contentsOfFile: "/sys/block/\(kernelName)/queue/logical_block_size", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let sector = sectorText.flatMap { Int($0) } ?? 512
        return DrillDevice(path: resolved, kernelName: kernelName, fd: fd, sizeBytes: UInt64(end), logicalBlockSize: sector)
    }

    /// O_DIRECT, which Glibc's Swift overlay does not export (it needs _GNU_SOURCE); the value
    /// is per architecture in the kernel's uapi headers.
    #if arch(arm64) || arch(arm)
    static let directFlag: Int32 = 0o200000
    #else
    static let directFlag: Int32 = 0o40000
    #endif

    func close() {
        _ = Glibc.close(fd)
    }

    /// Where a device is mounted, from /proc/self/mountinfo: field 3 is MAJOR:MINOR, the field
    /// after " - " and the filesystem type is the source.
    static func mountPoint(major: UInt32, minor: UInt32, device: String) -> String? {
        guard let text = try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8) else { return nil }
        let number = "\(major):\(minor)"
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ").map(String.init)
            guard fields.count >= 5 else { continue }
            var source: String?
            if let dash = fields.firstIndex(of: "-"), dash + 2 < fields.count { source = fields[dash + 2] }
            if fields[2] == number || source == device { return fields[4] }
        }
        return nil
    }

    // glibc's gnu_dev_major/minor, which Swift does not import as functions.
    static func major(_ dev: dev_t) -> UInt32 {
        UInt32(truncatingIfNeeded: ((UInt64(dev) >> 8) & 0xFFF) | ((UInt64(dev) >> 32) & ~UInt64(0xFFF)))
    }

    static func minor(_ dev: dev_t) -> UInt32 {
        UInt32(truncatingIfNeeded: (UInt64(dev) & 0xFF) | ((UInt64(dev) >> 12) & ~UInt64(0xFF)))
    }
}
