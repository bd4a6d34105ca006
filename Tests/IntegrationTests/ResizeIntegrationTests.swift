import Foundation
import Multipath
import XCTest

/// Online growth: tgt cannot resize a LUN in place, so the tests grow the backing file, delete
/// and re-add the LU with the same identity, under IO, and the map follows.
final class ResizeIntegrationTests: XCTestCase {
    func blockdevSize(_ device: String) throws -> UInt64 {
        UInt64(try Command.run("blockdev", ["--getsize64", device]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
    }

    func testGrowUnderIOByAutoResizeAndCommandShrinkRefusedRescanFindsNewLUN() throws {
        let fixture = try TGT.shared
        let target = try fixture.createTarget(luns: [], iqnSuffix: "resize")
        defer { try? target.delete() }
        let file = try target.addLUN(1, sizeBytes: 32 << 20, scsiID: "resize-lun1", scsiSN: "RSZ0001")
        let conf = """
            defaults {
                user_friendly_names yes
                no_path_retry queue
                polling_interval 1
            }
            """
        let daemon = try DaemonHarness(multipathConf: conf)
        defer { daemon.cleanup() }
        try daemon.discoverAndLogin(fixture)
        let device = try daemon.device("mpatha")
        let wwid = try daemon.status().report.maps[0].wwid
        XCTAssertEqual(try blockdevSize(device), 32 << 20)

        // Light IO (tgt refuses to delete a busy LU), verified, across the whole LU swap.
        let fio = Process()
        fio.executableURL = URL(fileURLWithPath: "/usr/bin/fio")
        fio.arguments = ["--name=resize", "--filename=\(device)", "--rw=randwrite", "--bs=4k", "--size=16M", "--ioengine=libaio",
                         "--direct=1", "--iodepth=2", "--rate_iops=100", "--time_based", "--runtime=12", "--verify=crc32c",
                         "--verify_state_save=0", "--do_verify=1", "--verify_fatal=1"]
        fio.standardOutput = FileHandle.nullDevice
        fio.standardError = FileHandle.nullDevice
        try fio.run()
        sleep(2)
        try FileHandle(forWritingTo: URL(fileURLWithPath: file)).truncate(atOffset: 64 << 20)
        try target.deleteLUN(1)
        try target.addLUN(1, file: file, scsiID: "resize-lun1", scsiSN: "RSZ0001")
        // auto_resize grow_only (the default) grows the map when the paths report the change.
        let deadline = Date().addingTimeInterval(40)
        while Date() < deadline, (try? daemon.status().report.maps.first?.sizeBytes) != 64 << 20 { usleep(200_000) }
        XCTAssertEqual(try daemon.status().report.maps[0].sizeBytes, 64 << 20, daemon.log().suffix(3000).description)
        XCTAssertEqual(try daemon.status().report.maps[0].wwid, wwid, "the same LU identity")
        XCTAssertEqual(try blockdevSize(device), 64 << 20)
        fio.waitUntilExit()
        XCTAssertEqual(fio.terminationStatus, 0, "IO during the LU swap queued and resumed, no error")

        // A shrink is refused without --force.
        try target.deleteLUN(1)
        try FileHandle(forWritingTo: URL(fileURLWithPath: file)).truncate(atOffset: 48 << 20)
        try target.addLUN(1, file: file, scsiID: "resize-lun1", scsiSN: "RSZ0001")
        var refused = try daemon.ctl(["resize", "mpatha"])
        let until = Date().addingTimeInterval(30)
        while refused.stderr.contains("no active path") && Date() < until {
            usleep(300_000)
            refused = try daemon.ctl(["resize", "mpatha"])
        }
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.stderr.contains("refusing to shrink"), refused.stderr)
        XCTAssertEqual(try daemon.status().report.maps[0].sizeBytes, 64 << 20)

        // A LUN mapped after login shows up on rescan as a new map.
        try target.addLUN(2, sizeBytes: 8 << 20, scsiID: "resize-lun2", scsiSN: "RSZ0002")
        let rescan = try daemon.ctl(["rescan"])
        XCTAssertEqual(rescan.status, 0, rescan.stderr)
        let maps = try daemon.status().report.maps
        XCTAssertEqual(maps.count, 2, "\(maps.map(\.name))")
        XCTAssertTrue(maps.contains { $0.sizeBytes == 8 << 20 })
    }
}

/// `mpathctl resize` refuses when the paths of a map report different sizes.
final class ResizeDisagreementIntegrationTests: XCTestCase {
    func testPathsDisagreeingOnSizeAreRefusedByName() throws {
        let fixture = try TGT.shared
        let a = try fixture.createTarget(luns: [], iqnSuffix: "disa")
        defer { try? a.delete() }
        let b = try fixture.createTarget(luns: [], iqnSuffix: "disb")
        defer { try? b.delete() }
        // The same identity behind both portals, but one backing file is larger: a misconfigured
        // array whose controllers disagree.
        try a.addLUN(1, sizeBytes: 32 << 20, scsiID: "disagree-lun", scsiSN: "DIS0001")
        try b.addLUN(1, sizeBytes: 48 << 20, scsiID: "disagree-lun", scsiSN: "DIS0001")
        let daemon = try DaemonHarness()
        defer { daemon.cleanup() }
        XCTAssertEqual(try daemon.ctl(["node", "new", "-T", a.iqn, "-p", fixture.portals[0]]).status, 0)
        XCTAssertEqual(try daemon.ctl(["node", "new", "-T", b.iqn, "-p", fixture.portals[1]]).status, 0)
        XCTAssertEqual(try daemon.ctl(["login", "--all"]).status, 0)
        let map = try XCTUnwrap(daemon.status().report.maps.first)
        XCTAssertEqual(map.paths.count, 2)
        let refused = try daemon.ctl(["resize", map.name])
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.stderr.contains("paths disagree on the size"), refused.stderr)
        for path in map.paths { XCTAssertTrue(refused.stderr.contains(path.name), refused.stderr) }
        XCTAssertEqual(try daemon.status().report.maps[0].sizeBytes, map.sizeBytes, "not resized")
    }
}

