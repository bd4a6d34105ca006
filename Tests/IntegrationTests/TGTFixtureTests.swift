import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// Smoke tests of the test plumbing against the real peer: tgtd (Debian `tgt`) driven through
/// the `TGT` fixture, libiscsi's command-line initiator as an independent client, and iptables
/// fault injection on loopback.
final class TGTFixtureTests: XCTestCase {
    private let mebibyte: UInt64 = 1 << 20

    func testCreatedTargetIsListedAndBothPortalsListen() throws {
        let tgt = try TGT.shared
        XCTAssertEqual(tgt.portals.count, 2, "the fixture serves two portals for multipath")
        XCTAssertEqual(Set(try tgt.listPortals()), Set(tgt.portals), "tgtd must listen on exactly the fixture's portals")
        for portal in tgt.portals {
            XCTAssertEqual(try LoopbackPortal.connect(to: portal, timeout: 1), .connected, portal)
        }

        let target = try tgt.createTarget(luns: [(lun: 1, sizeBytes: 64 * mebibyte)], iqnSuffix: "fixture-list")
        defer { try? target.delete() }
        XCTAssertEqual(target.iqn, "iqn.2026-11.test.mpath:fixture-list-\(target.tid)")
        XCTAssertTrue(try tgt.targetIDs().contains(target.tid))

        let show = try target.show()
        XCTAssertTrue(show.hasPrefix("Target \(target.tid): \(target.iqn)"), show)
        let lun = try lunSection(show, lun: 1)
        XCTAssertTrue(lun.contains("Type: disk"), lun)
        XCTAssertTrue(lun.contains("Size: 67 MB, Block size: 512"), lun)
        XCTAssertTrue(lun.contains("Backing store path: \(target.lunFile(1))"), lun)
        XCTAssertTrue(lun.contains("Online: Yes"), lun)
        XCTAssertTrue(show.contains("ACL information:\n        ALL"), show)

        var info = stat()
        XCTAssertEqual(stat(target.lunFile(1), &info), 0)
        XCTAssertEqual(UInt64(info.st_size), 64 * mebibyte)
        XCTAssertLessThan(info.st_blocks * 512, 1 << 20, "backing files must be sparse")

        // Discovery and login through each portal, by an initiator that is not ours.
        for portal in tgt.portals {
            let listing = try iscsiLs("iscsi://\(portal)")
            XCTAssertTrue(listing.stdout.contains("Target:\(target.iqn) Portal:\(portal),1"), listing.stdout)
            // libiscsi's size is (last LBA) x (block size): 64 MiB prints as 63M.
            XCTAssertEqual(lunLines(listing.stdout, iqn: target.iqn),
                           ["Lun:0    Type:STORAGE_ARRAY_CONTROLLER", "Lun:1    Type:DIRECT_ACCESS (Size:63M)"],
                           listing.stdout + listing.stderr)
        }

        try target.delete()
        XCTAssertFalse(try tgt.targetIDs().contains(target.tid))
        XCTAssertFalse(FileManager.default.fileExists(atPath: target.directory))
        XCTAssertNoThrow(try target.delete(), "delete() is idempotent")
    }

    func testLUNOfflineFailsIOAndOnlineRestoresIt() throws {
        let tgt = try TGT.shared
        let target = try tgt.createTarget(luns: [(lun: 1, sizeBytes: 8 * mebibyte)], iqnSuffix: "fixture-offline")
        defer { try? target.delete() }
        let portal = tgt.portals[0]

        try target.setLUNOnline(1, false)
        XCTAssertTrue(try lunSection(try target.show(), lun: 1).contains("Online: No"))
        let offline = try iscsiLs("iscsi://\(portal)")
        XCTAssertNotEqual(offline.status, 0)
        XCTAssertTrue(offline.stderr.contains("TESTUNITREADY failed with SENSE KEY:NOT READY"), offline.stderr)

        try target.setLUNOnline(1, true)
        XCTAssertTrue(try lunSection(try target.show(), lun: 1).contains("Online: Yes"))
        let online = try iscsiLs("iscsi://\(portal)")
        XCTAssertTrue(lunLines(online.stdout, iqn: target.iqn).contains { $0.hasPrefix("Lun:1    Type:DIRECT_ACCESS") },
                      online.stdout + online.stderr)
    }

