#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CFUSE3
import NIOCore

/// FUSE_CAP_* bits (libfuse defines them as macros Swift does not import reliably).
enum FUSECapability {
    static let asyncRead: UInt32 = 1 << 0
    static let atomicOTrunc: UInt32 = 1 << 3
    static let spliceWrite: UInt32 = 1 << 7
    static let spliceMove: UInt32 = 1 << 8
    static let spliceRead: UInt32 = 1 << 9
    static let autoInvalData: UInt32 = 1 << 12
    static let asyncDirectIO: UInt32 = 1 << 15
    static let writebackCache: UInt32 = 1 << 16
}

/// FUSE_SET_ATTR_* bits of setattr's to_set.
enum SetAttr {
    static let mode: Int32 = 1 << 0
    static let uid: Int32 = 1 << 1
    static let gid: Int32 = 1 << 2
    static let size: Int32 = 1 << 3
}

/// fallocate(2) mode bits (from <linux/falloc.h>).
enum FallocateMode {
    static let keepSize: Int32 = 0x01
    static let punchHole: Int32 = 0x02
    static let zeroRange: Int32 = 0x10
    /// Linux 6.17+: write zeroes, allocating blocks; same result for us.
    static let writeZeroes: Int32 = 0x80
}

/// Connection tuning requested at FUSE_INIT.
enum ConnectionTuning {
    /// Largest write the kernel may send (libfuse caps it to its buffer, 1 MiB).
    static let maxWrite: UInt32 = 1 << 20
    /// Background requests in flight before the kernel throttles: async direct
    /// IO from the loop driver is background traffic, so this bounds queue depth.
    static let maxBackground: UInt32 = 256
    static let congestionThreshold: UInt32 = 192
}

/// The low-level FUSE callbacks. They run on the receive threads and must
/// never wait for a backend: IO is handed to the backend with a
/// `PendingRequest` and answered from its completion.
enum FUSEOperations {
    static func makeTable() -> fuse_lowlevel_ops {
        var ops = fuse_lowlevel_ops()
        ops.`init` = { userdata, conn in
            guard let userdata, let conn else { return }
            FUSEOperations.initialize(core: Unmanaged<ExportCore>.fromOpaque(userdata).takeUnretainedValue(), conn: conn)
        }
        ops.lookup = { req, parent, name in FUSEOperations.lookup(req!, parent, name) }
        ops.getattr = { req, ino, _ in FUSEOperations.getattr(req!, ino) }
        ops.setattr = { req, ino, attr, toSet, _ in FUSEOperations.setattr(req!, ino, attr, toSet) }
        ops.open = { req, ino, fi in FUSEOperations.open(req!, ino, fi!) }
        ops.release = { req, ino, _ in FUSEOperations.release(req!, ino) }
        ops.read = { req, ino, size, off, _ in FUSEOperations.read(req!, ino, size, off) }
        ops.write = { req, ino, buf, size, off, _ in FUSEOperations.write(req!, ino, buf, size, off) }
        ops.flush = { req, ino, _ in FUSEOperations.flush(req!, ino) }
        ops.fsync = { req, ino, _, _ in FUSEOperations.flush(req!, ino) }
        ops.fallocate = { req, ino, mode, offset, length, _ in FUSEOperations.fallocate(req!, ino, mode, offset, length) }
        ops.readdir = { req, ino, size, off, _ in FUSEOperations.readdir(req!, ino, size, off) }
        ops.statfs = { req, _ in FUSEOperations.statfs(req!) }
        return ops
    }

    private static func core(_ req: fuse_req_t) -> ExportCore {
        Unmanaged<ExportCore>.fromOpaque(fuse_req_userdata(req)).takeUnretainedValue()
    }

    private static func node(_ core: ExportCore, _ ino: fuse_ino_t) -> DeviceNode? {
        core.registry.withLock { $0.node(inode: ino) }
    }

    // MARK: connection

