import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The tgtd (Linux SCSI target daemon) that integration tests log in to: one per test process.
///
/// With MPATH_TGT_CTL set (tools/test and `tools/tgt-env up` export it, with MPATH_TGT_PORTALS
/// and MPATH_TGT_DIR) the fixture uses that daemon. Otherwise it starts its own through
/// tools/lib/tgt.sh on control port 17302 (MPATH_TGT_FIXTURE_CTL overrides) with portals
/// 127.0.0.4:3260 and 127.0.0.5:3260, and stops it when the process exits. Run parallel test
/// workers against one daemon from `tools/tgt-env up`: each worker would otherwise try to own
/// the same control port.
///
///     let tgt = try TGT.shared
///     let target = try tgt.createTarget(luns: [(lun: 1, sizeBytes: 64 << 20)], iqnSuffix: "login")
///     defer { try? target.delete() }
///
/// Thread safety: the fixture's own state is locked; a `TestTarget` belongs to one test.
final class TGT {
    /// Control port of the daemon this fixture drives (`tgtadm -C`).
    let controlPort: Int
    /// Loopback portals the daemon listens on, as "ADDRESS:PORT".
    let portals: [String]
    /// Directory of the daemon's log (tgtd.log) and pid file.
    let stateDirectory: String
    /// True when this process started the daemon and stops it at exit.
    let ownsDaemon: Bool
    /// Path of tools/lib/tgt.sh, used to start and stop the daemon.
    let libraryPath: String

    private let lock = NSLock()
    private var generationValue = 0
    private var lastTID = 0

    // MARK: - Shared instance

    private static let sharedLock = NSLock()
    private static var sharedResult: Result<TGT, Error>?

    /// The process-wide fixture; the first access connects to (or starts) the daemon. A failure
    /// is remembered, so every test reports the same clear error quickly.
    static var shared: TGT {
        get throws {
            sharedLock.lock()
            defer { sharedLock.unlock() }
            if let result = sharedResult { return try result.get() }
            let result = Result { try TGT(environment: ProcessInfo.processInfo.environment) }
            sharedResult = result
            if case .success(let fixture) = result, fixture.ownsDaemon {
                atexit { TGT.stopOwnedDaemonAtExit() }
            }
            return try result.get()
        }
    }

    private static func stopOwnedDaemonAtExit() {
        guard case .success(let fixture)? = sharedResult, fixture.ownsDaemon else { return }
        do {
            try fixture.stopDaemon()
        } catch {
            fputs("TGT fixture: stopping tgtd at exit failed: \(error)\n", stderr)
        }
    }

    private init(environment: [String: String]) throws {
        libraryPath = try Self.locateLibrary(environment)
        let externalControl = environment["MPATH_TGT_CTL"] ?? ""
        if !externalControl.isEmpty {
            controlPort = try Self.parseControlPort(externalControl, variable: "MPATH_TGT_CTL")
            let listed = (environment["MPATH_TGT_PORTALS"] ?? "").split(whereSeparator: { $0 == " " || $0 == "\t" })
            portals = listed.isEmpty ? ["127.0.0.2:3260", "127.0.0.3:3260"] : listed.map(String.init)
            for portal in portals { _ = try LoopbackPortal.parse(portal) }
            let directory = environment["MPATH_TGT_DIR"] ?? ""
            stateDirectory = directory.isEmpty ? "/tmp/mpath-tgt" : directory
            ownsDaemon = false
            guard answers() else {
                throw TestSupportError("MPATH_TGT_CTL=\(controlPort) is set but no tgtd answers on that control port; start one with `eval \"$(tools/tgt-env up)\"` or unset MPATH_TGT_CTL")
            }
        } else {
            let override = environment["MPATH_TGT_FIXTURE_CTL"] ?? ""
            controlPort = override.isEmpty ? 17302 : try Self.parseControlPort(override, variable: "MPATH_TGT_FIXTURE_CTL")
            portals = ["127.0.0.4:3260", "127.0.0.5:3260"]
            stateDirectory = "/tmp/mpath-tgt-fixture.\(controlPort)"
            ownsDaemon = true
            try takeOverStaleDaemon()
            try startDaemon()
        }
    }

    // MARK: - tgtadm

    /// Runs `tgtadm -C <port> --lld iscsi <args>`. With `check` a non-zero exit throws a
    /// `CommandError` naming the command and tgtadm's stderr; `secrets` are hidden in it.
    @discardableResult
    func run(_ args: [String], check: Bool = true, secrets: [String] = []) throws
        -> (status: Int32, stdout: String, stderr: String) {
        let result = try Command.run("tgtadm", ["-C", String(controlPort), "--lld", "iscsi"] + args,
                                     timeout: 30, check: check, secrets: secrets)
        return (result.status, result.stdout, result.stderr)
    }

