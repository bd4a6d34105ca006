import Foundation
import Multipath
import XCTest

/// Paths killed for real (iptables on loopback, tgtd LU offline, tgtd restart) under fio with
/// verify on the multipath device: no IO error and no verify failure may reach the application.
final class FailoverIntegrationTests: XCTestCase {
    static let queueingConf = """
        defaults {
            user_friendly_names yes
            no_path_retry queue
        }
        """

    /// fio writing and verifying on `device` in the background for `seconds`.
    final class FioRun {
        let process = Process()
        let output: String

        init(device: String, seconds: Int, rw: String = "randwrite", iodepth: Int = 8) throws {
            output = try TestTempDirectory.make("fio") + "/fio.out"
            process.executableURL = URL(fileURLWithPath: "/usr/bin/fio")
            process.arguments = ["--name=failover", "--filename=\(device)", "--rw=\(rw)", "--bs=4k", "--size=32M",
                                 "--ioengine=libaio", "--direct=1", "--iodepth=\(iodepth)", "--time_based",
                                 "--runtime=\(seconds)", "--verify=crc32c", "--verify_state_save=0", "--do_verify=1", "--verify_fatal=1",
                                 "--verify_backlog=64", "--output=\(output)"]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
        }

        /// Waits (bounded) and returns (exit status, fio's report).
        func finish(timeout: Double = 180) -> (Int32, String) {
            let deadline = Date().addingTimeInterval(timeout)
            while process.isRunning && Date() < deadline { usleep(100_000) }
            if process.isRunning { process.terminate(); process.waitUntilExit() }
            return (process.terminationStatus, (try? String(contentsOfFile: output, encoding: .utf8)) ?? "")
        }
    }

    func host(_ portal: String) -> String { String(portal[..<portal.lastIndex(of: ":")!]) }

    /// Polls status until `predicate` holds (bounded); returns the last report.
    @discardableResult
    func waitFor(_ daemon: DaemonHarness, timeout: Double = 30, _ what: String,
                 _ predicate: (MapView) -> Bool) throws -> MapView {
        let deadline = Date().addingTimeInterval(timeout)
        var last: MapView?
        while Date() < deadline {
            if let map = try daemon.status().report.maps.first {
                last = map
                if predicate(map) { return map }
            }
            usleep(100_000)
        }
        XCTFail("timed out waiting for \(what): \(String(describing: last))\n\(daemon.log().suffix(3000))")
        return try XCTUnwrap(last)
    }

    func killAndRestore(_ action: IPTablesRule.Action) throws {
        let fixture = try TGT.shared
        let target = try fixture.createTarget(luns: [(lun: 1, sizeBytes: 64 << 20)], iqnSuffix: "kill")
        defer { try? target.delete() }
        let daemon = try DaemonHarness(multipathConf: Self.queueingConf)
        defer { daemon.cleanup() }
        try daemon.discoverAndLogin(fixture)
        let device = try daemon.device("mpatha")
        let fio = try FioRun(device: device, seconds: 8)
        sleep(2)
        // Kill the path carrying the IO (failover policy: the active group's path).
        let before = try daemon.status().report.maps[0]
        let victim = try XCTUnwrap(before.paths.max { $0.ioCount < $1.ioCount })
        var rule: IPTablesRule? = try IPTablesRule(action: action, destination: host(victim.portal), port: 3260, direction: .both)
        let failed = try waitFor(daemon, timeout: 20, "\(victim.name) failed") { map in
            map.paths.first { $0.name == victim.name }?.dmState == .failed
        }
        XCTAssertEqual(failed.health, .degraded)
        sleep(2)
        try rule?.remove()
        rule = nil
        let (status, report) = fio.finish()
        XCTAssertEqual(status, 0, "fio must see no IO error and no verify failure:\n\(report)\n\(daemon.log().suffix(4000))")
        XCTAssertTrue(report.contains("err= 0"), report)
        // The path comes back, after TEST UNIT READY, and carries IO again.
        try waitFor(daemon, timeout: 30, "\(victim.name) active again") { $0.health == .healthy }
        let restored = try daemon.status().report.maps[0].paths.first { $0.name == victim.name }!
        XCTAssertEqual(restored.checker, .ready)
        XCTAssertEqual(try daemon.ctl(["switch-group", "mpatha", "\(failed.groups.firstIndex { $0.paths.contains { $0.name == victim.name } }! + 1)"]).status, 0)
        let dd = try Command.run("dd", ["if=\(device)", "of=/dev/null", "bs=64k", "count=256", "iflag=direct"], check: false)
        XCTAssertEqual(dd.status, 0, dd.stderr)
        let after = try daemon.status().report.maps[0].paths.first { $0.name == victim.name }!
        XCTAssertGreaterThan(after.ioCount, restored.ioCount, "the restored path takes IO again")
    }

