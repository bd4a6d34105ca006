#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CBlockShims
import CFUSE3
import Logging
import NIOCore

/// One FUSE mount that serves named block devices as files
/// (`<mountpoint>/<name>`), ready to be attached to loop devices.
///
/// IO is asynchronous end to end: receive threads hand each request to the
/// device's `BlockBackend` and return; the backend's completion sends the
/// reply from whatever thread it runs on.
public final class FUSEExport: @unchecked Sendable {
    /// Where the filesystem is mounted.
    public let mountpoint: String

    private let core: ExportCore
    private let logger: Logger
    private let session: OpaquePointer
    private let receiver: Receiver
    private let mountedDevice: String?
    private let state = Locked(State.running)
    /// How long `shutdown` waits for backends to answer outstanding requests.
    private let drainTimeout: Double

    private enum State {
        case running
        case stopped
    }

    /// Who reads /dev/fuse: dedicated threads, or an event loop (see `LoopReceiver`).
    private enum Receiver {
        case threads(ReceiveThreads)
        case eventLoop(LoopReceiver)

        func stop() {
            switch self {
            case .threads(let threads): threads.stop()
            case .eventLoop(let receiver): receiver.stop()
            }
        }
    }

    /// Mounts an empty export at `mountpoint` (created if missing; a stale
    /// mount left by a crashed run is lazily unmounted first) and starts
    /// reading /dev/fuse: on `receiveLoop` when given (callbacks then run on
    /// that loop), else on `receiveThreads` threads. Requires root.
    public init(mountpoint: String, logger: Logger, receiveThreads: Int = 2, receiveLoop: EventLoop? = nil,
                drainTimeout: Double = 10) throws {
        guard mountpoint.hasPrefix("/") else {
            throw BlockExportError(operation: "mount FUSE export at \(mountpoint)", reason: "the mount point must be an absolute path", errno: EINVAL)
        }
        let path = mountpoint.count > 1 && mountpoint.hasSuffix("/") ? String(mountpoint.dropLast()) : mountpoint
        self.mountpoint = path
        self.logger = logger
        self.drainTimeout = drainTimeout
        let operation = "mount FUSE export at \(path)"

        FUSELogBridge.install(logger)
        try Self.clearStaleMount(path, logger: logger)
        try makeDirectories(path, operation: operation)

        let core = ExportCore(logger: logger)
        self.core = core
        var ops = FUSEOperations.makeTable()
        let userdata = Unmanaged.passUnretained(core).toOpaque()
        let arguments = ["mpathd", "-o", "allow_other,default_permissions,fsname=mpathd,subtype=mpath"]
        let created: OpaquePointer? = withFUSEArgs(arguments) { args in
            fuse_session_new(args, &ops, MemoryLayout<fuse_lowlevel_ops>.size, userdata)
        }
        guard let session = created else {
            throw BlockExportError(operation: operation, reason: "fuse_session_new failed (see libfuse messages)")
        }
        let mounted = fuse_session_mount(session, path)
        guard mounted == 0 else {
            fuse_session_destroy(session)
            throw BlockExportError(operation: operation, reason: "fuse_session_mount failed (is /dev/fuse available and are we root?)")
        }
        self.session = session
        // Remembered so shutdown never unmounts a newer mount at the same path.
        self.mountedDevice = Self.mountedDevice(at: path)
        do {
            if let receiveLoop {
                receiver = .eventLoop(try LoopReceiver(session: session, eventLoop: receiveLoop, logger: logger))
            } else {
                let threads = try ReceiveThreads(session: session, logger: logger)
                try threads.start(count: receiveThreads)
                receiver = .threads(threads)
            }
        } catch {
            if mountedDevice != nil {
                _ = cbs_umount2(path, cbs_mnt_detach())
            }
            fuse_session_destroy(session)
            throw error
        }
        logger.info("FUSE export mounted", metadata: ["mountpoint": "\(path)", "receive": "\(receiveLoop == nil ? "\(receiveThreads) threads" : "event loop")"])
    }

    deinit {
        shutdown()
    }

