import CUDev
import Foundation
import Logging

/// The udev monitor could not be set up.
public struct UdevMonitorError: Error, Equatable, Sendable, CustomStringConvertible {
    public let message: String
    public let errnoCode: Int32?

    public init(_ message: String, errno code: Int32? = nil) {
        self.message = message
        self.errnoCode = code
    }

    public var description: String { message }
}

/// Watches block-disk uevents over udev's netlink socket, as multipathd's uevent listener does,
/// and hands each one to a callback.
///
/// libudev is not thread-safe, so the udev context, the monitor and every device object live on
/// one dedicated thread, which also runs the callback; `stop()` wakes it through an eventfd and
/// waits for it to finish.
public final class UdevMonitor: @unchecked Sendable {
    /// What to listen to.
    public struct Options: Sendable {
        /// "udev" for events after udev's rules ran (what multipathd uses), "kernel" for raw ones.
        public var source: String
        public var subsystem: String
        /// Device type within the subsystem; nil for all.
        public var devtype: String?
        /// Socket receive buffer, so a burst of events is not dropped (multipathd asks 128 MiB).
        public var receiveBufferSize: Int32

        public init(source: String = "udev", subsystem: String = "block", devtype: String? = "disk",
                    receiveBufferSize: Int32 = 128 * 1024 * 1024) {
            self.source = source
            self.subsystem = subsystem
            self.devtype = devtype
            self.receiveBufferSize = receiveBufferSize
        }
    }

    /// Whether the udev daemon runs here; without it a "udev" monitor never receives anything.
    public static var udevIsRunning: Bool { access("/run/udev/control", F_OK) == 0 }

    public let options: Options
    private let logger: Logger
    private let handler: @Sendable (UdevEvent) -> Void
    private let lock = NSLock()
    private var current: Run?

    /// `handler` runs on the monitor's thread, one event at a time.
    public init(options: Options = Options(), logger: Logger = Logger(label: "mpath.udev"),
                handler: @escaping @Sendable (UdevEvent) -> Void) {
        self.options = options
        self.logger = logger
        self.handler = handler
    }

    deinit { stop() }

    /// True between a successful `start()` and the thread's end.
    public var isRunning: Bool {
        lock.lock()
        defer { lock.unlock() }
        return current?.state == .running
    }

    /// Starts the monitor thread and returns once it listens, or throws what went wrong while
    /// setting it up (the thread is gone then).
    public func start() throws {
        lock.lock()
        if let current, current.state != .finished {
            lock.unlock()
            throw UdevMonitorError("udev monitor: already running")
        }
        let wake = eventfd(0, Int32(EFD_CLOEXEC | EFD_NONBLOCK))
        guard wake >= 0 else {
            let code = errno
            lock.unlock()
            throw UdevMonitorError("udev monitor: cannot create the stop eventfd: \(errnoText(code))", errno: code)
        }
        let run = Run(wakeFD: wake)
        current = run
        lock.unlock()

        if options.source == "udev" && !Self.udevIsRunning {
            logger.notice("udev is not running (/run/udev/control is missing): the monitor will receive no events")
        }
        let options = self.options, logger = self.logger, handler = self.handler, monitorLock = self.lock
        let thread = Thread {
            Self.threadMain(run: run, options: options, logger: logger, handler: handler, lock: monitorLock)
        }
        thread.name = "udev-monitor"
        thread.start()
        run.ready.wait()
        if let error = run.setupError {
            run.finished.wait()
            throw error
        }
    }

    /// Stops the thread and waits for it (unless called from the callback, which cannot wait for
    /// its own thread; the thread then ends when the callback returns). Safe to call repeatedly.
    public func stop() {
        lock.lock()
        guard let run = current, run.state == .running else {
            lock.unlock()
            return
        }
        run.state = .stopping
        var one: UInt64 = 1
        _ = write(run.wakeFD, &one, MemoryLayout<UInt64>.size)
        let onMonitorThread = run.hasThread && pthread_equal(pthread_self(), run.thread) != 0
        lock.unlock()
        if !onMonitorThread { run.finished.wait() }
    }

    // MARK: - The monitor thread

    /// One start/stop cycle.
    private final class Run: @unchecked Sendable {
        enum State { case running, stopping, finished }
        let wakeFD: Int32
        let ready = DispatchSemaphore(value: 0)
        let finished = DispatchSemaphore(value: 0)
        var state = State.running
        var setupError: UdevMonitorError?
        var thread = pthread_t()
        var hasThread = false

        init(wakeFD: Int32) { self.wakeFD = wakeFD }
    }