    func testLUNIdentityBlockSizeAndReAdd() throws {
        let tgt = try TGT.shared
        let target = try tgt.createTarget(luns: [], iqnSuffix: "fixture-lun")
        defer { try? target.delete() }
        let file = try target.addLUN(2, sizeBytes: 4 * mebibyte, scsiID: "MPATH-ID-2", scsiSN: "MPATHSN2", blockSize: 4096)
        XCTAssertEqual(file, target.lunFile(2))
        let section = try lunSection(try target.show(), lun: 2)
        XCTAssertTrue(section.contains("SCSI ID: MPATH-ID-2"), section)
        XCTAssertTrue(section.contains("SCSI SN: MPATHSN2"), section)
        XCTAssertTrue(section.contains("Block size: 4096"), section)

        // The serial number reaches an initiator through INQUIRY VPD page 0x80.
        let inquiry = try Command.run("iscsi-inq", ["-e", "1", "-c", "128", "iscsi://\(tgt.portals[1])/\(target.iqn)/2"],
                                      timeout: 30)
        XCTAssertTrue(inquiry.stdout.contains("MPATHSN2]"), inquiry.stdout)

        try target.deleteLUN(2)
        XCTAssertThrowsError(try lunSection(try target.show(), lun: 2))
        XCTAssertTrue(FileManager.default.fileExists(atPath: file), "deleteLUN keeps the backing file")
        try target.addLUN(2, file: file, scsiID: "MPATH-ID-2", scsiSN: "MPATHSN2")
        XCTAssertTrue(try lunSection(try target.show(), lun: 2).contains("SCSI ID: MPATH-ID-2"))

        XCTAssertThrowsError(try target.addLUN(0, file: file)) { error in
            XCTAssertTrue("\(error)".contains("LUN 0"), "\(error)")
        }
        XCTAssertThrowsError(try target.addLUN(3, file: file, scsiSN: "A,B"))
        XCTAssertThrowsError(try tgt.createTarget(luns: [(lun: 1, sizeBytes: 1000)], iqnSuffix: "bad-size"))
        XCTAssertThrowsError(try tgt.createTarget(luns: [], iqnSuffix: "Upper_Case"))
    }

