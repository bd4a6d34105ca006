#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CBlockShims
import CFUSE3
import Logging
import NIOCore
import NIOPosix

/// Reads /dev/fuse on a SwiftNIO event loop instead of dedicated threads.
///
/// When the backend's IO also runs on that loop (mpathd puts a map's iSCSI sessions there), a
/// request goes from /dev/fuse to the iSCSI socket and its reply back to /dev/fuse on one
/// thread: no thread wakeup and no lock handoff per IO, which on a small machine is most of
/// what the FUSE hop costs.
///
/// NIO owns a duplicate of the descriptor (a pipe channel gives readiness and the first read of
/// a burst); the handler then drains what else is queued with libfuse's own reads, so a queue
/// depth of requests is parsed in one event-loop turn and their commands leave in one flush.
final class LoopReceiver: @unchecked Sendable {
    /// Requests handled per readiness event before yielding to the loop's other channels.
    static let burstLimit = 64

    private let channel: Channel
    let eventLoop: EventLoop

    init(session: OpaquePointer, eventLoop: EventLoop, logger: Logger) throws {
        let operation = "start FUSE receive on an event loop"
        let duplicate = dup(fuse_session_fd(session))
        guard duplicate >= 0 else {
            throw BlockExportError.system(operation, "dup(/dev/fuse)", errno: errno)
        }
        // The kernel refuses a read buffer smaller than max_write plus the request headers.
        let capacity = Int(ConnectionTuning.maxWrite) + 8192
        let handler = ReceiveHandler(session: session, logger: logger)
        do {
            channel = try NIOPipeBootstrap(group: eventLoop)
                .channelOption(ChannelOptions.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: capacity))
                .channelOption(ChannelOptions.autoRead, value: true)
                .channelInitializer { channel in channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(handler) } }
                .takingOwnershipOfDescriptor(input: duplicate)
                .wait()
        } catch {
            throw BlockExportError(operation: operation, reason: "registering /dev/fuse with the event loop failed: \(error)")
        }
        self.eventLoop = eventLoop
    }

    /// Stops reading. Requests already dispatched keep running; their replies go straight to
    /// the session's descriptor.
    func stop() {
        if eventLoop.inEventLoop {
            channel.close(promise: nil)
        } else {
            try? channel.close().wait()
        }
    }

    private final class ReceiveHandler: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = ByteBuffer

        private let session: OpaquePointer
        private let logger: Logger
        /// libfuse's receive buffer for the requests drained after the first (allocated once).
        private var buffer = fuse_buf()

        init(session: OpaquePointer, logger: Logger) {
            self.session = session
            self.logger = logger
        }

        deinit {
            free(buffer.mem)
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let request = unwrapInboundIn(data)
            guard fuse_session_exited(session) == 0 else { return }
            // Read-only view (libfuse does not write to a memory buffer): a mutable one would
            // copy, since NIO's receive pool still references the buffer.
            request.withUnsafeReadableBytes { bytes in
                var incoming = fuse_buf()
                incoming.size = bytes.count
                incoming.mem = UnsafeMutableRawPointer(mutating: bytes.baseAddress)
                fuse_session_process_buf(session, &incoming)
            }
            // Everything else already queued, in this turn of the loop.
            for _ in 1..<LoopReceiver.burstLimit {
                guard fuse_session_exited(session) == 0 else { return }
                let received = fuse_session_receive_buf(session, &buffer)
                if received == -EAGAIN || received == -EINTR { return }
                if received <= 0 {
                    // ENODEV: unmounted or aborted; libfuse marked the session exited.
                    if received < 0 && received != -ENODEV {
                        logger.error("FUSE receive: reading /dev/fuse failed: \(errnoName(-received))")
                    }
                    context.close(promise: nil)
                    return
                }
                fuse_session_process_buf(session, &buffer)
            }
        }

        func errorCaught(context: ChannelHandlerContext, error: Error) {
            // ENODEV after unmount is the normal end; anything else is worth a line.
            if let io = error as? IOError, io.errnoCode == ENODEV {
            } else if fuse_session_exited(session) == 0 {
                logger.error("FUSE receive on the event loop failed: \(error)")
            }
            context.close(promise: nil)
        }
    }
}