    private static func threadMain(run: Run, options: Options, logger: Logger,
                                   handler: @Sendable (UdevEvent) -> Void, lock: NSLock) {
        lock.lock()
        run.thread = pthread_self()
        run.hasThread = true
        lock.unlock()

        defer {
            lock.lock()
            close(run.wakeFD)
            run.state = .finished
            lock.unlock()
            run.finished.signal()
        }

        let setup = openMonitor(options: options, logger: logger)
        guard case .success(let (udev, monitor)) = setup else {
            if case .failure(let error) = setup { run.setupError = error }
            run.ready.signal()
            return
        }
        defer {
            udev_monitor_unref(monitor)
            udev_unref(udev)
        }
        let socket = udev_monitor_get_fd(monitor)
        run.ready.signal()
        logger.debug("udev monitor listening", metadata: ["source": "\(options.source)", "subsystem": "\(options.subsystem)"])

        var fds = [pollfd(fd: socket, events: Int16(POLLIN), revents: 0),
                   pollfd(fd: run.wakeFD, events: Int16(POLLIN), revents: 0)]
        while true {
            let ready = poll(&fds, nfds_t(fds.count), -1)
            if ready < 0 {
                let code = errno
                if code == EINTR { continue }
                logger.error("udev monitor: poll failed, stopping", metadata: ["error": "\(errnoText(code))"])
                return
            }
            if fds[1].revents != 0 { return }
            if fds[0].revents & Int16(POLLIN) != 0 {
                // The socket is non-blocking: drain everything queued before polling again.
                while let device = udev_monitor_receive_device(monitor) {
                    let event = makeEvent(device)
                    udev_device_unref(device)
                    handler(event)
                }
            } else if fds[0].revents != 0 {
                logger.error("udev monitor: the netlink socket failed, stopping",
                             metadata: ["revents": "\(fds[0].revents)"])
                return
            }
        }
    }

    /// Creates the context and the monitor, on the monitor thread.
    private static func openMonitor(options: Options, logger: Logger)
        -> Result<(OpaquePointer, OpaquePointer), UdevMonitorError> {
        func failure(_ what: String, _ code: Int32) -> Result<(OpaquePointer, OpaquePointer), UdevMonitorError> {
            let reason = code > 0 ? ": \(errnoText(code)) (errno \(code))" : ""
            return .failure(UdevMonitorError("udev monitor: \(what)\(reason)", errno: code > 0 ? code : nil))
        }
        guard options.source == "udev" || options.source == "kernel" else {
            return .failure(UdevMonitorError("udev monitor: source must be 'udev' or 'kernel', found '\(options.source)'"))
        }
        errno = 0
        guard let udev = udev_new() else { return failure("cannot create a udev context", errno) }
        errno = 0
        guard let monitor = udev_monitor_new_from_netlink(udev, options.source) else {
            let code = errno
            udev_unref(udev)
            return failure("cannot create the netlink monitor ('\(options.source)' events)", code)
        }
        var result = udev_monitor_filter_add_match_subsystem_devtype(monitor, options.subsystem, options.devtype)
        if result >= 0 {
            if udev_monitor_set_receive_buffer_size(monitor, options.receiveBufferSize) < 0 {
                // Raising the buffer past rmem_max needs CAP_NET_ADMIN; the default still works.
                logger.debug("udev monitor: could not enlarge the receive buffer",
                             metadata: ["bytes": "\(options.receiveBufferSize)"])
            }
            result = udev_monitor_enable_receiving(monitor)
            if result < 0 {
                udev_monitor_unref(monitor)
                udev_unref(udev)
                return failure("cannot start receiving ('\(options.source)' events)", -result)
            }
            return .success((udev, monitor))
        }
        udev_monitor_unref(monitor)
        udev_unref(udev)
        return failure("cannot filter on subsystem '\(options.subsystem)'", -result)
    }

    /// Copies what the callback needs out of a libudev device (which must not leave the thread).
    private static func makeEvent(_ device: OpaquePointer) -> UdevEvent {
        func text(_ pointer: UnsafePointer<CChar>?) -> String? { pointer.map { String(cString: $0) } }
        var properties: [String: String] = [:]
        var entry = udev_device_get_properties_list_entry(device)
        while let current = entry {
            if let name = text(udev_list_entry_get_name(current)) {
                properties[name] = text(udev_list_entry_get_value(current)) ?? ""
            }
            entry = udev_list_entry_get_next(current)
        }
        let raw = UInt64(udev_device_get_devnum(device))
        return UdevEvent(action: UdevEvent.Action(text(udev_device_get_action(device)) ?? properties["ACTION"] ?? ""),
                         devnode: text(udev_device_get_devnode(device)),
                         devnum: raw == 0 ? nil : DeviceNumber(rawValue: raw),
                         sysname: text(udev_device_get_sysname(device)),
                         properties: properties)
    }
}
