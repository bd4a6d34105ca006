import Foundation
import Multipath
import XCTest

/// `path_devices yes`: every path's LUN is also its own block device (what /dev/sdX is under
/// dm-multipath), and the dm table names paths by those devices' major:minor.
final class PathDeviceIntegrationTests: XCTestCase {
    func testEachPathGetsItsOwnDeviceAndTheTableNamesThemByMajorMinor() throws {
        let fixture = try TGT.shared
        let target = try fixture.createTarget(luns: [(lun: 1, sizeBytes: 32 << 20)], iqnSuffix: "pathdev")
        defer { try? target.delete() }
        let daemon = try DaemonHarness(multipathConf: """
            defaults {
                user_friendly_names yes
                path_devices yes
            }
            """)
        defer { daemon.cleanup() }
        try daemon.discoverAndLogin(fixture)

        let (report, exit) = try daemon.status()
        XCTAssertEqual(exit, 0, daemon.log())
        let map = try XCTUnwrap(report.maps.first)
        XCTAssertEqual(map.paths.count, 2)

        // Write a pattern through the map, read it back through each path's own device.
        let pattern = try TestTempDirectory.make("pathdev") + "/pattern"
        XCTAssertEqual(try Command.run("dd", ["if=/dev/urandom", "of=\(pattern)", "bs=1M", "count=2"], check: false).status, 0)
        let write = try Command.run("dd", ["if=\(pattern)", "of=\(map.device)", "bs=1M", "oflag=direct"], check: false)
        XCTAssertEqual(write.status, 0, write.stderr)
        let expected = try Data(contentsOf: URL(fileURLWithPath: pattern))

        var numbers: [String] = []
        for path in map.paths {
            let node = try FileManager.default.destinationOfSymbolicLink(atPath: "\(daemon.runDir)/by-path/\(path.name)")
            XCTAssertTrue(node.hasPrefix("/dev/loop"), node)
            XCTAssertNotEqual(node, map.device)
            var info = stat()
            XCTAssertEqual(stat(node, &info), 0)
            XCTAssertEqual(info.st_mode & S_IFMT, S_IFBLK)
            let number = "\(major(info.st_rdev)):\(minor(info.st_rdev))"
            numbers.append(number)
            // Status names the path's device by major:minor, as `multipath -ll` shows 8:16.
            XCTAssertEqual(path.device, number)
            let out = try TestTempDirectory.make("pathdev") + "/readback"
            let read = try Command.run("dd", ["if=\(node)", "of=\(out)", "bs=1M", "count=2", "iflag=direct"], check: false)
            XCTAssertEqual(read.status, 0, read.stderr)
            XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: out)), expected, "path \(path.name) reads other data than the map")
        }

        // The dm table is the one the kernel would take over these devices.
        let table = try daemon.ctl(["table"])
        XCTAssertEqual(table.status, 0, table.stderr)
        let parsed = try DMMultipathTable.parse(table.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        XCTAssertEqual(Set(parsed.groups.flatMap(\.paths).map(\.device)), Set(numbers), table.stdout)

        // Logging out of one path removes its device, and only its device.
        let gone = map.paths[0]
        let portal = try XCTUnwrap(gone.portal.split(separator: ",").first.map(String.init))
        let logout = try daemon.ctl(["logout", "-T", target.iqn, "-p", portal, "--force"])
        XCTAssertEqual(logout.status, 0, logout.stderr + logout.stdout)
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(daemon.runDir)/by-path/\(gone.name)"))
        XCTAssertTrue(FileManager.default.fileExists(atPath: "\(daemon.runDir)/by-path/\(map.paths[1].name)"))

        XCTAssertEqual(try daemon.stop(), 0, daemon.log())
        XCTAssertEqual(daemon.leftovers(), [])
    }
}

private func major(_ dev: dev_t) -> UInt32 { UInt32((dev >> 8) & 0xfff) | UInt32((dev >> 32) & ~0xfff) }
private func minor(_ dev: dev_t) -> UInt32 { UInt32(dev & 0xff) | UInt32((dev >> 12) & ~0xff) }