    func testBlackHoleOneOfTwoPathsMidIO() throws {
        try killAndRestore(.drop)
    }

    func testTCPResetOnePathMidIO() throws {
        try killAndRestore(.reset)
    }

    func testBothPathsDownUnderQueueIfNoPathThenBack() throws {
        let fixture = try TGT.shared
        let target = try fixture.createTarget(luns: [(lun: 1, sizeBytes: 64 << 20)], iqnSuffix: "both")
        defer { try? target.delete() }
        let daemon = try DaemonHarness(multipathConf: Self.queueingConf)
        defer { daemon.cleanup() }
        try daemon.discoverAndLogin(fixture)
        let device = try daemon.device("mpatha")
        XCTAssertEqual(try daemon.status().report.maps[0].features, "1 queue_if_no_path")
        let fio = try FioRun(device: device, seconds: 12)
        sleep(2)
        var rules: [IPTablesRule] = try fixture.portals.prefix(2).map {
            try IPTablesRule(action: .reset, destination: host($0), port: 3260, direction: .both)
        }
        try waitFor(daemon, timeout: 20, "map down") { $0.health == .down }
        sleep(5)
        for rule in rules { try rule.remove() }
        rules.removeAll()
        try waitFor(daemon, timeout: 30, "map healthy again") { $0.health == .healthy }
        let (status, report) = fio.finish()
        XCTAssertEqual(status, 0, "queued IO resumes, no error:\n\(report)\n\(daemon.log().suffix(4000))")
    }

    func testNoPathRetryFailsIOAfterTheRetries() throws {
        let fixture = try TGT.shared
        let target = try fixture.createTarget(luns: [(lun: 1, sizeBytes: 16 << 20)], iqnSuffix: "npr")
        defer { try? target.delete() }
        let conf = """
            defaults {
                user_friendly_names yes
                no_path_retry 2
                polling_interval 1
            }
            """
        let daemon = try DaemonHarness(multipathConf: conf)
        defer { daemon.cleanup() }
        try daemon.discoverAndLogin(fixture)
        let device = try daemon.device("mpatha")
        var rules: [IPTablesRule] = try fixture.portals.prefix(2).map {
            try IPTablesRule(action: .reset, destination: host($0), port: 3260, direction: .both)
        }
        defer { for rule in rules { try? rule.remove() } }
        try waitFor(daemon, timeout: 20, "map down") { $0.health == .down }
        let started = Date()
        let dd = try Command.run("dd", ["if=\(device)", "of=/dev/null", "bs=4k", "count=1", "skip=100", "iflag=direct"],
                                 timeout: 60, check: false)
        let elapsed = Date().timeIntervalSince(started)
        XCTAssertNotEqual(dd.status, 0, "with no path left after no_path_retry, IO fails with EIO")
        XCTAssertTrue(dd.stderr.contains("Input/output error"), dd.stderr)
        XCTAssertGreaterThan(elapsed, 1.0, "IO was queued for no_path_retry × polling_interval first")
        XCTAssertLessThan(elapsed, 30, "and then failed, not queued for ever")
        for rule in rules { try rule.remove() }
        rules.removeAll()
        try waitFor(daemon, timeout: 30, "map healthy again") { $0.health == .healthy }
        let again = try Command.run("dd", ["if=\(device)", "of=/dev/null", "bs=4k", "count=1", "iflag=direct"], check: false)
        XCTAssertEqual(again.status, 0, again.stderr)
    }

    func testFlappingPathIsHeldBackAsShaky() throws {
        let fixture = try TGT.shared
        let target = try fixture.createTarget(luns: [(lun: 1, sizeBytes: 16 << 20)], iqnSuffix: "flap")
        defer { try? target.delete() }
        let daemon = try DaemonHarness(multipathConf: Self.queueingConf)
        defer { daemon.cleanup() }
        try daemon.discoverAndLogin(fixture)
        let victim = try XCTUnwrap(daemon.status().report.maps[0].paths.first)
        // Flap: reset the path, let it come back, again; the third failure within the window
        // makes it shaky (3 failures in 60 s by default) and it is then held back.
        var sawShaky = false
        for _ in 0..<5 where !sawShaky {
            let rule = try IPTablesRule(action: .reset, destination: host(victim.portal), port: 3260, direction: .both)
            try waitFor(daemon, timeout: 10, "flap down") { $0.paths.first { $0.name == victim.name }?.dmState == .failed }
            sleep(1)
            try rule.remove()
            let map = try waitFor(daemon, timeout: 20, "flap back or held back") { map in
                let path = map.paths.first { $0.name == victim.name }
                return path?.dmState == .active || path?.checker == .shaky
            }
            sawShaky = map.paths.first { $0.name == victim.name }?.checker == .shaky
        }
        XCTAssertTrue(sawShaky, "a path failing again and again is held back as shaky:\n\(daemon.log().suffix(3000))")
        let text = try daemon.ctl(["status"]).stdout
        XCTAssertTrue(text.contains("shaky"), text)
        // Held back: not active although its portal answers again.
        sleep(3)
        XCTAssertEqual(try daemon.status().report.maps[0].paths.first { $0.name == victim.name }?.dmState, .failed)
    }

