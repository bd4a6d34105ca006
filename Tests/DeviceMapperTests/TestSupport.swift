import Foundation
import Logging
import XCTest

/// A fresh directory under /tmp, removed by the caller.
func makeTemporaryDirectory(_ label: String) throws -> String {
    var template = Array("/tmp/dm-tests-\(label)-XXXXXX".utf8CString)
    guard let made = mkdtemp(&template) else {
        throw NSError(domain: "DeviceMapperTests", code: Int(errno),
                      userInfo: [NSLocalizedDescriptionKey: "mkdtemp failed: \(String(cString: strerror(errno)))"])
    }
    return String(cString: made)
}

/// Whether the machine running the tests has a usable device-mapper; several tests check the
/// "no dm-mod" behaviour only where that is true.
let realControlNodeExists = FileManager.default.fileExists(atPath: "/dev/mapper/control")

/// Collects log records so tests can see what reached swift-log.
final class RecordingLogHandler: LogHandler, @unchecked Sendable {
    final class Store: @unchecked Sendable {
        private let lock = NSLock()
        private var records: [(Logger.Level, String)] = []

        func append(_ level: Logger.Level, _ message: String) {
            lock.lock()
            records.append((level, message))
            lock.unlock()
        }

        var messages: [(level: Logger.Level, text: String)] {
            lock.lock()
            defer { lock.unlock() }
            return records.map { (level: $0.0, text: $0.1) }
        }
    }

    let store: Store
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    init(store: Store) { self.store = store }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        store.append(event.level, event.message.description)
    }

    static func logger(_ label: String) -> (Logger, Store) {
        let store = Store()
        return (Logger(label: label, factory: { _ in RecordingLogHandler(store: store) }), store)
    }
}
