import Foundation
import Multipath
import XCTest

/// A real `mpathd` in private config/state/run dirs, driven through `mpathctl`, stopped with
/// SIGTERM. Used by the path-manager integration tests.
final class DaemonHarness {
    let configDir: String
    let stateDir: String
    let runDir: String
    private let process = Process()
    private let logPath: String
    private(set) var stopped = false

    static var binDir: URL { URL(fileURLWithPath: CLI.path).deletingLastPathComponent() }

    init(multipathConf: String = "defaults {\n    user_friendly_names yes\n}\n", iscsidConf: String? = nil) throws {
        configDir = try TestTempDirectory.make("mpathd-config")
        stateDir = try TestTempDirectory.make("mpathd-state")
        runDir = try TestTempDirectory.make("mpathd-run")
        logPath = try TestTempDirectory.make("mpathd-log") + "/mpathd.log"
        try multipathConf.write(toFile: configDir + "/multipath.conf", atomically: true, encoding: .utf8)
        if let iscsidConf { try iscsidConf.write(toFile: configDir + "/iscsid.conf", atomically: true, encoding: .utf8) }
        FileManager.default.createFile(atPath: logPath, contents: nil)
        process.executableURL = Self.binDir.appendingPathComponent("mpathd")
        process.arguments = ["--foreground", "--log-level", "debug", "--config-dir", configDir, "--state-dir", stateDir,
                             "--run-dir", runDir]
        let logHandle = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        process.standardOutput = logHandle
        process.standardError = logHandle
        try process.run()
        // Ready when the control socket answers.
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            if try ctl(["session"]).stderr.contains("not running") == false { return }
            guard process.isRunning else { break }
            usleep(100_000)
        }
        throw TestSupportError("mpathd did not come up: \(log())")
    }

    deinit { try? stop() }

    func log() -> String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    @discardableResult
    func ctl(_ args: [String], timeout: Double = 120) throws -> CommandResult {
        try Command.run("env", ["MPATH_CONFIG_DIR=\(configDir)", "MPATH_STATE_DIR=\(stateDir)", "MPATH_RUN_DIR=\(runDir)",
                                CLI.path] + args, timeout: timeout, check: false)
    }

    /// `mpathctl status --json`, decoded.
    func status() throws -> (report: StatusReport, exit: Int32) {
        let result = try ctl(["status", "--json"])
        let report = try StatusReport.decode(Data(result.stdout.utf8))
        return (report, result.status)
    }

    /// discover on every fixture portal, then login --all.
    func discoverAndLogin(_ fixture: TGT) throws {
        let discover = try ctl(["discover"] + fixture.portals.prefix(2).flatMap { ["-p", $0] })
        guard discover.status == 0 else { throw TestSupportError("discover failed: \(discover.stderr)") }
        let login = try ctl(["login", "--all"])
        guard login.status == 0 else { throw TestSupportError("login failed: \(login.stdout) \(login.stderr)\n\(log())") }
    }

    /// The map's block device (RUN_DIR/by-name/NAME → /dev/loopN).
    func device(_ map: String) throws -> String {
        try FileManager.default.destinationOfSymbolicLink(atPath: "\(runDir)/by-name/\(map)")
    }

    /// SIGTERM and wait (bounded); returns the exit status.
    @discardableResult
    func stop(timeout: Double = 60) throws -> Int32 {
        guard !stopped else { return process.terminationStatus }
        stopped = true
        if process.isRunning {
            process.terminate()
            let deadline = Date().addingTimeInterval(timeout)
            while process.isRunning && Date() < deadline { usleep(50_000) }
            if process.isRunning {
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
                throw TestSupportError("mpathd ignored SIGTERM for \(timeout) s:\n\(log())")
            }
        }
        return process.terminationStatus
    }

    /// Everything the daemon could leave behind, for the clean-stop assertions.
    func leftovers() -> [String] {
        var found: [String] = []
        let mounts = (try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)) ?? ""
        if mounts.contains(runDir) { found.append("a mount under \(runDir)") }
        if FileManager.default.fileExists(atPath: runDir + "/mpathd.sock") { found.append("the control socket") }
        let loops = (try? FileManager.default.contentsOfDirectory(atPath: "/sys/block")) ?? []
        for loop in loops where loop.hasPrefix("loop") {
            if let backing = try? String(contentsOfFile: "/sys/block/\(loop)/loop/backing_file", encoding: .utf8),
               backing.contains(runDir) {
                found.append("/dev/\(loop) backed by \(backing.trimmingCharacters(in: .whitespacesAndNewlines))")
            }
        }
        return found
    }

    func cleanup() {
        try? stop()
        // Belt and braces for a failed test: nothing may outlive the test run.
        _ = try? Command.run("umount", ["-l", runDir + "/dev"], check: false)
        for dir in [configDir, stateDir, runDir] { try? TestTempDirectory.remove(dir) }
    }
}
