#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CBlockShims

/// A loop block device (/dev/loopN) bound to a file, typically a device file
/// of a `FUSEExport`.
///
/// Devices attached here carry the autoclear flag and the value keeps the
/// device node open: the binding lives as long as some copy of the value
/// (or a mount, or another opener) does, and disappears by itself if the
/// process dies. Keep the value for as long as the device should exist.
public struct LoopDevice: Sendable, CustomStringConvertible {
    /// The device number N of /dev/loopN.
    public let number: Int
    /// The file the device was bound to (as given to `attach` or read from sysfs).
    public let backingFile: String
    private let handle: Handle

    /// /dev/loopN.
    public var path: String { "/dev/loop\(number)" }

    public var description: String { "\(path) -> \(backingFile)" }

    private init(number: Int, backingFile: String, handle: Handle) {
        self.number = number
        self.backingFile = backingFile
        self.handle = handle
    }

    /// How many times to retry when another process takes the free device first.
    static let attachAttempts = 20

    /// Binds `file` to a free loop device with the given logical block size
    /// (512...4096, a power of two), direct IO (the loop driver then submits
    /// asynchronous IO to the file instead of going through the page cache)
    /// and optionally read-only.
    public static func attach(file: String, blockSize: Int, directIO: Bool, readOnly: Bool = false) throws -> LoopDevice {
        let operation = "attach \(file) to a loop device"
        guard blockSize >= 512, blockSize <= 4096, blockSize & (blockSize - 1) == 0 else {
            throw BlockExportError(operation: operation, reason: "block size \(blockSize) is not a power of two between 512 and 4096", errno: EINVAL)
        }
        let access = readOnly ? O_RDONLY : O_RDWR
        // O_DIRECT on our own descriptor makes newer kernels enable loop DIO
        // right at configure time; files that refuse it are still usable.
        var backing: Int32 = directIO ? cbs_open(file, access | OpenFlags.direct) : -EINVAL
        if backing == -EINVAL {
            backing = cbs_open(file, access)
        }
        guard backing >= 0 else {
            throw BlockExportError.system(operation, "open \(file)", errno: -backing)
        }
        defer { close(backing) }

        let control = cbs_open("/dev/loop-control", O_RDWR)
        guard control >= 0 else {
            throw BlockExportError.system(operation, "open /dev/loop-control (is the loop module loaded?)", errno: -control)
        }
        defer { close(control) }

        var flags = UInt32(CBS_LO_FLAGS_AUTOCLEAR)
        if directIO {
            flags |= UInt32(CBS_LO_FLAGS_DIRECT_IO)
        }
        if readOnly {
            flags |= UInt32(CBS_LO_FLAGS_READ_ONLY)
        }

        var lastBusy: Int32 = 0
        for _ in 0..<attachAttempts {
            let number = cbs_loop_ctl_get_free(control)
            guard number >= 0 else {
                throw BlockExportError.system(operation, "LOOP_CTL_GET_FREE", errno: -number)
            }
            let devicePath = "/dev/loop\(number)"
            let loopFD = cbs_open(devicePath, access)
            if loopFD == -ENOENT || loopFD == -ENXIO {
                // The node is created asynchronously after LOOP_CTL_GET_FREE adds a device.
                lastBusy = -loopFD
                usleep(5_000)
                continue
            }
            guard loopFD >= 0 else {
                throw BlockExportError.system(operation, "open \(devicePath)", errno: -loopFD)
            }
            var rc = cbs_loop_configure(loopFD, backing, UInt32(blockSize), flags, file)
            if rc == -ENOTTY || rc == -EINVAL {
                // Kernels before 5.8 have no LOOP_CONFIGURE.
                rc = legacyConfigure(loopFD: loopFD, backing: backing, blockSize: blockSize, directIO: directIO, file: file)
            }
            if rc == -EBUSY {
                // Another process bound this device between GET_FREE and configure.
                close(loopFD)
                lastBusy = EBUSY
                continue
            }
            guard rc == 0 else {
                close(loopFD)
                throw BlockExportError.system(operation, "LOOP_CONFIGURE on \(devicePath)", errno: -rc)
            }
            let device = LoopDevice(number: Int(number), backingFile: file, handle: Handle(fd: loopFD))
            if directIO {
                try device.requireDirectIO(operation: operation)
            }
            return device
        }
        throw BlockExportError.system(operation, "no free loop device after \(attachAttempts) attempts", errno: lastBusy == 0 ? EBUSY : lastBusy)
    }

