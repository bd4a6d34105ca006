import Foundation
import Logging
import XCTest

@testable import BlockExport

/// Helpers shared by the kernel-facing tests.
enum TestSupport {
    static let logger: Logger = {
        var logger = Logger(label: "blockexport-tests")
        logger.logLevel = ProcessInfo.processInfo.environment["BLOCKEXPORT_TEST_DEBUG"] != nil ? .debug : .warning
        return logger
    }()

    /// A fresh directory under /tmp, removed by the caller's defer.
    static func makeTemporaryDirectory() throws -> String {
        let path = "/tmp/blockexport-test-\(getpid())-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// Runs a command, returns its stdout; throws with stderr on failure.
    @discardableResult
    static func run(_ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment["PATH"] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        process.environment = environment
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        // Read before waiting so a chatty command cannot fill the pipe and stall.
        let outData = output.fileHandleForReading.readDataToEndOfFile()
        let errData = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let stdout = String(decoding: outData, as: UTF8.self)
        guard process.terminationStatus == 0 else {
            let stderr = String(decoding: errData, as: UTF8.self)
            throw CommandError(command: arguments.joined(separator: " "), status: process.terminationStatus, output: stdout + stderr)
        }
        return stdout
    }

    struct CommandError: Error, CustomStringConvertible {
        var command: String
        var status: Int32
        var output: String
        var description: String { "`\(command)` exited with \(status): \(output)" }
    }

    /// Deterministic pseudo-random bytes (xorshift, 8 bytes per step), so
    /// failures are reproducible.
    static func pattern(count: Int, seed: UInt64) -> [UInt8] {
        var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
        var bytes = [UInt8](repeating: 0, count: count)
        bytes.withUnsafeMutableBytes { raw in
            var index = 0
            while index < count {
                state ^= state << 13
                state ^= state >> 7
                state ^= state << 17
                var word = state
                let take = min(8, count - index)
                withUnsafeBytes(of: &word) { wordBytes in
                    raw.baseAddress!.advanced(by: index).copyMemory(from: wordBytes.baseAddress!, byteCount: take)
                }
                index += take
            }
        }
        return bytes
    }

    /// pwrite all of `bytes` at `offset`.
    static func pwriteAll(_ fd: Int32, _ bytes: [UInt8], at offset: Int) throws {
        var done = 0
        while done < bytes.count {
            let count = bytes.withUnsafeBytes { raw in
                pwrite(fd, raw.baseAddress! + done, bytes.count - done, off_t(offset + done))
            }
            if count < 0 {
                if errno == EINTR { continue }
                throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
            }
            if count == 0 {
                throw POSIXError(.ENOSPC)
            }
            done += count
        }
    }

    /// pread exactly `count` bytes at `offset` (fewer only at end of file).
    static func preadAll(_ fd: Int32, count: Int, at offset: Int) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let got = bytes.withUnsafeMutableBytes { raw in
                pread(fd, raw.baseAddress! + done, count - done, off_t(offset + done))
            }
            if got < 0 {
                if errno == EINTR { continue }
                throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
            }
            if got == 0 { break }
            done += got
        }
        return Array(bytes[0..<done])
    }

    /// Compares byte arrays, reporting the first difference instead of dumping both.
    static func assertBytesEqual(_ actual: [UInt8], _ expected: [UInt8], _ message: String = "", file: StaticString = #filePath, line: UInt = #line) {
        if actual == expected {
            return
        }
        if actual.count != expected.count {
            XCTFail("length \(actual.count) != expected \(expected.count) \(message)", file: file, line: line)
            return
        }
        if let index = actual.indices.first(where: { actual[$0] != expected[$0] }) {
            XCTFail("first difference at byte \(index): \(actual[index]) != expected \(expected[index]) \(message)", file: file, line: line)
        }
    }

    /// Whether `path` is a mount point in this process's namespace.
    static func isMounted(_ path: String) -> Bool {
        MountTable.isMountPoint(path)
    }
}