    /// Exports `backend` as `<mountpoint>/<name>`.
    public func add(name: String, backend: BlockBackend) throws {
        let device = try ExportedDevice(backend: backend, name: name)
        try ensureRunning("export device \(name)")
        let node = try core.registry.withLock { try $0.add(name: name, device: device) }
        // A negative dentry from an earlier lookup would hide the new file.
        _ = name.withCString { fuse_lowlevel_notify_inval_entry(session, DeviceRegistry.rootInode, $0, strlen($0)) }
        logger.info("exported device", metadata: [
            "name": "\(name)", "inode": "\(node.inode)",
            "size": "\(device.visibleSize)", "block_size": "\(device.blockSize)",
        ])
    }

    /// Stops exporting `name`. Refuses (EBUSY) while the file is open, i.e.
    /// while a loop device is attached to it; the kernel releases a file
    /// shortly after its last close, so this waits up to two seconds for
    /// that before giving up.
    public func remove(name: String) throws {
        let deadline = monotonicSeconds() + 2
        while true {
            do {
                _ = try core.registry.withLock { try $0.remove(name: name) }
                break
            } catch let error as BlockExportError where error.errno == EBUSY && monotonicSeconds() < deadline {
                usleep(10_000)
            }
        }
        _ = name.withCString { fuse_lowlevel_notify_inval_entry(session, DeviceRegistry.rootInode, $0, strlen($0)) }
        logger.info("removed device", metadata: ["name": "\(name)"])
    }

    /// Tells the kernel that `name`'s backend changed size, so the next
    /// stat (and `LoopDevice.setCapacity`) sees the new size.
    public func sizeChanged(name: String) {
        guard let node = core.registry.withLock({ $0.node(named: name) }) else {
            logger.warning("size change for unknown device", metadata: ["name": "\(name)"])
            return
        }
        // Offset -1: invalidate attributes only; there is no page cache to drop.
        let rc = fuse_lowlevel_notify_inval_inode(session, node.inode, -1, 0)
        if rc != 0 && rc != -ENOENT {
            logger.warning("notify_inval_inode failed", metadata: ["name": "\(name)", "error": "\(errnoName(-rc))"])
        }
        logger.info("device size changed", metadata: ["name": "\(name)", "size": "\(node.device.visibleSize)"])
    }

    /// The path of an exported device file.
    public func path(of name: String) -> String {
        mountpoint + "/" + name
    }

    /// Names of the exported devices, sorted.
    public var names: [String] {
        core.registry.withLock { $0.names }
    }

    /// Backend requests not yet answered.
    public var requestsInFlight: Int { core.inFlight }

    /// The most requests that were in flight at once since the mount.
    public var peakRequestsInFlight: Int { core.peakInFlight }

    /// Connection parameters agreed at FUSE_INIT (nil until the kernel sent INIT).
    public var connection: NegotiatedConnection? { core.negotiated.withLock { $0 } }

    /// open(2) flags of the latest open of `name` (e.g. to check O_DIRECT arrived).
    public func lastOpenFlags(of name: String) -> Int32? {
        core.registry.withLock { $0.node(named: name)?.lastOpenFlags }
    }

