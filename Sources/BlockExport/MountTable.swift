#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CBlockShims

/// One line of /proc/self/mountinfo, the fields the export layer needs.
struct MountEntry: Equatable {
    /// Device number of the mounted filesystem, "major:minor".
    var device: String
    /// Where it is mounted (octal escapes decoded).
    var mountPoint: String
    /// Filesystem type, e.g. "fuse.mpath".
    var fsType: String
    /// Mount source, e.g. "mpathd".
    var source: String
}

/// Reads and parses the kernel's mount table.
enum MountTable {
    /// Parses mountinfo text; malformed lines are skipped.
    static func parse(_ text: String) -> [MountEntry] {
        var entries: [MountEntry] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            let fields = line.split(separator: " ", omittingEmptySubsequences: false)
            // id parent major:minor root mountpoint options [optional...] - fstype source superoptions
            guard fields.count >= 10, let dash = fields.firstIndex(of: "-"), dash >= 6, dash + 2 < fields.count else {
                continue
            }
            entries.append(MountEntry(
                device: String(fields[2]),
                mountPoint: unescape(fields[4]),
                fsType: unescape(fields[dash + 1]),
                source: unescape(fields[dash + 2])))
        }
        return entries
    }

    /// Decodes the kernel's \ooo octal escapes (space, tab, newline, backslash).
    static func unescape(_ field: Substring) -> String {
        var bytes: [UInt8] = []
        let raw = Array(field.utf8)
        var index = 0
        while index < raw.count {
            let byte = raw[index]
            if byte == UInt8(ascii: "\\"), index + 3 < raw.count,
               let value = octal(raw[(index + 1)..<(index + 4)]) {
                bytes.append(value)
                index += 4
            } else {
                bytes.append(byte)
                index += 1
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func octal(_ digits: ArraySlice<UInt8>) -> UInt8? {
        guard digits.count == 3 else { return nil }
        var value = 0
        for digit in digits {
            guard digit >= UInt8(ascii: "0"), digit <= UInt8(ascii: "7") else { return nil }
            value = value * 8 + Int(digit - UInt8(ascii: "0"))
        }
        return value <= 255 ? UInt8(value) : nil
    }

    /// The current mount table of this process's namespace.
    static func current() -> [MountEntry] {
        guard let text = readTextFile("/proc/self/mountinfo") else { return [] }
        return parse(text)
    }

    /// True when something is mounted exactly at `path`.
    static func isMountPoint(_ path: String) -> Bool {
        current().contains { $0.mountPoint == path }
    }
}

/// Reads a small text file (procfs, sysfs) in full; nil if it cannot be read.
func readTextFile(_ path: String) -> String? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var data: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if count < 0 {
            if errno == EINTR { continue }
            return nil
        }
        if count == 0 { break }
        data.append(contentsOf: chunk[0..<count])
    }
    return String(decoding: data, as: UTF8.self)
}
