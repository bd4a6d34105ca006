import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// What a finished child process printed and how it ended.
struct CommandResult {
    /// Exit status, or 128 + signal number when the process was killed by a signal.
    let status: Int32
    let stdout: String
    let stderr: String
}

/// A child process that could not start, timed out, or (when checked) exited non-zero.
/// The command line and stderr have every secret replaced by "***".
struct CommandError: Error, CustomStringConvertible {
    /// The redacted command line.
    let command: String
    /// Exit status as in `CommandResult.status`; nil when the process never ran to the end.
    let status: Int32?
    /// The redacted stderr (possibly empty).
    let stderr: String
    let message: String

    var description: String {
        var text = "\(message): \(command)"
        let trimmed = stderr.trimmingCharacters(in: .whitespacesAndNewlines)
        if !trimmed.isEmpty { text += "\n  stderr: \(trimmed)" }
        return text
    }
}

/// Runs external tools (tgtadm, iptables, iscsi-ls, bash) with posix_spawn.
///
/// posix_spawn and waitpid rather than Foundation.Process because the tgtd fixture also
/// stops its daemon from an atexit handler, where Foundation's run loop machinery is not safe.
enum Command {
    /// Runs `executable` (looked up in PATH) with `arguments`, stdin from /dev/null.
    /// - Parameters:
    ///   - timeout: seconds before the child is killed with SIGKILL and a `CommandError` thrown.
    ///   - check: when true a non-zero exit status throws `CommandError`.
    ///   - secrets: strings (passwords) to hide in any error text.
    @discardableResult
    static func run(
        _ executable: String,
        _ arguments: [String],
        timeout: Double = 60,
        check: Bool = true,
        secrets: [String] = []
    ) throws -> CommandResult {
        let shown = describe(executable, arguments, secrets: secrets)
        let stdoutFD = try makeUnlinkedTempFile(for: shown)
        defer { close(stdoutFD) }
        let stderrFD = try makeUnlinkedTempFile(for: shown)
        defer { close(stderrFD) }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, stdoutFD, 1)
        posix_spawn_file_actions_adddup2(&actions, stderrFD, 2)
        // Daemons started through us (tgtd via bash) must not inherit the test's sockets.
        // glibc ignores close actions on descriptors closed meanwhile, so a stale list is fine.
        for fd in inheritedDescriptors() {
            posix_spawn_file_actions_addclose(&actions, fd)
        }

        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }

        var pid: pid_t = 0
        let spawnError = posix_spawnp(&pid, executable, &actions, nil, argv, environ)
        guard spawnError == 0 else {
            throw CommandError(command: shown, status: nil, stderr: "",
                               message: "could not start \(executable) (\(String(cString: strerror(spawnError))))")
        }

        let rawStatus = try waitForExit(pid: pid, timeout: timeout, shown: shown)
        let status = decodeWaitStatus(rawStatus)
        let result = CommandResult(status: status,
                                   stdout: readAll(stdoutFD),
                                   stderr: readAll(stderrFD))
        if check && status != 0 {
            throw CommandError(command: shown, status: status,
                               stderr: redact(result.stderr, secrets: secrets),
                               message: "command failed with exit status \(status)")
        }
        return result
    }

    /// The command line as shown in errors, secrets replaced by "***".
    static func describe(_ executable: String, _ arguments: [String], secrets: [String]) -> String {
        redact(([executable] + arguments).joined(separator: " "), secrets: secrets)
    }

    /// `text` with every non-empty secret replaced by "***".
    static func redact(_ text: String, secrets: [String]) -> String {
        secrets.filter { !$0.isEmpty }.reduce(text) { $0.replacingOccurrences(of: $1, with: "***") }
    }

    private static func makeUnlinkedTempFile(for shown: String) throws -> Int32 {
        var template = Array("/tmp/mpath-command.XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else {
            throw CommandError(command: shown, status: nil, stderr: "",
                               message: "could not create a capture file (\(String(cString: strerror(errno))))")
        }
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        // Unlinked at once: nothing is left in /tmp whatever happens to the test process.
        template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
        return fd
    }

    /// Descriptors above stderr that this process has open now.
    private static func inheritedDescriptors() -> [Int32] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        return names.compactMap { Int32($0) }.filter { $0 > 2 }
    }

    private static func waitForExit(pid: pid_t, timeout: Double, shown: String) throws -> Int32 {
        let deadline = Date().addingTimeInterval(timeout)
        var rawStatus: Int32 = 0
        var pause: UInt32 = 1_000
        while true {
            let waited = waitpid(pid, &rawStatus, WNOHANG)
            if waited == pid { return rawStatus }
            if waited == -1 && errno != EINTR {
                throw CommandError(command: shown, status: nil, stderr: "",
                                   message: "waitpid failed (\(String(cString: strerror(errno))))")
            }
            if Date() >= deadline {
                kill(pid, SIGKILL)
                _ = waitpid(pid, &rawStatus, 0)
                throw CommandError(command: shown, status: nil, stderr: "",
                                   message: "command did not finish within \(timeout) s and was killed")
            }
            usleep(pause)
            pause = min(pause * 2, 20_000)
        }
    }

    /// WIFEXITED/WEXITSTATUS/WTERMSIG, which Swift does not import (they are C macros).
    private static func decodeWaitStatus(_ raw: Int32) -> Int32 {
        let signal = raw & 0x7f
        if signal == 0 { return (raw >> 8) & 0xff }
        return 128 + signal
    }

    private static func readAll(_ fd: Int32) -> String {
        guard lseek(fd, 0, SEEK_SET) == 0 else { return "" }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count > 0 {
                bytes.append(contentsOf: chunk[0..<count])
            } else if count == 0 || errno != EINTR {
                break
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
