#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CFUSE3
import NIOCore

/// A FUSE request carried through an asynchronous backend call. Replies go
/// straight to /dev/fuse from whichever thread completes the IO; the guard
/// makes a second completion (a backend bug) a logged no-op instead of a
/// use-after-free inside libfuse.
final class PendingRequest: @unchecked Sendable {
    private let request: fuse_req_t
    private let core: ExportCore
    private let replied = Locked(false)

    /// Wraps `request` and counts it as in flight until a reply is sent.
    init(_ request: fuse_req_t, core: ExportCore) {
        self.request = request
        self.core = core
        core.requestStarted()
    }

    private func claim() -> Bool {
        let first = replied.withLock { done -> Bool in
            defer { done = true }
            return !done
        }
        if !first {
            core.logger.error("a backend completed the same request twice; the second completion was ignored")
        }
        return first
    }

    /// Replies with data (read).
    func reply(data buffer: ByteBuffer) {
        guard claim() else { return }
        let rc = buffer.withUnsafeReadableBytes { bytes in
            fuse_reply_buf(request, bytes.baseAddress?.assumingMemoryBound(to: CChar.self), bytes.count)
        }
        finish(rc, "read reply")
    }

    /// Replies with a write count.
    func reply(written count: Int) {
        guard claim() else { return }
        finish(fuse_reply_write(request, count), "write reply")
    }

    /// Replies success without data (flush, fsync, fallocate).
    func replySuccess() {
        guard claim() else { return }
        finish(fuse_reply_err(request, 0), "reply")
    }

    /// Replies with an errno.
    func reply(error: BlockIOError) {
        guard claim() else { return }
        finish(fuse_reply_err(request, error.errno), "error reply")
    }

    private func finish(_ rc: Int32, _ what: String) {
        // ENOENT: the kernel gave up on the request (interrupted or aborted); nothing to do.
        if rc != 0 && rc != -ENOENT {
            core.logger.debug("FUSE \(what) failed: \(errnoName(-rc))")
        }
        core.requestFinished()
    }
}
