import CDeviceMapper
import Foundation
import Logging

/// One line libdevmapper logged.
struct DMLogLine: Equatable {
    /// syslog-style level without libdevmapper's flag bits: 2 fatal … 7 debug.
    var level: Int32
    /// errno when the line was logged (libdevmapper's system-error lines rely on it).
    var systemErrno: Int32
    var message: String

    var isError: Bool { level <= 3 }
}

/// Routes libdevmapper's process-wide log hook to swift-log, so the library never writes to
/// stderr itself, and keeps the error lines of the running operation so a failure can say what
/// libdevmapper saw.
final class DMLogBridge: @unchecked Sendable {
    static let shared = DMLogBridge()

    private let lock = NSLock()
    private var installed = false
    private var logger = Logger(label: "mpath.dm")
    private var capture: [DMLogLine]? = nil

    /// Installs the hook once per process and makes `logger` the destination.
    func route(to logger: Logger) {
        lock.lock()
        self.logger = logger
        let needsInstall = !installed
        installed = true
        lock.unlock()
        if needsInstall {
            cdm_install_log_sink { level, file, line, dmErrno, systemErrno, message in
                DMLogBridge.shared.receive(level: level, file: file, line: line, dmErrno: dmErrno,
                                           systemErrno: systemErrno, message: message)
            }
        }
    }

    /// Starts collecting lines for one operation (operations are serialised by `DMLibrary`).
    func beginCapture() {
        lock.lock()
        capture = []
        lock.unlock()
    }

    /// Stops collecting and returns what was logged since `beginCapture`.
    func endCapture() -> [DMLogLine] {
        lock.lock()
        defer { lock.unlock() }
        let lines = capture ?? []
        capture = nil
        return lines
    }

    private func receive(level rawLevel: Int32, file: UnsafePointer<CChar>?, line: Int32, dmErrno: Int32,
                         systemErrno: Int32, message: UnsafePointer<CChar>?) {
        // libdevmapper ORs flags (stderr 0x80, once 0x100, …) into the level.
        let level = rawLevel & 0x7
        let text = message.map { String(cString: $0) } ?? ""
        // "<backtrace>" lines only mark the call path of an error already logged.
        if text == "<backtrace>" || text.isEmpty { return }

        lock.lock()
        if capture != nil {
            capture?.append(DMLogLine(level: level, systemErrno: systemErrno, message: text))
        }
        let logger = self.logger
        lock.unlock()

        let origin = file.map { String(cString: $0) + ":\(line)" } ?? "?"
        var metadata: Logger.Metadata = ["dm.source": "\(origin)"]
        if level <= 3 && systemErrno > 0 { metadata["errno"] = "\(systemErrno)" }
        logger.log(level: Self.swiftLogLevel(level), "\(text)", metadata: metadata)
    }

    /// libdevmapper (syslog) levels to swift-log levels.
    static func swiftLogLevel(_ level: Int32) -> Logger.Level {
        switch level {
        case ...2: return .critical
        case 3: return .error
        case 4: return .warning
        case 5: return .notice
        case 6: return .info
        default: return .debug
        }
    }
}