    /// LOOP_SET_FD + LOOP_SET_STATUS64 + LOOP_SET_BLOCK_SIZE + LOOP_SET_DIRECT_IO,
    /// undone on failure. Returns 0 or -errno like the shims.
    private static func legacyConfigure(loopFD: Int32, backing: Int32, blockSize: Int, directIO: Bool, file: String) -> Int32 {
        var rc = cbs_loop_set_fd(loopFD, backing)
        guard rc == 0 else { return rc }
        rc = cbs_loop_set_status_flags(loopFD, UInt32(CBS_LO_FLAGS_AUTOCLEAR), file)
        if rc == 0 {
            rc = cbs_loop_set_block_size(loopFD, UInt32(blockSize))
        }
        if rc == 0 && directIO {
            rc = cbs_loop_set_direct_io(loopFD, 1)
        }
        if rc != 0 {
            _ = cbs_loop_clr_fd(loopFD)
        }
        return rc
    }

    /// The kernel may silently leave direct IO off; insist, or undo the attach.
    private func requireDirectIO(operation: String) throws {
        if isDirectIO {
            return
        }
        let rc = handle.withFD(path: path) { cbs_loop_set_direct_io($0, 1) }
        if rc != 0 || !isDirectIO {
            try? detach()
            throw BlockExportError.system(operation, "enabling direct IO on \(path) (LOOP_SET_DIRECT_IO)", errno: rc != 0 ? -rc : EINVAL)
        }
    }

    /// Whether the loop driver does direct (asynchronous) IO on the backing file.
    public var isDirectIO: Bool {
        readTextFile("/sys/block/loop\(number)/loop/dio")?.hasPrefix("1") ?? false
    }

    /// The logical block size the kernel reports for the device.
    public var logicalBlockSize: Int? {
        readTextFile("/sys/block/loop\(number)/queue/logical_block_size").flatMap { Int($0.trimmingWhitespace()) }
    }

    /// Re-reads the backing file's size after it grew. The file is stat'ed
    /// first so that a FUSE file's cached size is refreshed from the export.
    public func setCapacity() throws {
        var info = stat()
        if stat(backingFile, &info) != 0 {
            throw BlockExportError.system("resize \(path)", "stat \(backingFile)", errno: errno)
        }
        let rc = handle.withFD(path: path) { cbs_loop_set_capacity($0) }
        guard rc == 0 else {
            throw BlockExportError.system("resize \(path)", "LOOP_SET_CAPACITY", errno: -rc)
        }
    }

    /// Unbinds the device. The kernel completes the unbind at the last
    /// close; if something else (a mounted filesystem, another process)
    /// still holds the device, this throws EBUSY and the device goes away
    /// by itself when that holder closes it. Calling it again is harmless.
    public func detach() throws {
        let operation = "detach \(path) from \(backingFile)"
        guard let fd = handle.takeForDetach(path: path, expectedBacking: backingFile) else {
            return
        }
        let rc = cbs_loop_clr_fd(fd)
        close(fd)
        if rc != 0 && rc != -ENXIO {
            throw BlockExportError.system(operation, "LOOP_CLR_FD", errno: -rc)
        }
        // udev-style probes can hold the device for a moment after our close.
        let deadline = monotonicSeconds() + 1
        while Self.backingFile(ofLoop: number) != nil {
            if monotonicSeconds() >= deadline {
                throw BlockExportError(operation: operation, reason: "the device is still in use (mounted or open elsewhere); it will detach on its last close", errno: EBUSY)
            }
            usleep(5_000)
        }
    }