    /// True when the daemon answers on its control port.
    func answers() -> Bool {
        (try? run(["--op", "show", "--mode", "system"], check: false).status) == 0
    }

    /// The portals tgtd reports (`--op show --mode portal`), without the ",TPGT" suffix.
    func listPortals() throws -> [String] {
        try run(["--op", "show", "--mode", "portal"]).stdout
            .split(separator: "\n")
            .compactMap { line -> String? in
                guard line.hasPrefix("Portal: ") else { return nil }
                let value = line.dropFirst("Portal: ".count)
                return String(value.split(separator: ",").first ?? value)
            }
    }

    /// Target ids currently defined in the daemon.
    func targetIDs() throws -> [Int] {
        try run(["--op", "show", "--mode", "target"]).stdout
            .split(separator: "\n")
            .compactMap { line -> Int? in
                guard line.hasPrefix("Target "), let colon = line.firstIndex(of: ":") else { return nil }
                return Int(line[line.index(line.startIndex, offsetBy: 7)..<colon])
            }
    }

    /// Incremented by every `restartTGTD()`; targets of an older generation no longer exist.
    var generation: Int {
        lock.lock()
        defer { lock.unlock() }
        return generationValue
    }

    // MARK: - Targets

    /// Creates a target named `iqn.2026-11.test.mpath:<iqnSuffix>-<tid>` with a fresh target id,
    /// one sparse backing file per LUN (in a new temp directory) and access for all initiators.
    /// - Parameters:
    ///   - luns: LUN numbers 1...255 (LUN 0 is tgtd's controller) and sizes, multiples of 512.
    ///   - iqnSuffix: lowercase letters, digits, '.', '-' (1-64 characters).
    func createTarget(luns: [(lun: Int, sizeBytes: UInt64)], iqnSuffix: String) throws -> TestTarget {
        let allowed = Set("abcdefghijklmnopqrstuvwxyz0123456789.-")
        guard (1...64).contains(iqnSuffix.count), iqnSuffix.allSatisfy({ allowed.contains($0) }) else {
            throw TestSupportError("iqnSuffix must be 1-64 of a-z 0-9 . -, got '\(iqnSuffix)'")
        }
        var seen = Set<Int>()
        for entry in luns {
            guard (1...255).contains(entry.lun) else {
                throw TestSupportError("LUN \(entry.lun) is out of range 1...255 (LUN 0 is tgtd's controller)")
            }
            guard seen.insert(entry.lun).inserted else {
                throw TestSupportError("LUN \(entry.lun) is listed twice")
            }
            guard entry.sizeBytes > 0, entry.sizeBytes % 512 == 0 else {
                throw TestSupportError("LUN \(entry.lun) size \(entry.sizeBytes) is not a positive multiple of 512")
            }
        }

        let directory = try TestTempDirectory.make("tgt-\(iqnSuffix)")
        let (tid, iqn) = try addTargetWithFreshTID(iqnSuffix: iqnSuffix, directory: directory)
        let target = TestTarget(fixture: self, tid: tid, iqn: iqn, directory: directory, generation: generation)
        do {
            for entry in luns {
                try target.addLUN(entry.lun, sizeBytes: entry.sizeBytes)
            }
            try run(["--op", "bind", "--mode", "target", "--tid", String(tid), "--initiator-address", "ALL"])
        } catch {
            try? target.delete()
            throw error
        }
        return target
    }

    /// Tries ids above both the highest existing one and the last one this process used, so a
    /// test never sees a recycled IQN; another process sharing the daemon may win a race, so
    /// "already exists" moves on to the next id.
    private func addTargetWithFreshTID(iqnSuffix: String, directory: String) throws -> (Int, String) {
        lock.lock()
        defer { lock.unlock() }
        var tid = max(try targetIDs().max() ?? 0, lastTID) + 1
        for _ in 0..<64 {
            let iqn = "iqn.2026-11.test.mpath:\(iqnSuffix)-\(tid)"
            let result = try run(["--op", "new", "--mode", "target", "--tid", String(tid), "--targetname", iqn],
                                 check: false)
            if result.status == 0 {
                lastTID = tid
                return (tid, iqn)
            }
            guard result.stderr.contains("already exists") else {
                try? TestTempDirectory.remove(directory)
                throw TestSupportError("tgtadm could not create target \(tid) \(iqn): \(result.stderr.trimmingCharacters(in: .whitespacesAndNewlines))")
            }
            tid += 1
        }
        try? TestTempDirectory.remove(directory)
        throw TestSupportError("no free target id found after 64 attempts (up to \(tid))")
    }