    func testSetParamChangesWhatTheTargetNegotiates() throws {
        let tgt = try TGT.shared
        let target = try tgt.createTarget(luns: [(lun: 1, sizeBytes: mebibyte)], iqnSuffix: "fixture-params")
        defer { try? target.delete() }
        let wanted = [
            "HeaderDigest": "CRC32C", "DataDigest": "CRC32C", "MaxRecvDataSegmentLength": "65536",
            "FirstBurstLength": "32768", "MaxBurstLength": "131072", "InitialR2T": "No", "ImmediateData": "No",
        ]
        for (key, value) in wanted.sorted(by: { $0.key < $1.key }) {
            try target.setParam(key, value)
        }
        let parameters = try target.parameters()
        for (key, value) in wanted {
            XCTAssertEqual(parameters[key], value, key)
        }
        XCTAssertThrowsError(try target.setParam("NoSuchParameter", "1")) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("tgtadm -C \(tgt.controlPort) --lld iscsi --op update"), text)
            XCTAssertTrue(text.contains("invalid request"), text)
        }
    }

    func testCHAPAccountGuardsLoginAndSecretsStayOutOfErrors() throws {
        let tgt = try TGT.shared
        let target = try tgt.createTarget(luns: [(lun: 1, sizeBytes: mebibyte)], iqnSuffix: "fixture-chap")
        defer { try? target.delete() }
        let portal = tgt.portals[0]
        let secret = "chap-secret-4711"
        let user = try target.addAccount(user: "initiator", password: secret)
        XCTAssertEqual(user, "initiator-t\(target.tid)")
        let withAccount = try target.show()
        XCTAssertTrue(withAccount.contains("Account information:\n        \(user)\n"), withAccount)

        let anonymous = try iscsiLs("iscsi://\(portal)")
        XCTAssertEqual(lunLines(anonymous.stdout, iqn: target.iqn), [], "login without CHAP must be refused")
        // iscsi-ls prints login failures on stdout (and SCSI errors on stderr).
        XCTAssertTrue(anonymous.stdout.contains("Failed to log in to target. Status: Authentication failure"),
                      anonymous.stdout + anonymous.stderr)
        let authenticated = try iscsiLs("iscsi://\(user)%\(secret)@\(portal)")
        XCTAssertTrue(lunLines(authenticated.stdout, iqn: target.iqn).contains { $0.hasPrefix("Lun:1    Type:DIRECT_ACCESS") },
                      authenticated.stdout + authenticated.stderr)

        let mutual = try target.addAccount(user: "target", password: "mutual-secret-0815", outgoing: true)
        XCTAssertTrue(try target.show().contains("        \(mutual) (outgoing)"))

        // Accounts are global in tgtd: a second one with the same name fails, without the secret.
        XCTAssertThrowsError(try target.addAccount(user: "initiator", password: secret)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("this account already exists"), text)
            XCTAssertFalse(text.contains(secret), "error text leaks the CHAP secret: \(text)")
            XCTAssertTrue(text.contains("--password ***"), text)
        }

        try target.delete()
        let accounts = try tgt.run(["--op", "show", "--mode", "account"]).stdout
        XCTAssertFalse(accounts.contains(user), accounts)
        XCTAssertFalse(accounts.contains(mutual), accounts)
    }

    func testIPTablesDropBlackHolesOnePortalOnly() throws {
        let tgt = try TGT.shared
        let (blocked, port) = try LoopbackPortal.parse(tgt.portals[1])
        XCTAssertEqual(try LoopbackPortal.connect(to: tgt.portals[1], timeout: 1), .connected)

        let rule = try IPTablesRule(action: .drop, destination: blocked, port: Int(port))
        defer { try? rule.remove() }
        let expected = "-A INPUT -d \(blocked)/32 -i lo -p tcp -m tcp --dport \(port) -m comment --comment mpath-test -j DROP"
        let tagged = try IPTablesRule.taggedRules()
        XCTAssertTrue(tagged.contains(expected), tagged.joined(separator: "\n"))

        let started = Date()
        XCTAssertEqual(try LoopbackPortal.connect(to: tgt.portals[1], timeout: 1), .timedOut)
        let elapsed = Date().timeIntervalSince(started)
        XCTAssertGreaterThanOrEqual(elapsed, 0.9)
        XCTAssertLessThan(elapsed, 2.0)
        XCTAssertEqual(try LoopbackPortal.connect(to: tgt.portals[0], timeout: 1), .connected)

        try rule.remove()
        XCTAssertFalse(try IPTablesRule.taggedRules().contains(expected))
        XCTAssertEqual(try LoopbackPortal.connect(to: tgt.portals[1], timeout: 1), .connected)
        XCTAssertNoThrow(try rule.remove(), "remove() is idempotent")
    }

    func testIPTablesResetRefusesAtOnceAndDeinitRemovesTheRule() throws {
        let tgt = try TGT.shared
        let (address, port) = try LoopbackPortal.parse(tgt.portals[0])
        let before = try IPTablesRule.taggedRules()
        do {
            let rule = try IPTablesRule(action: .reset, source: "127.0.0.1", destination: address, port: Int(port),
                                        direction: .both)
            XCTAssertEqual(try IPTablesRule.taggedRules().count, before.count + 2)
            let started = Date()
            XCTAssertEqual(try LoopbackPortal.connect(to: tgt.portals[0], timeout: 1), .refused)
            XCTAssertLessThan(Date().timeIntervalSince(started), 0.5)
            XCTAssertEqual(rule.direction, .both)
        }
        XCTAssertEqual(try IPTablesRule.taggedRules(), before, "deinit removes the rules")
        XCTAssertEqual(try LoopbackPortal.connect(to: tgt.portals[0], timeout: 1), .connected)
    }

    func testNonLoopbackAddressesAreRefusedBeforeAnythingIsSent() throws {
        let before = try IPTablesRule.taggedRules()
        for address in ["10.0.0.1", "192.168.1.1", "8.8.8.8", "127.0.0.256", "127.1", "127.0.0.1.5", "::1", "", "127.0.0.x"] {
            XCTAssertThrowsError(try IPTablesRule(action: .drop, destination: address, port: 3260), address) { error in
                XCTAssertTrue("\(error)".contains("not a loopback IPv4 address"), "\(error)")
            }
            XCTAssertThrowsError(try IPTablesRule(action: .drop, source: address, destination: "127.0.0.3", port: 3260), address)
            XCTAssertThrowsError(try LoopbackPortal.connect(to: "\(address):3260", timeout: 0.1), address)
        }
        XCTAssertThrowsError(try IPTablesRule(action: .drop, destination: "127.0.0.3", port: 0))
        XCTAssertThrowsError(try IPTablesRule(action: .drop, destination: "127.0.0.3", port: 65536))
        XCTAssertThrowsError(try LoopbackPortal.parse("127.0.0.3"))
        XCTAssertThrowsError(try LoopbackPortal.parse("127.0.0.3:0"))
        XCTAssertThrowsError(try LoopbackPortal.parse("127.0.0.3:abc"))
        let parsed = try LoopbackPortal.parse("127.0.0.3:3260")
        XCTAssertEqual(parsed.address, "127.0.0.3")
        XCTAssertEqual(parsed.port, 3260)
        XCTAssertEqual(try IPTablesRule.taggedRules(), before)
    }

    func testTgtadmFailureNamesTheCommandAndItsError() throws {
        let tgt = try TGT.shared
        XCTAssertThrowsError(try tgt.run(["--op", "show", "--mode", "target", "--tid", "999999"])) { error in
            guard let failure = error as? CommandError else {
                return XCTFail("expected CommandError, got \(error)")
            }
            XCTAssertEqual(failure.status, 22)
            XCTAssertEqual(failure.command, "tgtadm -C \(tgt.controlPort) --lld iscsi --op show --mode target --tid 999999")
            XCTAssertTrue(failure.description.contains("can't find the target"), failure.description)
        }
        let unchecked = try tgt.run(["--op", "show", "--mode", "target", "--tid", "999999"], check: false)
        XCTAssertEqual(unchecked.status, 22)
    }

    func testDeleteSucceedsWhileAnInitiatorKeepsTheLUNBusy() throws {
        let tgt = try TGT.shared
        let target = try tgt.createTarget(luns: [(lun: 1, sizeBytes: 16 * mebibyte)], iqnSuffix: "fixture-busy")
        defer { try? target.delete() }
        let url = "iscsi://\(tgt.portals[0])/\(target.iqn)/1"

        // iscsi-perf keeps 32 reads in flight until its session dies (-x 0: no reconnects).
        let loadDone = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            _ = try? Command.run("timeout", ["-s", "KILL", "30", "iscsi-perf", "-x", "0", url], timeout: 40, check: false)
            loadDone.signal()
        }
        let deadline = Date().addingTimeInterval(10)
        var connected = false
        while Date() < deadline {
            let sessions = try tgt.run(["--op", "show", "--mode", "conn", "--tid", String(target.tid)], check: false)
            if sessions.stdout.contains("Initiator: ") { connected = true; break }
            usleep(50_000)
        }
        XCTAssertTrue(connected, "iscsi-perf never logged in")
        usleep(300_000)

        let started = Date()
        try target.delete()
        XCTAssertLessThan(Date().timeIntervalSince(started), 5.5)
        XCTAssertFalse(try tgt.targetIDs().contains(target.tid))
        XCTAssertEqual(loadDone.wait(timeout: .now() + 35), .success, "iscsi-perf did not stop after its target was deleted")
    }

    func testRestartDropsTargetsAndKeepsPortals() throws {
        let tgt = try TGT.shared
        let target = try tgt.createTarget(luns: [(lun: 1, sizeBytes: mebibyte)], iqnSuffix: "fixture-restart")
        let generation = tgt.generation

        try tgt.restartTGTD()
        XCTAssertEqual(tgt.generation, generation + 1)
        XCTAssertTrue(tgt.answers())
        XCTAssertFalse(try tgt.targetIDs().contains(target.tid), "a restart forgets every target")
        XCTAssertEqual(Set(try tgt.listPortals()), Set(tgt.portals))
        for portal in tgt.portals {
            XCTAssertEqual(try LoopbackPortal.connect(to: portal, timeout: 1), .connected, portal)
        }
        XCTAssertNoThrow(try target.delete(), "an old target only cleans up its files")
        XCTAssertFalse(FileManager.default.fileExists(atPath: target.directory))

        let next = try tgt.createTarget(luns: [(lun: 1, sizeBytes: mebibyte)], iqnSuffix: "fixture-restart")
        defer { try? next.delete() }
        XCTAssertGreaterThan(next.tid, target.tid, "target ids are not reused within a test process")
        let listing = try iscsiLs("iscsi://\(tgt.portals[0])")
        XCTAssertTrue(lunLines(listing.stdout, iqn: next.iqn).contains { $0.hasPrefix("Lun:1    Type:DIRECT_ACCESS") },
                      listing.stdout + listing.stderr)
    }

    // MARK: - Helpers

    /// `iscsi-ls -s URL`. Its exit status is non-zero when any target on the portal fails, so
    /// callers look at their own target's lines.
    private func iscsiLs(_ url: String) throws -> CommandResult {
        try Command.run("iscsi-ls", ["-s", url], timeout: 30, check: false)
    }

    /// The "Lun:" lines iscsi-ls printed under `iqn`.
    private func lunLines(_ output: String, iqn: String) -> [String] {
        var lines: [String] = []
        var inside = false
        for line in output.split(separator: "\n").map(String.init) {
            if line.hasPrefix("Target:") {
                inside = line.hasPrefix("Target:\(iqn) ")
            } else if inside && line.hasPrefix("Lun:") {
                lines.append(line)
            }
        }
        return lines
    }

    /// The "LUN: n" block of a target's `tgtadm --op show` section.
    private func lunSection(_ show: String, lun: Int) throws -> String {
        let lines = show.split(separator: "\n").map(String.init)
        guard let start = lines.firstIndex(where: { $0.trimmingCharacters(in: .whitespaces) == "LUN: \(lun)" }) else {
            throw TestSupportError("LUN \(lun) not in:\n\(show)")
        }
        let end = lines[(start + 1)...].firstIndex(where: {
            $0.trimmingCharacters(in: .whitespaces).hasPrefix("LUN: ") || !$0.hasPrefix("            ")
        }) ?? lines.endIndex
        return lines[start..<end].joined(separator: "\n")
    }
}