    static func initialize(core: ExportCore, conn: UnsafeMutablePointer<fuse_conn_info>) {
        let capable = conn.pointee.capable
        var want = conn.pointee.want
        // Async reads and async direct IO let the loop driver's AIO reach us concurrently.
        want |= capable & (FUSECapability.asyncRead | FUSECapability.asyncDirectIO)
        // No page cache anywhere: every IO must reach the backend, in order of completion.
        want &= ~(FUSECapability.writebackCache | FUSECapability.autoInvalData)
        // Splicing would only move the copy, and write_buf is not implemented.
        want &= ~(FUSECapability.spliceRead | FUSECapability.spliceWrite | FUSECapability.spliceMove)
        // Without atomic O_TRUNC the kernel sends a size setattr, which setattr refuses.
        want &= ~FUSECapability.atomicOTrunc
        conn.pointee.want = want
        conn.pointee.max_write = ConnectionTuning.maxWrite
        conn.pointee.max_background = ConnectionTuning.maxBackground
        conn.pointee.congestion_threshold = ConnectionTuning.congestionThreshold
        conn.pointee.time_gran = 1
        // max_readahead stays at the kernel's offer: with direct_io files there
        // is no page cache, so readahead never happens; FUSE_BIG_WRITES and
        // max_pages (from max_write) are set by libfuse itself.
        let negotiated = NegotiatedConnection(
            protocolMajor: conn.pointee.proto_major,
            protocolMinor: conn.pointee.proto_minor,
            maxWrite: conn.pointee.max_write,
            maxBackground: conn.pointee.max_background,
            congestionThreshold: conn.pointee.congestion_threshold,
            capable: capable,
            wanted: want,
            asyncDirectIO: want & FUSECapability.asyncDirectIO != 0)
        core.negotiated.withLock { $0 = negotiated }
        core.logger.info("FUSE connection initialized", metadata: [
            "protocol": "\(negotiated.protocolMajor).\(negotiated.protocolMinor)",
            "capable": "0x\(String(capable, radix: 16))",
            "want": "0x\(String(want, radix: 16))",
            "async_dio": "\(negotiated.asyncDirectIO)",
            "max_background": "\(negotiated.maxBackground)",
        ])
        if !negotiated.asyncDirectIO {
            core.logger.warning("the kernel does not offer FUSE async direct IO: loop device IO will be serialized")
        }
    }

    // MARK: namespace

    static func lookup(_ req: fuse_req_t, _ parent: fuse_ino_t, _ name: UnsafePointer<CChar>?) {
        let core = core(req)
        guard parent == DeviceRegistry.rootInode, let name else {
            fuse_reply_err(req, ENOENT)
            return
        }
        let key = String(cString: name)
        guard let node = core.registry.withLock({ $0.node(named: key) }) else {
            fuse_reply_err(req, ENOENT)
            return
        }
        var entry = fuse_entry_param()
        entry.ino = node.inode
        entry.generation = 1
        entry.attr = core.attributes(of: node)
        entry.attr_timeout = core.cacheTimeout
        entry.entry_timeout = core.cacheTimeout
        fuse_reply_entry(req, &entry)
    }

    static func getattr(_ req: fuse_req_t, _ ino: fuse_ino_t) {
        let core = core(req)
        guard var attributes = core.attributes(inode: ino) else {
            fuse_reply_err(req, ENOENT)
            return
        }
        fuse_reply_attr(req, &attributes, core.cacheTimeout)
    }

    /// The size of a device file follows the LUN: truncation to another size
    /// (including open with O_TRUNC) is refused with EPERM, as are ownership
    /// and mode changes. Timestamps are accepted and ignored.
    static func setattr(_ req: fuse_req_t, _ ino: fuse_ino_t, _ attr: UnsafeMutablePointer<stat>?, _ toSet: Int32) {
        let core = core(req)
        guard var attributes = core.attributes(inode: ino) else {
            fuse_reply_err(req, ENOENT)
            return
        }
        if toSet & (SetAttr.mode | SetAttr.uid | SetAttr.gid) != 0 {
            fuse_reply_err(req, EPERM)
            return
        }
        if toSet & SetAttr.size != 0 {
            guard let attr, attr.pointee.st_size == attributes.st_size else {
                fuse_reply_err(req, EPERM)
                return
            }
        }
        fuse_reply_attr(req, &attributes, core.cacheTimeout)
    }

