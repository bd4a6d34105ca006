#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CFUSE3
import Logging

/// Routes libfuse's own messages (normally printed to stderr) into swift-log.
/// libfuse has one process-wide log hook, so the first export's logger wins.
enum FUSELogBridge {
    private static let sink = Locked(Logger?.none)

    static func install(_ logger: Logger) {
        let first = sink.withLock { current -> Bool in
            guard current == nil else { return false }
            current = logger
            return true
        }
        guard first else { return }
        fuse_set_log_func { level, format, arguments in
            guard let format, let arguments else { return }
            var text = [CChar](repeating: 0, count: 1024)
            _ = vsnprintf(&text, text.count, format, arguments)
            var message = String(cString: text)
            while message.hasSuffix("\n") {
                message.removeLast()
            }
            FUSELogBridge.emit(level: level, message: message)
        }
    }

    private static func emit(level: fuse_log_level, message: String) {
        guard let logger = sink.withLock({ $0 }) else { return }
        switch level {
        case FUSE_LOG_EMERG, FUSE_LOG_ALERT, FUSE_LOG_CRIT, FUSE_LOG_ERR:
            logger.error("libfuse: \(message)")
        case FUSE_LOG_WARNING:
            logger.warning("libfuse: \(message)")
        case FUSE_LOG_NOTICE, FUSE_LOG_INFO:
            logger.info("libfuse: \(message)")
        default:
            logger.debug("libfuse: \(message)")
        }
    }
}
