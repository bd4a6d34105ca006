import Foundation
import XCTest

@testable import MPathConfig

#if canImport(Glibc)
import Glibc
#endif

/// A scratch directory removed when the test finishes.
final class TemporaryDirectory {
    let path: String

    init() throws {
        var template = Array((NSTemporaryDirectory() + "/mpathconfig-test-XXXXXX").utf8CString)
        guard let created = mkdtemp(&template) else {
            throw ConfigError(message: "mkdtemp failed")
        }
        path = String(cString: created)
    }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }

    func write(_ name: String, _ text: String) throws {
        let full = path + "/" + name
        try FileManager.default.createDirectory(
            atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try text.write(toFile: full, atomically: false, encoding: .utf8)
    }

    func read(_ name: String) throws -> String {
        try String(contentsOfFile: path + "/" + name, encoding: .utf8)
    }
}

/// Permission bits of a file or directory.
func mode(of path: String) -> mode_t? {
    var info = stat()
    guard stat(path, &info) == 0 else { return nil }
    return info.st_mode & 0o7777
}

/// SplitMix64: small, fast, and reproducible for a fixed seed.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// The shipped sample in Config/ (found relative to this file, following the symlinks a
/// scratch package may use).
func sampleConfig(_ name: String) throws -> (text: String, path: String) {
    let here = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
    let root = here.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let path = root.appendingPathComponent("Config").appendingPathComponent(name).path
    return (try String(contentsOfFile: path, encoding: .utf8), path)
}

/// Runs `body` expecting a ConfigError and returns it.
func expectConfigError(
    _ body: () throws -> Void, file: StaticString = #filePath, line: UInt = #line
) -> ConfigError? {
    do {
        try body()
        XCTFail("expected a ConfigError", file: file, line: line)
        return nil
    } catch let error as ConfigError {
        return error
    } catch {
        XCTFail("expected a ConfigError, got \(error)", file: file, line: line)
        return nil
    }
}
