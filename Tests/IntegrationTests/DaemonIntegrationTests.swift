import Foundation
import Multipath
import XCTest

/// mpathd against tgtd on two portals: one map over two paths, status, the block device.
final class DaemonIntegrationTests: XCTestCase {
    func testOneMapTwoPathsStatusFailAndReinstate() throws {
        let fixture = try TGT.shared
        let target = try fixture.createTarget(luns: [(lun: 1, sizeBytes: 64 << 20)], iqnSuffix: "mapd")
        defer { try? target.delete() }
        let daemon = try DaemonHarness()
        defer { daemon.cleanup() }
        try daemon.discoverAndLogin(fixture)

        var (report, exit) = try daemon.status()
        XCTAssertEqual(exit, 0, daemon.log())
        XCTAssertEqual(report.maps.count, 1)
        let map = try XCTUnwrap(report.maps.first)
        XCTAssertEqual(map.name, "mpatha")
        XCTAssertTrue(map.wwid.hasPrefix("3"))
        XCTAssertEqual(map.sizeBytes, 64 << 20)
        XCTAssertEqual(report.dataPlane, "fuse", "status says how maps are served")
        XCTAssertEqual(map.paths.count, 2)
        XCTAssertEqual(Set(map.paths.map(\.portal)), Set(fixture.portals.prefix(2)))
        XCTAssertTrue(map.device.hasPrefix("/dev/loop"), map.device)
        XCTAssertEqual(try daemon.device("mpatha"), map.device)

        let text = try daemon.ctl(["status"])
        XCTAssertEqual(text.status, 0)
        XCTAssertTrue(text.stdout.hasPrefix("mpatha (\(map.wwid)) \(map.device) IET,VIRTUAL-DISK"), text.stdout)
        XCTAssertTrue(text.stdout.contains("size=64M features='0' hwhandler='0' wp=rw"), text.stdout)
        XCTAssertTrue(text.stdout.contains("policy='service-time 0' prio=1 status=active"), text.stdout)

        let table = try daemon.ctl(["table"])
        XCTAssertEqual(table.status, 0, table.stderr)
        let parsed = try DMMultipathTable.parse(table.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        XCTAssertEqual(parsed.length, (64 << 20) / 512)
        XCTAssertEqual(parsed.groups.flatMap(\.paths).count, 2)

        let sessions = try daemon.ctl(["session", "-P", "3"])
        XCTAssertEqual(sessions.status, 0, sessions.stderr)
        XCTAssertTrue(sessions.stdout.contains(target.iqn))

        // fail-path: degraded (exit 1), the JSON says which path.
        let victim = map.paths[0].name
        XCTAssertEqual(try daemon.ctl(["fail-path", victim]).status, 0)
        (report, exit) = try daemon.status()
        XCTAssertEqual(exit, 1)
        XCTAssertEqual(report.maps[0].health, .degraded)
        XCTAssertEqual(report.maps[0].paths.first { $0.name == victim }?.dmState, .failed)
        // IO still works on the remaining path.
        let device = map.device
        let dd = try Command.run("dd", ["if=\(device)", "of=/dev/null", "bs=1M", "count=8", "iflag=direct"], check: false)
        XCTAssertEqual(dd.status, 0, dd.stderr)

        XCTAssertEqual(try daemon.ctl(["reinstate-path", victim]).status, 0)
        (report, exit) = try daemon.status()
        XCTAssertEqual(exit, 0)
        XCTAssertEqual(report.maps[0].health, .healthy)

        XCTAssertEqual(try daemon.stop(), 0, daemon.log())
        XCTAssertEqual(daemon.leftovers(), [])
        let down = try daemon.ctl(["status"])
        XCTAssertEqual(down.status, 2)
        XCTAssertTrue(down.stderr.contains("not running"), down.stderr)
    }

    func testFioVerifyMkfsMountAndMultibusSpreadsIO() throws {
        let fixture = try TGT.shared
        let target = try fixture.createTarget(luns: [(lun: 1, sizeBytes: 128 << 20)], iqnSuffix: "fio")
        defer { try? target.delete() }
        let conf = """
            defaults {
                user_friendly_names yes
                path_grouping_policy multibus
                path_selector "round-robin 0"
            }
            """
        let daemon = try DaemonHarness(multipathConf: conf)
        defer { daemon.cleanup() }
        try daemon.discoverAndLogin(fixture)
        let device = try daemon.device("mpatha")

        let fio = try Command.run("fio", ["--name=verify", "--filename=\(device)", "--rw=randwrite", "--bs=4k", "--size=32M",
                                          "--ioengine=libaio", "--direct=1", "--iodepth=16", "--verify=crc32c", "--verify_state_save=0",
                                          "--do_verify=1", "--verify_fatal=1", "--output-format=terse"],
                                  timeout: 300, check: false)
        XCTAssertEqual(fio.status, 0, fio.stdout + fio.stderr)
        let (report, _) = try daemon.status()
        let ios = report.maps[0].paths.map(\.ioCount)
        XCTAssertEqual(ios.count, 2)
        XCTAssertTrue(ios.allSatisfy { $0 > 1000 }, "round-robin over multibus uses both paths: \(ios)")

        let mountpoint = try TestTempDirectory.make("mnt")
        defer { _ = try? Command.run("umount", [mountpoint], check: false); try? TestTempDirectory.remove(mountpoint) }
        XCTAssertEqual(try Command.run("mkfs.ext4", ["-q", "-F", device], timeout: 300, check: false).status, 0)
        XCTAssertEqual(try Command.run("mount", [device, mountpoint], check: false).status, 0)
        let payload = String(repeating: "multipath ", count: 100_000)
        try payload.write(toFile: mountpoint + "/file.txt", atomically: true, encoding: .utf8)
        XCTAssertEqual(try Command.run("sync", [], check: false).status, 0)
        // The last path of a mounted map cannot be logged out without --force.
        let refuse = try daemon.ctl(["logout", "--all"])
        XCTAssertNotEqual(refuse.status, 0)
        XCTAssertTrue(refuse.stderr.contains("in use"), refuse.stderr)
        XCTAssertEqual(try Command.run("umount", [mountpoint], check: false).status, 0)
        XCTAssertEqual(try Command.run("mount", ["-o", "ro", device, mountpoint], check: false).status, 0)
        XCTAssertEqual(try String(contentsOfFile: mountpoint + "/file.txt", encoding: .utf8), payload)
        XCTAssertEqual(try Command.run("umount", [mountpoint], check: false).status, 0)

        XCTAssertEqual(try daemon.stop(), 0, daemon.log())
        XCTAssertEqual(daemon.leftovers(), [])
    }

    func testAliasBlacklistAndSecondDaemonRefused() throws {
        let fixture = try TGT.shared
        let named = try fixture.createTarget(luns: [(lun: 1, sizeBytes: 16 << 20)], iqnSuffix: "alias")
        defer { try? named.delete() }
        // Learn the WWID first with a plain daemon.
        var wwid = ""
        do {
            let probe = try DaemonHarness()
            defer { probe.cleanup() }
            try probe.discoverAndLogin(fixture)
            wwid = try XCTUnwrap(probe.status().report.maps.first { $0.paths.contains { $0.target == named.iqn } }?.wwid)
        }
        let conf = """
            defaults {
                user_friendly_names yes
            }
            multipaths {
                multipath {
                    wwid \(wwid)
                    alias data1
                }
            }
            """
        let daemon = try DaemonHarness(multipathConf: conf)
        defer { daemon.cleanup() }
        try daemon.discoverAndLogin(fixture)
        let report = try daemon.status().report
        XCTAssertTrue(report.maps.contains { $0.name == "data1" && $0.wwid == wwid }, "\(report.maps.map(\.name))")

        // A second daemon on the same run dir is refused, clearly, and the first keeps running.
        let second = try Command.run(DaemonHarness.binDir.appendingPathComponent("mpathd").path,
                                     ["--foreground", "--config-dir", daemon.configDir, "--state-dir", daemon.stateDir,
                                      "--run-dir", daemon.runDir], timeout: 30, check: false)
        XCTAssertNotEqual(second.status, 0)
        XCTAssertTrue(second.stderr.contains("already running"), second.stderr)
        XCTAssertEqual(try daemon.ctl(["status"]).status, 0)
        try daemon.stop()

        let blacklisted = try DaemonHarness(multipathConf: "blacklist {\n    wwid \(wwid)\n}\n")
        defer { blacklisted.cleanup() }
        try blacklisted.discoverAndLogin(fixture)
        XCTAssertFalse(try blacklisted.status().report.maps.contains { $0.wwid == wwid })
    }
}

/// One portal through two ifaces (source addresses 127.0.1.2 and 127.0.1.3) is two paths.
final class IfaceBindingIntegrationTests: XCTestCase {
    func testOnePortalThroughTwoIfacesMakesTwoPaths() throws {
        let fixture = try TGT.shared
        let target = try fixture.createTarget(luns: [(lun: 1, sizeBytes: 16 << 20)], iqnSuffix: "iface")
        defer { try? target.delete() }
        let daemon = try DaemonHarness()
        defer { daemon.cleanup() }
        for (name, address) in [("lan-a", "127.0.1.2"), ("lan-b", "127.0.1.3")] {
            let created = try daemon.ctl(["iface", "new", name, "--ipaddress", address])
            XCTAssertEqual(created.status, 0, created.stderr)
        }
        let listed = try daemon.ctl(["iface", "list"]).stdout
        XCTAssertTrue(listed.contains("lan-a") && listed.contains("127.0.1.3"), listed)
        let discover = try daemon.ctl(["discover", "-p", fixture.portals[0], "-I", "lan-a", "-I", "lan-b"])
        XCTAssertEqual(discover.status, 0, discover.stderr)
        let login = try daemon.ctl(["login", "-T", target.iqn])
        XCTAssertEqual(login.status, 0, login.stdout + login.stderr)
        let map = try XCTUnwrap(daemon.status().report.maps.first)
        XCTAssertEqual(map.paths.count, 2)
        XCTAssertEqual(Set(map.paths.map(\.portal)), [fixture.portals[0]])
        XCTAssertEqual(Set(map.paths.map(\.iface)), ["lan-a", "lan-b"])
        // The target sees the sessions coming from the bound addresses.
        let shown = try target.show()
        XCTAssertTrue(shown.contains("127.0.1.2") && shown.contains("127.0.1.3"), shown)
    }
}
