#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CFUSE3
import Logging
import NIOCore

/// State shared between the public `FUSEExport`, the FUSE callbacks (which
/// find it through the session's userdata pointer) and in-flight completions.
final class ExportCore: @unchecked Sendable {
    let logger: Logger
    let registry = Locked(DeviceRegistry())
    let allocator = ByteBufferAllocator()
    /// Timestamp shown for all files and the root directory.
    let createdAt: timespec
    /// Seconds the kernel may cache lookups and attributes; size changes
    /// are pushed explicitly with notify_inval_inode.
    let cacheTimeout: Double = 1.0

    private struct Counters {
        var inFlight = 0
        var peakInFlight = 0
    }
    private let counters = Locked(Counters())
    /// What the kernel and libfuse agreed on at FUSE_INIT, for diagnostics.
    let negotiated = Locked(NegotiatedConnection?.none)

    init(logger: Logger) {
        self.logger = logger
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        self.createdAt = now
    }

    func requestStarted() {
        counters.withLock { counters in
            counters.inFlight += 1
            counters.peakInFlight = max(counters.peakInFlight, counters.inFlight)
        }
    }

    func requestFinished() {
        counters.withLock { $0.inFlight -= 1 }
    }

    /// Requests handed to a backend and not yet answered.
    var inFlight: Int { counters.withLock { $0.inFlight } }

    /// Highest `inFlight` seen since the mount.
    var peakInFlight: Int { counters.withLock { $0.peakInFlight } }

    /// Attributes of the root directory.
    func rootAttributes() -> stat {
        var attributes = stat()
        attributes.st_ino = ino_t(DeviceRegistry.rootInode)
        attributes.st_mode = S_IFDIR | 0o755
        attributes.st_nlink = 2
        attributes.st_atim = createdAt
        attributes.st_mtim = createdAt
        attributes.st_ctim = createdAt
        return attributes
    }

    /// Attributes of a device file: root-only regular file of the device's size.
    func attributes(of node: DeviceNode) -> stat {
        let size = node.device.visibleSize
        var attributes = stat()
        attributes.st_ino = ino_t(node.inode)
        attributes.st_mode = S_IFREG | 0o600
        attributes.st_nlink = 1
        attributes.st_size = off_t(clamping: size)
        attributes.st_blksize = blksize_t(node.device.blockSize)
        attributes.st_blocks = blkcnt_t(clamping: size / 512)
        attributes.st_atim = createdAt
        attributes.st_mtim = createdAt
        attributes.st_ctim = createdAt
        return attributes
    }

    /// Attributes for any inode, or nil if it does not exist (any more).
    func attributes(inode: UInt64) -> stat? {
        if inode == DeviceRegistry.rootInode {
            return rootAttributes()
        }
        guard let node = registry.withLock({ $0.node(inode: inode) }) else { return nil }
        return attributes(of: node)
    }
}

/// Connection parameters after FUSE_INIT.
public struct NegotiatedConnection: Sendable, Equatable {
    /// FUSE protocol version spoken by the kernel.
    public var protocolMajor: UInt32
    public var protocolMinor: UInt32
    /// Largest write request the kernel will send.
    public var maxWrite: UInt32
    /// Background (async) requests the kernel keeps in flight before throttling.
    public var maxBackground: UInt32
    public var congestionThreshold: UInt32
    /// FUSE_CAP_* bits the kernel offered and the ones enabled.
    public var capable: UInt32
    public var wanted: UInt32
    /// Whether asynchronous direct IO (needed for loop AIO) is enabled.
    public var asyncDirectIO: Bool
}