    func testTGTDRestartedWithTheSameLUN() throws {
        let fixture = try TGT.shared
        let target = try fixture.createTarget(luns: [(lun: 1, sizeBytes: 32 << 20)], iqnSuffix: "tgtrestart")
        let file = target.lunFile(1)
        let iqn = target.iqn
        defer { try? target.delete() }
        let daemon = try DaemonHarness(multipathConf: Self.queueingConf)
        defer { daemon.cleanup() }
        try daemon.discoverAndLogin(fixture)
        let wwid = try daemon.status().report.maps[0].wwid
        let device = try daemon.device("mpatha")
        let fio = try FioRun(device: device, seconds: 10)
        sleep(2)
        // Same target (tid, name) and LUN file after the restart: the same WWID comes back.
        try fixture.restartTGTD()
        try fixture.run(["--op", "new", "--mode", "target", "--tid", String(target.tid), "--targetname", iqn])
        try fixture.run(["--op", "new", "--mode", "logicalunit", "--tid", String(target.tid), "--lun", "1", "--backing-store", file])
        try fixture.run(["--op", "bind", "--mode", "target", "--tid", String(target.tid), "--initiator-address", "ALL"])
        try waitFor(daemon, timeout: 40, "map healthy after tgtd restart") { $0.health == .healthy }
        let (status, report) = fio.finish()
        XCTAssertEqual(status, 0, "\(report)\n\(daemon.log().suffix(4000))")
        XCTAssertEqual(try daemon.status().report.maps[0].wwid, wwid)
        try fixture.run(["--op", "update", "--mode", "target", "--tid", String(target.tid), "--name", "state", "--value", "offline"], check: false)
        try fixture.run(["--op", "delete", "--mode", "target", "--tid", String(target.tid), "--force"], check: false)
    }
}

/// NOT READY from an LU taken offline behind one path fails that path only.
final class LUOfflineIntegrationTests: XCTestCase {
    func testLUOfflineOnOnePathFailsThatPath() throws {
        let fixture = try TGT.shared
        // Two targets, each reached on its own portal, presenting the same backing file with the
        // same identity: two paths to one LU whose "offline" switch is per path.
        let a = try fixture.createTarget(luns: [], iqnSuffix: "offa")
        defer { try? a.delete() }
        let b = try fixture.createTarget(luns: [], iqnSuffix: "offb")
        defer { try? b.delete() }
        let file = try a.addLUN(1, sizeBytes: 32 << 20, scsiID: "offline-lun", scsiSN: "OFF0001")
        try b.addLUN(1, file: file, scsiID: "offline-lun", scsiSN: "OFF0001")
        let daemon = try DaemonHarness(multipathConf: FailoverIntegrationTests.queueingConf)
        defer { daemon.cleanup() }
        XCTAssertEqual(try daemon.ctl(["node", "new", "-T", a.iqn, "-p", fixture.portals[0]]).status, 0)
        XCTAssertEqual(try daemon.ctl(["node", "new", "-T", b.iqn, "-p", fixture.portals[1]]).status, 0)
        let login = try daemon.ctl(["login", "--all"])
        XCTAssertEqual(login.status, 0, login.stderr)
        let map = try XCTUnwrap(daemon.status().report.maps.first)
        XCTAssertEqual(try daemon.status().report.maps.count, 1, "same identity, one map")
        XCTAssertEqual(map.paths.count, 2)
        let device = try daemon.device(map.name)
        let offlinePath = try XCTUnwrap(map.paths.first { $0.target == a.iqn })

        let fio = try FailoverIntegrationTests.FioRun(device: device, seconds: 6)
        sleep(1)
        try a.setLUNOnline(1, false)
        let deadline = Date().addingTimeInterval(15)
        var failed = false
        while Date() < deadline && !failed {
            failed = try daemon.status().report.maps[0].paths.first { $0.name == offlinePath.name }?.dmState == .failed
            usleep(100_000)
        }
        XCTAssertTrue(failed, "the offline LU's path is failed by the checker:\n\(daemon.log().suffix(2000))")
        XCTAssertEqual(try daemon.status().report.maps[0].paths.first { $0.target == b.iqn }?.dmState, .active)
        let (status, report) = fio.finish()
        XCTAssertEqual(status, 0, report)
        try a.setLUNOnline(1, true)
        let back = Date().addingTimeInterval(15)
        var healthy = false
        while Date() < back && !healthy {
            healthy = try daemon.status().report.maps[0].health == .healthy
            usleep(100_000)
        }
        XCTAssertTrue(healthy, "back online, the path returns")
    }
}