/// `mpathctl resize` (auto_resize never) grows a map that carries a mounted ext4 filesystem while
/// fio writes to a file in it; then resize2fs grows the filesystem: online where the process has
/// CAP_SYS_RESOURCE, else (some containers) offline on the grown map.
final class ResizeFilesystemIntegrationTests: XCTestCase {
    /// Online ext4 growth (EXT4_IOC_RESIZE_FS) needs CAP_SYS_RESOURCE; some containers drop it.
    static var hasCapSysResource: Bool {
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix("CapEff:") }),
              let caps = UInt64(line.split(separator: "\t").last.map(String.init) ?? "", radix: 16) else { return false }
        return caps & (1 << 24) != 0
    }

    func testResizeCommandGrowsMountedExt4UnderFioThenResize2fs() throws {
        let fixture = try TGT.shared
        let target = try fixture.createTarget(luns: [], iqnSuffix: "fsgrow")
        defer { try? target.delete() }
        let file = try target.addLUN(1, sizeBytes: 64 << 20, scsiID: "fsgrow-lun1", scsiSN: "FSG0001")
        let daemon = try DaemonHarness(multipathConf: """
            defaults {
                user_friendly_names yes
                no_path_retry queue
                auto_resize never
                polling_interval 1
            }
            """)
        defer { daemon.cleanup() }
        try daemon.discoverAndLogin(fixture)
        let device = try daemon.device("mpatha")
        XCTAssertEqual(try Command.run("mkfs.ext4", ["-q", "-F", device], check: false).status, 0)
        let mountpoint = try TestTempDirectory.make("fsgrow-mnt")
        XCTAssertEqual(try Command.run("mount", [device, mountpoint], check: false).status, 0)
        defer { _ = try? Command.run("umount", ["-l", mountpoint], check: false) }
        let blocksBefore = try fsBlocks(mountpoint)

        // Light verified writes into a file on the filesystem, across the LU swap and the grow.
        let fio = Process()
        fio.executableURL = URL(fileURLWithPath: "/usr/bin/fio")
        fio.arguments = ["--name=fsgrow", "--filename=\(mountpoint)/data", "--rw=randwrite", "--bs=4k", "--size=8M",
                         "--ioengine=libaio", "--direct=1", "--iodepth=2", "--rate_iops=100", "--time_based", "--runtime=10",
                         "--verify=crc32c", "--verify_state_save=0", "--do_verify=1", "--verify_fatal=1"]
        fio.standardOutput = FileHandle.nullDevice
        fio.standardError = FileHandle.nullDevice
        try fio.run()
        defer { if fio.isRunning { fio.terminate() } }
        sleep(2)
        try FileHandle(forWritingTo: URL(fileURLWithPath: file)).truncate(atOffset: 128 << 20)
        try target.deleteLUN(1)
        try target.addLUN(1, file: file, scsiID: "fsgrow-lun1", scsiSN: "FSG0001")

        // auto_resize never: the map keeps its size until the operator says so.
        sleep(2)
        XCTAssertEqual(try daemon.status().report.maps[0].sizeBytes, 64 << 20)
        var resized = try daemon.ctl(["resize", "mpatha"])
        let until = Date().addingTimeInterval(30)
        while resized.status != 0 && Date() < until {
            usleep(300_000)
            resized = try daemon.ctl(["resize", "mpatha"])
        }
        XCTAssertEqual(resized.status, 0, resized.stderr)
        XCTAssertTrue(resized.stdout.contains("resized from 67108864 to 134217728 bytes"), resized.stdout)
        XCTAssertEqual(try daemon.status().report.maps[0].sizeBytes, 128 << 20)
        XCTAssertEqual(UInt64(try Command.run("blockdev", ["--getsize64", device]).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)), 128 << 20)

        let grow = try Command.run("resize2fs", [device], check: false)
        fio.waitUntilExit()
        XCTAssertEqual(fio.terminationStatus, 0, "writes into the filesystem went on through the LU swap and the grow")
        let written = try Command.run("md5sum", ["\(mountpoint)/data"]).stdout
        if Self.hasCapSysResource {
            XCTAssertEqual(grow.status, 0, grow.stderr)
        } else {
            // The kernel refuses the online grow (EXT4_IOC_RESIZE_FS) without CAP_SYS_RESOURCE,
            // which some containers drop: the filesystem must still be intact and mounted, and
            // growing it offline on the grown map must work.
            XCTAssertTrue(grow.stderr.contains("Permission denied"), grow.stderr)
            XCTAssertEqual(try fsBlocks(mountpoint), blocksBefore)
            XCTAssertEqual(try Command.run("umount", [mountpoint], check: false).status, 0)
            let fsck = try Command.run("e2fsck", ["-f", "-y", device], check: false)
            XCTAssertEqual(fsck.status, 0, fsck.stdout + fsck.stderr)
            let offline = try Command.run("resize2fs", [device], check: false)
            XCTAssertEqual(offline.status, 0, offline.stderr)
            XCTAssertEqual(try Command.run("mount", [device, mountpoint], check: false).status, 0)
        }
        XCTAssertGreaterThan(try fsBlocks(mountpoint), blocksBefore * 3 / 2, "the filesystem grew with the map")
        XCTAssertEqual(try Command.run("md5sum", ["\(mountpoint)/data"]).stdout, written, "the file written during the grow is unchanged")
    }

    private func fsBlocks(_ mountpoint: String) throws -> UInt64 {
        var info = statvfs()
        guard statvfs(mountpoint, &info) == 0 else { throw TestSupportError("statvfs \(mountpoint) failed") }
        return UInt64(info.f_blocks)
    }
}
