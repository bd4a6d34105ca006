import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Temp directories for integration tests, all under one root whose name starts with
/// "/tmp/mpath-test": tools/test detaches loop devices and unmounts FUSE mounts found there,
/// even after a crashed test.
///
/// The root is $MPATH_TEST_TMPDIR (set by tools/test, which removes it afterwards), else
/// /tmp/mpath-test-proc.<pid>, which this process removes at exit.
enum TestTempDirectory {
    private static let lock = NSLock()
    private static var cachedRoot: String?

    /// The root directory, created on first use.
    static func root() throws -> String {
        lock.lock()
        defer { lock.unlock() }
        if let root = cachedRoot { return root }
        let fromEnvironment = ProcessInfo.processInfo.environment["MPATH_TEST_TMPDIR"] ?? ""
        let root = fromEnvironment.isEmpty ? "/tmp/mpath-test-proc.\(getpid())" : fromEnvironment
        do {
            try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        } catch {
            throw TestSupportError("cannot create test temp root \(root): \(error)")
        }
        if fromEnvironment.isEmpty {
            atexit { TestTempDirectory.removeOwnRoot() }
        }
        cachedRoot = root
        return root
    }

    /// Creates a new, uniquely named directory under the root; `label` (letters, digits, '-',
    /// '_', '.') makes it recognisable.
    static func make(_ label: String) throws -> String {
        let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-_."))
        guard !label.isEmpty, label.count <= 64,
              label.unicodeScalars.allSatisfy({ allowed.contains($0) && $0.isASCII }) else {
            throw TestSupportError("temp directory label must be 1-64 ASCII letters, digits, '-', '_' or '.', got '\(label)'")
        }
        var template = Array("\(try root())/\(label).XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        guard let made else {
            throw TestSupportError("mkdtemp for '\(label)' failed: \(String(cString: strerror(errno)))")
        }
        return String(cString: made)
    }

    /// Removes `path` and everything in it; refuses paths outside the root.
    static func remove(_ path: String) throws {
        let root = try root()
        guard path.hasPrefix(root + "/") else {
            throw TestSupportError("refusing to remove \(path): it is not under the test temp root \(root)")
        }
        if FileManager.default.fileExists(atPath: path) {
            try FileManager.default.removeItem(atPath: path)
        }
    }

    private static func removeOwnRoot() {
        guard let root = cachedRoot, root.hasPrefix("/tmp/mpath-test-proc.") else { return }
        try? FileManager.default.removeItem(atPath: root)
    }
}