    /// Loop devices currently bound to `backingFile` (e.g. leftovers of a
    /// crashed run), found through /sys/block/loop*/loop/backing_file.
    public static func find(backingFile: String) -> [LoopDevice] {
        var found: [LoopDevice] = []
        for number in loopNumbers() {
            guard let bound = Self.backingFile(ofLoop: number), bound == backingFile else { continue }
            found.append(LoopDevice(number: number, backingFile: bound, handle: Handle(fd: -1)))
        }
        return found.sorted { $0.number < $1.number }
    }

    /// The backing file of loop device `number`, or nil if it is unbound.
    static func backingFile(ofLoop number: Int) -> String? {
        guard let text = readTextFile("/sys/block/loop\(number)/loop/backing_file") else { return nil }
        return parseBackingFile(text)
    }

    /// sysfs prints the path with a newline, and " (deleted)" once the file is gone.
    static func parseBackingFile(_ text: String) -> String? {
        var path = text
        while path.hasSuffix("\n") {
            path.removeLast()
        }
        if path.hasSuffix(" (deleted)") {
            path.removeLast(" (deleted)".count)
        }
        return path.isEmpty ? nil : path
    }

    /// Numbers of the loop devices present in /sys/block.
    static func loopNumbers() -> [Int] {
        guard let directory = opendir("/sys/block") else { return [] }
        defer { closedir(directory) }
        var numbers: [Int] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if let number = parseLoopName(name) {
                numbers.append(number)
            }
        }
        return numbers.sorted()
    }

    /// "loop12" -> 12; anything else -> nil.
    static func parseLoopName(_ name: String) -> Int? {
        guard name.hasPrefix("loop") else { return nil }
        let digits = name.dropFirst(4)
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return Int(digits)
    }

    /// The open /dev/loopN descriptor shared by all copies of a value.
    private final class Handle: @unchecked Sendable {
        private let state: Locked<(fd: Int32, detached: Bool)>

        init(fd: Int32) {
            state = Locked((fd, false))
        }

        deinit {
            state.withLock { state in
                if state.fd >= 0 {
                    close(state.fd)
                }
            }
        }

        /// Runs `body` with our descriptor, or a temporary one for found devices.
        func withFD(path: String, _ body: (Int32) -> Int32) -> Int32 {
            let held = state.withLock { $0.fd }
            if held >= 0 {
                return body(held)
            }
            let fd = cbs_open(path, O_RDONLY)
            guard fd >= 0 else { return fd }
            defer { close(fd) }
            return body(fd)
        }

        /// Hands over the descriptor for LOOP_CLR_FD, once. For devices not
        /// attached by us, first checks the binding is still the one we found,
        /// so a reused device number is never cleared by mistake.
        func takeForDetach(path: String, expectedBacking: String) -> Int32? {
            let taken = state.withLock { state -> (fd: Int32, first: Bool) in
                defer {
                    state.detached = true
                    state.fd = -1
                }
                return (state.fd, !state.detached)
            }
            guard taken.first else { return nil }
            if taken.fd >= 0 {
                return taken.fd
            }
            let number = LoopDevice.parseLoopName(String(path.dropFirst("/dev/".count))) ?? -1
            guard LoopDevice.backingFile(ofLoop: number) == expectedBacking else { return nil }
            let fd = cbs_open(path, O_RDONLY)
            return fd >= 0 ? fd : nil
        }
    }
}

/// open(2) flags Swift's Glibc module does not export.
enum OpenFlags {
    static let direct = cbs_o_direct()
}

extension String {
    /// The string without leading and trailing spaces and newlines.
    func trimmingWhitespace() -> String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
              let last = scalars.lastIndex(where: { !$0.properties.isWhitespace }) else { return "" }
        return String(scalars[first...last])
    }
}