    static func readdir(_ req: fuse_req_t, _ ino: fuse_ino_t, _ size: Int, _ off: off_t) {
        let core = core(req)
        guard ino == DeviceRegistry.rootInode else {
            fuse_reply_err(req, ENOTDIR)
            return
        }
        let entries = core.registry.withLock { $0.entries(after: Int64(off)) }
        var buffer = [CChar](repeating: 0, count: max(size, 0))
        var used = 0
        buffer.withUnsafeMutableBufferPointer { bytes in
            for entry in entries {
                var attributes = stat()
                attributes.st_ino = ino_t(entry.inode)
                attributes.st_mode = entry.inode == DeviceRegistry.rootInode ? S_IFDIR : S_IFREG
                let remaining = bytes.count - used
                let needed = entry.name.withCString { name in
                    fuse_add_direntry(req, bytes.baseAddress.map { $0 + used }, remaining, name, &attributes, off_t(entry.cookie))
                }
                if needed > remaining {
                    break
                }
                used += needed
            }
        }
        buffer.withUnsafeBufferPointer { bytes in
            _ = fuse_reply_buf(req, bytes.baseAddress, used)
        }
    }

    static func statfs(_ req: fuse_req_t) {
        let core = core(req)
        let (count, totalBytes) = core.registry.withLock { registry -> (Int, UInt64) in
            var total: UInt64 = 0
            for name in registry.names {
                total += registry.node(named: name)?.device.visibleSize ?? 0
            }
            return (registry.count, total)
        }
        var info = statvfs()
        info.f_bsize = 4096
        info.f_frsize = 4096
        info.f_blocks = fsblkcnt_t(totalBytes / 4096)
        info.f_files = fsfilcnt_t(count + 1)
        info.f_namemax = 255
        fuse_reply_statfs(req, &info)
    }

    // MARK: files

    /// Opens a device file in direct-IO mode: no page cache, each read and
    /// write goes to the backend with the caller's offset and length.
    static func open(_ req: fuse_req_t, _ ino: fuse_ino_t, _ fi: UnsafeMutablePointer<fuse_file_info>) {
        let core = core(req)
        let flags = fi.pointee.flags
        if flags & O_TRUNC != 0 {
            fuse_reply_err(req, EPERM)
            return
        }
        let found = core.registry.withLock { registry -> DeviceNode? in
            guard let node = registry.node(inode: ino) else { return nil }
            node.openCount += 1
            node.lastOpenFlags = flags
            return node
        }
        guard let node = found else {
            fuse_reply_err(req, ino == DeviceRegistry.rootInode ? EISDIR : ENOENT)
            return
        }
        fi.pointee.direct_io = 1
        fi.pointee.keep_cache = 0
        fi.pointee.fh = node.inode
        core.logger.debug("open \(node.name)", metadata: ["flags": "0o\(String(flags, radix: 8))"])
        if fuse_reply_open(req, fi) != 0 {
            // The opener is gone (interrupted): no release will follow.
            core.registry.withLock { _ in node.openCount -= 1 }
        }
    }

    static func release(_ req: fuse_req_t, _ ino: fuse_ino_t) {
        let core = core(req)
        core.registry.withLock { registry in
            if let node = registry.node(inode: ino), node.openCount > 0 {
                node.openCount -= 1
            }
        }
        fuse_reply_err(req, 0)
    }

    static func read(_ req: fuse_req_t, _ ino: fuse_ino_t, _ size: Int, _ off: off_t) {
        let core = core(req)
        guard let node = node(core, ino) else {
            fuse_reply_err(req, ENOENT)
            return
        }
        guard off >= 0, size >= 0 else {
            fuse_reply_err(req, EINVAL)
            return
        }
        let pending = PendingRequest(req, core: core)
        node.device.read(offset: UInt64(off), length: size) { result in
            switch result {
            case .success(let buffer):
                pending.reply(data: buffer)
            case .failure(let error):
                core.logger.warning("read failed", metadata: ["device": "\(node.name)", "offset": "\(off)", "length": "\(size)", "error": "\(error)"])
                pending.reply(error: error)
            }
        }
    }