    /// Stops serving and unmounts; safe to call more than once. Detach loop
    /// devices first: if one still holds a device file, the unmount is lazy
    /// and the connection is aborted, so its IO fails with ENOTCONN.
    /// Waits up to `drainTimeout` seconds for backends to answer requests in
    /// flight; if some never answer, the session is leaked rather than freed
    /// under them.
    public func shutdown() {
        let wasRunning = state.withLock { state -> Bool in
            defer { state = .stopped }
            return state == .running
        }
        guard wasRunning else { return }
        fuse_session_exit(session)
        receiver.stop()
        // Backends get a grace period to answer; the kernel waits for them too.
        let deadline = monotonicSeconds() + drainTimeout
        while core.inFlight > 0 && monotonicSeconds() < deadline {
            usleep(2_000)
        }
        let stuck = core.inFlight
        // Unmount only the mount this export made. If our connection is
        // already gone (someone unmounted it), its device number may belong
        // to a newer mount at the same path by now, so leave the path alone.
        if !connectionAborted(), let device = mountedDevice,
           MountTable.current().contains(where: { $0.mountPoint == mountpoint && $0.device == device }) {
            let rc = cbs_umount2(mountpoint, cbs_mnt_detach())
            if rc != 0 {
                logger.error("unmount failed", metadata: ["mountpoint": "\(mountpoint)", "error": "\(errnoName(-rc))"])
            }
        }
        if stuck == 0 {
            // Closes /dev/fuse, which aborts the connection if a loop device
            // still holds a file of the lazily unmounted filesystem.
            fuse_session_destroy(session)
        } else {
            // Late completions will still reply through the session: keep it
            // and the core alive, but point the descriptor at /dev/null so the
            // connection is aborted and those replies go nowhere.
            let null = cbs_open("/dev/null", O_WRONLY)
            if null >= 0 {
                dup2(null, fuse_session_fd(session))
                close(null)
            }
            _ = Unmanaged.passRetained(core)
            logger.error("\(stuck) request(s) never completed; leaking the FUSE session", metadata: ["mountpoint": "\(mountpoint)"])
        }
        logger.info("FUSE export stopped", metadata: ["mountpoint": "\(mountpoint)"])
    }

    /// True when the kernel side of our /dev/fuse connection is gone
    /// (filesystem unmounted and released, or connection aborted).
    private func connectionAborted() -> Bool {
        var pfd = pollfd(fd: fuse_session_fd(session), events: 0, revents: 0)
        return poll(&pfd, 1, 0) == 1 && pfd.revents & Int16(POLLERR) != 0
    }

    private func ensureRunning(_ operation: String) throws {
        let running = state.withLock { $0 == .running }
        guard running else {
            throw BlockExportError(operation: operation, reason: "the export at \(mountpoint) has been shut down", errno: ESHUTDOWN)
        }
    }

    /// Lazily unmounts whatever is mounted at `path`: a crashed run leaves a
    /// dead FUSE mount there (any access fails with ENOTCONN). Decided from
    /// the mount table alone, because stat on a hung FUSE mount would hang.
    static func clearStaleMount(_ path: String, logger: Logger) throws {
        var stacked = MountTable.current().filter { $0.mountPoint == path }.count
        while stacked > 0 {
            logger.warning("unmounting stale mount", metadata: ["mountpoint": "\(path)"])
            let rc = cbs_umount2(path, cbs_mnt_detach())
            if rc != 0 && rc != -EINVAL {
                throw BlockExportError.system("mount FUSE export at \(path)", "umount2(MNT_DETACH) of the stale mount", errno: -rc)
            }
            stacked -= 1
        }
    }

    /// The device number ("major:minor") of the newest fuse.mpath mount at `path`.
    static func mountedDevice(at path: String) -> String? {
        MountTable.current().last { $0.mountPoint == path && $0.fsType == "fuse.mpath" }?.device
    }
}

/// Builds a `fuse_args` from Swift strings, valid for the duration of `body`.
private func withFUSEArgs<Result>(_ arguments: [String], _ body: (UnsafeMutablePointer<fuse_args>) -> Result) -> Result {
    var pointers: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) }
    pointers.append(nil)
    defer {
        for pointer in pointers {
            free(pointer)
        }
    }
    return pointers.withUnsafeMutableBufferPointer { argv in
        var args = fuse_args(argc: Int32(arguments.count), argv: argv.baseAddress, allocated: 0)
        let result = body(&args)
        // libfuse copies argv when it rewrites it; free only its copy.
        if args.allocated != 0 {
            fuse_opt_free_args(&args)
        }
        return result
    }
}

/// mkdir -p with mode 0755.
func makeDirectories(_ path: String, operation: String) throws {
    var current = ""
    for component in path.split(separator: "/") {
        current += "/" + component
        if mkdir(current, 0o755) != 0 && errno != EEXIST {
            throw BlockExportError.system(operation, "mkdir \(current)", errno: errno)
        }
    }
}

/// Seconds on the monotonic clock.
func monotonicSeconds() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
}
