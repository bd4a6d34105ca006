import Foundation
import XCTest

/// `mpathctl` as an operator runs it, against tgtd.
final class CLIIntegrationTests: XCTestCase {
    var configDir = ""
    var stateDir = ""

    override func setUpWithError() throws {
        configDir = try TestTempDirectory.make("cli-config")
        stateDir = try TestTempDirectory.make("cli-state")
    }

    override func tearDownWithError() throws {
        try? TestTempDirectory.remove(configDir)
        try? TestTempDirectory.remove(stateDir)
    }

    func run(_ args: [String], timeout: Double = 60) throws -> CommandResult {
        try CLI.run(args, configDir: configDir, stateDir: stateDir, timeout: timeout)
    }

    func testInameIsUniqueIQN() throws {
        let a = try run(["iname"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let b = try run(["iname"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertTrue(a.hasPrefix("iqn.2026-11.org.mpath-iscsi:"), a)
        XCTAssertNotEqual(a, b)
    }

    func testDiscoverSavesRecordsAndNodeCommands() throws {
        let fixture = try TGT.shared
        let target = try fixture.createTarget(luns: [(lun: 1, sizeBytes: 8 << 20)], iqnSuffix: "cli")
        defer { try? target.delete() }
        let discover = try run(["discover", "-p", fixture.portals[0], "-p", fixture.portals[1]])
        XCTAssertEqual(discover.status, 0, discover.stderr)
        let lines = Set(discover.stdout.split(separator: "\n").map(String.init))
        for portal in fixture.portals.prefix(2) {
            XCTAssertTrue(lines.contains("\(portal),1 \(target.iqn)"), "\(lines)")
        }
        // initiatorname.iscsi was created on first use.
        let initiator = try String(contentsOfFile: configDir + "/initiatorname.iscsi", encoding: .utf8)
        XCTAssertTrue(initiator.contains("InitiatorName=iqn."), initiator)

        let list = try run(["node", "list", "-T", target.iqn])
        XCTAssertEqual(Set(list.stdout.split(separator: "\n").map(String.init)),
                       Set(fixture.portals.prefix(2).map { "\($0),1 \(target.iqn)" }))

        let update = try run(["node", "update", "-T", target.iqn, "-n", "node.session.auth.password", "-v", "s3cret-pass-99"])
        XCTAssertEqual(update.status, 0, update.stderr)
        XCTAssertFalse(update.stdout.contains("s3cret-pass-99"))
        let show = try run(["node", "show", "-T", target.iqn, "-p", fixture.portals[0]])
        XCTAssertTrue(show.stdout.contains("node.session.auth.password = ********"), show.stdout)
        XCTAssertFalse(show.stdout.contains("s3cret-pass-99"))
        let revealed = try run(["node", "show", "-T", target.iqn, "-p", fixture.portals[0], "--show-secrets"])
        XCTAssertTrue(revealed.stdout.contains("s3cret-pass-99"))

        let bad = try run(["node", "update", "-T", target.iqn, "-n", "node.session.cmds_max", "-v", "lots"])
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.stderr.contains("node.session.cmds_max"), bad.stderr)
        XCTAssertEqual(bad.stderr.split(separator: "\n").count, 1, "one clear line: \(bad.stderr)")

        let delete = try run(["node", "delete", "-T", target.iqn, "-p", fixture.portals[1]])
        XCTAssertEqual(delete.status, 0, delete.stderr)
        XCTAssertEqual(try run(["node", "list", "-T", target.iqn]).stdout.split(separator: "\n").count, 1)
    }

    func testBenchVerifyJSON() throws {
        let fixture = try TGT.shared
        let target = try fixture.createTarget(luns: [(lun: 1, sizeBytes: 32 << 20)], iqnSuffix: "bench")
        defer { try? target.delete() }
        let url = "iscsi://\(fixture.portals[0])/\(target.iqn)/1"
        let result = try run(["bench", url, "--rw", "randwrite", "--bs", "64k", "--qd", "16", "--seconds", "1", "--verify", "--json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any], result.stdout)
        XCTAssertEqual(object["errors"] as? Int, 0)
        XCTAssertGreaterThan(object["iops"] as? Int ?? 0, 0)
        XCTAssertGreaterThan(object["blocks_verified"] as? Int ?? 0, 0)
        let latency = try XCTUnwrap(object["lat_us"] as? [String: Any])
        XCTAssertNotNil(latency["p50"]); XCTAssertNotNil(latency["p99"]); XCTAssertNotNil(latency["max"])

        let read = try run(["bench", url, "--rw", "read", "--bs", "128k", "--seconds", "1"])
        XCTAssertEqual(read.status, 0, read.stderr)
        XCTAssertTrue(read.stdout.contains("IOPS"), read.stdout)
    }

    func testFailuresExitNonZeroWithOneLine() throws {
        let fixture = try TGT.shared
        let target = try fixture.createTarget(luns: [(lun: 1, sizeBytes: 8 << 20)], iqnSuffix: "clierr")
        defer { try? target.delete() }
        let cases: [([String], String)] = [
            (["bench", "iscsi://\(fixture.portals[0])/\(target.iqn)/7", "--seconds", "1"], "no such LUN 7"),
            (["bench", "http://nope", "--seconds", "1"], "bad iSCSI URL"),
            (["bench", "iscsi://\(fixture.portals[0])/iqn.2026-11.test.mpath:absent/1", "--seconds", "1"], "not found"),
            (["bench", "iscsi://127.0.0.1:3262/\(target.iqn)/1", "--seconds", "1"], "unreachable"),
            (["discover", "-p", "127.0.0.1:3262"], "unreachable"),
        ]
        for (args, expected) in cases {
            let result = try run(args)
            XCTAssertNotEqual(result.status, 0, "\(args)")
            XCTAssertTrue(result.stderr.contains(expected), "\(args): \(result.stderr)")
            XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, "\(args): \(result.stderr)")
        }
        let user = try target.addAccount(user: "carol", password: "carol-secret-1")
        let wrong = try run(["bench", "iscsi://\(user)%wrong-secret-2@\(fixture.portals[0])/\(target.iqn)/1", "--seconds", "1"])
        XCTAssertNotEqual(wrong.status, 0)
        XCTAssertTrue(wrong.stderr.contains("authentication failure"), wrong.stderr)
        XCTAssertFalse(wrong.stderr.contains("wrong-secret-2"))
        let right = try run(["bench", "iscsi://\(user)%carol-secret-1@\(fixture.portals[0])/\(target.iqn)/1", "--seconds", "1"])
        XCTAssertEqual(right.status, 0, right.stderr)
    }
}