    static func write(_ req: fuse_req_t, _ ino: fuse_ino_t, _ buf: UnsafePointer<CChar>?, _ size: Int, _ off: off_t) {
        let core = core(req)
        guard let node = node(core, ino) else {
            fuse_reply_err(req, ENOENT)
            return
        }
        guard off >= 0, size >= 0, size == 0 || buf != nil else {
            fuse_reply_err(req, EINVAL)
            return
        }
        // Writing past the end is the caller's mistake, not a device failure: no log.
        if size > 0 && UInt64(off) >= node.device.visibleSize {
            fuse_reply_err(req, ENOSPC)
            return
        }
        // The request buffer is reused as soon as this callback returns: copy it.
        var data = core.allocator.buffer(capacity: size)
        if let buf, size > 0 {
            data.writeBytes(UnsafeRawBufferPointer(start: buf, count: size))
        }
        let pending = PendingRequest(req, core: core)
        node.device.write(offset: UInt64(off), data: data) { result in
            switch result {
            case .success(let count):
                pending.reply(written: count)
            case .failure(let error):
                core.logger.warning("write failed", metadata: ["device": "\(node.name)", "offset": "\(off)", "length": "\(size)", "error": "\(error)"])
                pending.reply(error: error)
            }
        }
    }

    /// flush (every close) and fsync both become a backend cache flush.
    static func flush(_ req: fuse_req_t, _ ino: fuse_ino_t) {
        let core = core(req)
        guard let node = node(core, ino) else {
            fuse_reply_err(req, ENOENT)
            return
        }
        let pending = PendingRequest(req, core: core)
        node.device.flush { result in
            switch result {
            case .success:
                pending.replySuccess()
            case .failure(let error):
                core.logger.warning("flush failed", metadata: ["device": "\(node.name)", "error": "\(error)"])
                pending.reply(error: error)
            }
        }
    }

    /// The loop driver maps discard and write-zeroes to PUNCH_HOLE|KEEP_SIZE
    /// (or ZERO_RANGE for no-unmap zeroing). Plain allocation is a no-op
    /// inside the device; nothing may change the size.
    static func fallocate(_ req: fuse_req_t, _ ino: fuse_ino_t, _ mode: Int32, _ offset: off_t, _ length: off_t) {
        let core = core(req)
        guard let node = node(core, ino) else {
            fuse_reply_err(req, ENOENT)
            return
        }
        guard offset >= 0, length > 0 else {
            fuse_reply_err(req, EINVAL)
            return
        }
        let start = UInt64(offset)
        let count = UInt64(length)
        let keepSize = mode & FallocateMode.keepSize != 0
        let operation = mode & ~FallocateMode.keepSize
        let end = start.addingReportingOverflow(count)
        if !keepSize && (end.overflow || end.partialValue > node.device.visibleSize) {
            // Growing the file would mean growing the LUN.
            fuse_reply_err(req, ENOSPC)
            return
        }
        let pending = PendingRequest(req, core: core)
        let done: @Sendable (Result<Void, BlockIOError>) -> Void = { result in
            switch result {
            case .success:
                pending.replySuccess()
            case .failure(let error):
                if error.errno != EOPNOTSUPP {
                    core.logger.warning("fallocate failed", metadata: ["device": "\(node.name)", "mode": "0x\(String(mode, radix: 16))", "error": "\(error)"])
                }
                pending.reply(error: error)
            }
        }
        switch operation {
        case 0:
            done(.success(()))
        case FallocateMode.punchHole where keepSize:
            node.device.punchHole(offset: start, length: count, completion: done)
        case FallocateMode.zeroRange, FallocateMode.writeZeroes:
            node.device.zeroRange(offset: start, length: count, completion: done)
        default:
            done(.failure(.unsupported("fallocate mode 0x\(String(mode, radix: 16)) is not supported")))
        }
    }
}
