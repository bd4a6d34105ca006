#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CBlockShims
import CFUSE3
import Logging

/// Threads that read requests from /dev/fuse and dispatch them. Callbacks
/// never block on IO, so a few threads keep up with any queue depth; more
/// than one lets request parsing and write-payload copies overlap.
///
/// The device fd is non-blocking and each thread polls it together with an
/// eventfd, so `stop()` can wake and join every thread without aborting the
/// FUSE connection.
final class ReceiveThreads: @unchecked Sendable {
    private let session: OpaquePointer
    private let logger: Logger
    private let wakeFD: Int32
    private var threads: [pthread_t] = []

    init(session: OpaquePointer, logger: Logger) throws {
        self.session = session
        self.logger = logger
        let fd = cbs_eventfd()
        guard fd >= 0 else {
            throw BlockExportError.system("start FUSE receive threads", "eventfd", errno: -fd)
        }
        self.wakeFD = fd
        let rc = cbs_set_nonblocking(fuse_session_fd(session), 1)
        guard rc == 0 else {
            close(fd)
            throw BlockExportError.system("start FUSE receive threads", "fcntl(O_NONBLOCK) on /dev/fuse", errno: -rc)
        }
    }

    deinit {
        close(wakeFD)
    }

    /// Starts `count` threads.
    func start(count: Int) throws {
        for index in 0..<max(1, count) {
            let context = Unmanaged.passRetained(ThreadContext(owner: self, index: index)).toOpaque()
            var thread = pthread_t()
            let rc = pthread_create(&thread, nil, { raw in
                guard let raw else { return nil }
                let context = Unmanaged<ThreadContext>.fromOpaque(raw).takeRetainedValue()
                context.owner.run(index: context.index)
                return nil
            }, context)
            guard rc == 0 else {
                Unmanaged<ThreadContext>.fromOpaque(context).release()
                stop()
                throw BlockExportError.system("start FUSE receive threads", "pthread_create", errno: rc)
            }
            threads.append(thread)
        }
    }

    /// Wakes all threads and waits for them to exit. Requests already
    /// dispatched keep running; their replies do not need these threads.
    func stop() {
        _ = cbs_eventfd_signal(wakeFD)
        for thread in threads {
            pthread_join(thread, nil)
        }
        threads.removeAll()
    }

    private final class ThreadContext {
        let owner: ReceiveThreads
        let index: Int
        init(owner: ReceiveThreads, index: Int) {
            self.owner = owner
            self.index = index
        }
    }

    private func run(index: Int) {
        _ = cbs_set_thread_name("mpath-fuse-\(index)")
        var buffer = fuse_buf()
        defer { free(buffer.mem) }
        let deviceFD = fuse_session_fd(session)
        var fds = [
            pollfd(fd: deviceFD, events: Int16(POLLIN), revents: 0),
            pollfd(fd: wakeFD, events: Int16(POLLIN), revents: 0),
        ]
        while fuse_session_exited(session) == 0 {
            let ready = poll(&fds, nfds_t(fds.count), -1)
            if ready < 0 {
                if errno == EINTR { continue }
                logger.error("FUSE receive thread \(index): poll failed: \(errnoName(errno))")
                break
            }
            if fds[1].revents != 0 {
                break
            }
            // Drain every request already queued before polling again: one wakeup serves a
            // burst (a queue depth of IO arrives together). Another thread may have taken the
            // request (EAGAIN); on unmount or abort the read fails with ENODEV and libfuse
            // marks the session exited.
            var failed = false
            while true {
                let received = fuse_session_receive_buf(session, &buffer)
                if received == -EAGAIN || received == -EINTR { break }
                if received <= 0 {
                    if received < 0 {
                        logger.error("FUSE receive thread \(index): reading /dev/fuse failed: \(errnoName(-received))")
                    }
                    failed = true
                    break
                }
                fuse_session_process_buf(session, &buffer)
            }
            if failed { break }
        }
    }
}