    /// Deletes target `tid`: offline first so in-flight commands stop arriving, then a forced
    /// delete retried while tgtd answers "still active". A missing target counts as deleted.
    func deleteTarget(tid: Int) throws {
        _ = try? run(["--op", "update", "--mode", "target", "--tid", String(tid), "--name", "state", "--value", "offline"],
                     check: false)
        try retryWhileBusy(["--op", "delete", "--mode", "target", "--tid", String(tid), "--force"],
                           missingIsSuccess: true)
    }

    /// Runs a tgtadm command, retrying up to 5 s while tgtd says "still active".
    func retryWhileBusy(_ args: [String], missingIsSuccess: Bool = false) throws {
        var last = ""
        for _ in 0..<50 {
            let result = try run(args, check: false)
            if result.status == 0 { return }
            last = result.stderr.trimmingCharacters(in: .whitespacesAndNewlines)
            if missingIsSuccess && last.contains("can't find") { return }
            guard last.contains("still active") else { break }
            usleep(100_000)
        }
        throw TestSupportError("tgtadm -C \(controlPort) --lld iscsi \(args.joined(separator: " ")) failed: \(last)")
    }

    // MARK: - Daemon lifecycle

    /// Stops the daemon and starts it again with the same control port and portals, e.g. to
    /// simulate a target reboot. Every target, LUN and account is gone afterwards: callers
    /// re-create what they need (old `TestTarget`s only clean up their files on `delete()`).
    func restartTGTD() throws {
        lock.lock()
        defer { lock.unlock() }
        try stopDaemon()
        try startDaemon()
        generationValue += 1
    }

    private func startDaemon() throws {
        try runLibrary("tgt_start", [String(controlPort), stateDirectory] + portals, timeout: 60)
        if ownsDaemon {
            try? "\(getpid())\n".write(toFile: ownerFile, atomically: true, encoding: .utf8)
        }
    }

    private func stopDaemon() throws {
        try runLibrary("tgt_stop", [String(controlPort), stateDirectory], timeout: 60)
        if ownsDaemon {
            try? FileManager.default.removeItem(atPath: ownerFile)
        }
    }

    private var ownerFile: String { "\(stateDirectory)/owner.pid" }

    /// A daemon on our private control port is stopped when the test process that started it
    /// is gone (it crashed before its atexit handler ran); a live owner is another test process.
    private func takeOverStaleDaemon() throws {
        guard answers() else { return }
        let ownerText = (try? String(contentsOfFile: ownerFile, encoding: .utf8)) ?? ""
        guard let owner = Int32(ownerText.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw TestSupportError("control port \(controlPort) already has a tgtd that this fixture did not start; stop it (MPATH_TGT_CTL=\(controlPort) tools/tgt-env down) or set MPATH_TGT_FIXTURE_CTL")
        }
        if owner != getpid() && Self.isTestProcess(owner) {
            throw TestSupportError("control port \(controlPort) is used by the tgtd of another test process (pid \(owner)); for parallel runs start one shared daemon with `eval \"$(tools/tgt-env up)\"`")
        }
        try stopDaemon()
    }

    /// True when `pid` is alive and is an XCTest runner (a recycled pid of some other program
    /// does not count as an owner).
    private static func isTestProcess(_ pid: Int32) -> Bool {
        guard kill(pid, 0) == 0,
              let commandLine = try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8) else {
            return false
        }
        return commandLine.contains("xctest")
    }

    private func runLibrary(_ function: String, _ arguments: [String], timeout: Double) throws {
        let script = "source \"$0\" && \(function) \"$@\""
        do {
            try Command.run("bash", ["-c", script, libraryPath] + arguments, timeout: timeout)
        } catch {
            throw TestSupportError("\(function) failed (see \(stateDirectory)/tgtd.log): \(error)")
        }
    }

    private static func parseControlPort(_ text: String, variable: String) throws -> Int {
        guard let value = Int(text), (0...65535).contains(value) else {
            throw TestSupportError("\(variable) must be an integer 0-65535, got '\(text)'")
        }
        return value
    }

    /// tools/lib/tgt.sh of this checkout (found from this file's path), or $MPATH_TGT_LIB.
    private static func locateLibrary(_ environment: [String: String]) throws -> String {
        if let explicit = environment["MPATH_TGT_LIB"], !explicit.isEmpty {
            guard FileManager.default.fileExists(atPath: explicit) else {
                throw TestSupportError("MPATH_TGT_LIB=\(explicit) does not exist")
            }
            return explicit
        }
        // <repo>/Tests/IntegrationTests/Support/TGT.swift -> <repo>/tools/lib/tgt.sh
        let repo = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        let path = repo.appendingPathComponent("tools/lib/tgt.sh").path
        guard FileManager.default.fileExists(atPath: path) else {
            throw TestSupportError("tools/lib/tgt.sh not found at \(path); set MPATH_TGT_LIB")
        }
        return path
    }
}
