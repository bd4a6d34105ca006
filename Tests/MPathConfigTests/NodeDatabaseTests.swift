import Foundation
import XCTest

@testable import MPathConfig

final class NodeDatabaseTests: XCTestCase {
    let target = "iqn.2003-01.org.linux-iscsi.host:sn.1234"

    func testSaveWritesOpenIscsiLayoutAndExactBytes() throws {
        let temp = try TemporaryDirectory()
        let database = NodeDatabase(stateDir: temp.path)
        let record = NodeRecord(
            targetName: target, portal: try Portal(parsing: "127.0.0.2:3260,1"),
            overrides: ["node.session.auth.password": "pw", "node.startup": "automatic"],
            discoveryAddress: try Portal(parsing: "127.0.0.2"))
        try database.save(record)

        let path = temp.path + "/nodes/\(target)/127.0.0.2,3260,1/default"
        XCTAssertEqual(database.path(for: record), path)
        XCTAssertEqual(
            try String(contentsOfFile: path, encoding: .utf8),
            """
            # BEGIN RECORD mpath-iscsi 1
            node.name = \(target)
            node.tpgt = 1
            node.conn[0].address = 127.0.0.2
            node.conn[0].port = 3260
            iface.iscsi_ifacename = default
            node.discovery_address = 127.0.0.2
            node.discovery_port = 3260
            node.session.auth.password = pw
            node.startup = automatic
            # END RECORD

            """)
        XCTAssertEqual(mode(of: path), 0o600)
        XCTAssertEqual(mode(of: temp.path + "/nodes"), 0o700)
        XCTAssertEqual(mode(of: temp.path + "/nodes/\(target)"), 0o700)
        XCTAssertEqual(mode(of: temp.path + "/nodes/\(target)/127.0.0.2,3260,1"), 0o700)
        // No temporary files are left behind.
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: temp.path + "/nodes/\(target)/127.0.0.2,3260,1"), ["default"])

        XCTAssertEqual(try database.all(), [record])
    }

    func testRoundTripSortingAndFind() throws {
        let temp = try TemporaryDirectory()
        let database = NodeDatabase(stateDir: temp.path)
        let other = "iqn.2003-01.org.linux-iscsi.host:sn.9999"
        let records = [
            NodeRecord(targetName: target, portal: Portal(host: "10.0.0.2", port: 3260, tpgt: 2), iface: "iface1"),
            NodeRecord(targetName: target, portal: Portal(host: "10.0.0.1", port: 3260, tpgt: 1)),
            NodeRecord(targetName: other, portal: Portal(host: "fd00::1", port: 3260, tpgt: 1)),
            NodeRecord(targetName: target, portal: Portal(host: "10.0.0.2", port: 3260, tpgt: 2)),
        ]
        for record in records { try database.save(record) }
        XCTAssertTrue(FileManager.default.fileExists(atPath: temp.path + "/nodes/\(other)/fd00::1,3260,1/default"))

        let all = try database.all()
        XCTAssertEqual(
            all.map(\.description),
            [
                "10.0.0.1:3260,1 \(target)", "10.0.0.2:3260,2 \(target)", "10.0.0.2:3260,2 \(target) (iface iface1)",
                "[fd00::1]:3260,1 \(other)",
            ])
        XCTAssertEqual(try database.find(target: other).count, 1)
        XCTAssertEqual(try database.find(portal: try Portal(parsing: "10.0.0.2")).count, 2)
        XCTAssertEqual(try database.find(portal: try Portal(parsing: "10.0.0.2:3260,1")).count, 0)
        XCTAssertEqual(try database.find(target: target, iface: "iface1").count, 1)
        XCTAssertEqual(try database.find().count, 4)
        XCTAssertEqual(try database.find(target: "iqn.2000-01.com.none:x"), [])
    }

    func testMissingTagIsStoredAsOne() throws {
        let temp = try TemporaryDirectory()
        let database = NodeDatabase(stateDir: temp.path)
        try database.save(NodeRecord(targetName: target, portal: try Portal(parsing: "10.0.0.1")))
        XCTAssertEqual(try database.all().first?.portal, Portal(host: "10.0.0.1", port: 3260, tpgt: 1))
    }

    func testDeleteRemovesRecordsAndEmptyDirectories() throws {
        let temp = try TemporaryDirectory()
        let database = NodeDatabase(stateDir: temp.path)
        try database.save(NodeRecord(targetName: target, portal: Portal(host: "10.0.0.1")))
        try database.save(NodeRecord(targetName: target, portal: Portal(host: "10.0.0.2")))
        let deleted = try database.delete(portal: Portal(host: "10.0.0.1", tpgt: nil))
        XCTAssertEqual(deleted.map(\.portal.host), ["10.0.0.1"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: temp.path + "/nodes/\(target)/10.0.0.1,3260,1"))
        XCTAssertEqual(try database.all().count, 1)
        try database.delete()
        XCTAssertEqual(try database.all(), [])
        XCTAssertFalse(FileManager.default.fileExists(atPath: temp.path + "/nodes/\(target)"))
    }

    func testUpdateValidatesAndCanonicalizes() throws {
        let temp = try TemporaryDirectory()
        let database = NodeDatabase(stateDir: temp.path)
        try database.save(NodeRecord(targetName: target, portal: Portal(host: "10.0.0.1")))

        let updated = try database.update(
            target: target, portal: nil, key: "node.session.iscsi.ImmediateData", value: "no")
        XCTAssertEqual(updated.first?.overrides, ["node.session.iscsi.ImmediateData": "No"])
        XCTAssertEqual(try database.all().first?.overrides, ["node.session.iscsi.ImmediateData": "No"])

        let badValue = expectConfigError {
            try database.update(target: target, portal: nil, key: "node.session.cmds_max", value: "3")
        }
        XCTAssertEqual(
            badValue?.description, "node.session.cmds_max: 3 is out of range; expected an integer 2...2048, a power of two")
        let identity = expectConfigError {
            try database.update(target: target, portal: nil, key: "node.conn[0].port", value: "3261")
        }
        XCTAssertEqual(
            identity?.description,
            "node.conn[0].port: identifies the record and cannot be changed; delete and re-create the record")
        let discoveryKey = expectConfigError {
            try database.update(target: target, portal: nil, key: "discovery.sendtargets.auth.username", value: "x")
        }
        XCTAssertEqual(discoveryKey?.description, "discovery.sendtargets.auth.username: not a node setting")
        let noMatch = expectConfigError {
            try database.update(target: "iqn.2000-01.com.none:x", portal: nil, key: "node.startup", value: "manual")
        }
        XCTAssertEqual(noMatch?.description, "no node records match target iqn.2000-01.com.none:x")
    }

    func testEffectiveSettingsAndShowMasksSecrets() throws {
        var base = SessionSettings()
        base.loginTimeout = 30
        let record = NodeRecord(
            targetName: target, portal: Portal(host: "10.0.0.1"),
            overrides: ["node.session.auth.password": "sekrit", "node.session.auth.username": "u",
                        "node.conn[0].timeo.noop_out_timeout": "5"])
        let settings = try record.settings(base: base)
        XCTAssertEqual(settings.loginTimeout, 30)
        XCTAssertEqual(settings.noopOutTimeout, 5)
        XCTAssertEqual(settings.auth.password, "sekrit")

        let shown = try record.showLines(base: base)
        XCTAssertEqual(Array(shown.prefix(2)), ["node.name = \(target)", "node.tpgt = 1"])
        XCTAssertTrue(shown.contains("node.session.auth.password = ********"))
        XCTAssertTrue(shown.contains("node.session.auth.password_in = <empty>"))
        XCTAssertFalse(shown.joined().contains("sekrit"))
        XCTAssertTrue(try record.showLines(base: base, showSecrets: true).contains("node.session.auth.password = sekrit"))
        for text in ["\(record)", String(reflecting: record)] {
            XCTAssertFalse(text.contains("sekrit"), text)
        }
        var dumped = ""
        dump(record, to: &dumped)
        XCTAssertFalse(dumped.contains("sekrit"))
    }

    func testSaveRejectsBadRecords() throws {
        let temp = try TemporaryDirectory()
        let database = NodeDatabase(stateDir: temp.path)
        let cases: [(NodeRecord, String)] = [
            (NodeRecord(targetName: "../escape", portal: Portal(host: "10.0.0.1")), "invalid target name '../escape': must not start with '.'"),
            (NodeRecord(targetName: "a/b", portal: Portal(host: "10.0.0.1")), "invalid target name 'a/b': must not contain '/' or control characters"),
            (NodeRecord(targetName: target, portal: Portal(host: "x/y")), "invalid portal host 'x/y'"),
            (NodeRecord(targetName: target, portal: Portal(host: "10.0.0.1", port: 0)), "invalid portal port 0: must be 1-65535"),
            (NodeRecord(targetName: target, portal: Portal(host: "10.0.0.1"), iface: "bad iface"), "invalid iface name 'bad iface': use only letters, digits, '.', '_' and '-'"),
            (NodeRecord(targetName: target, portal: Portal(host: "10.0.0.1"), overrides: ["node.startup": "never"]), "node.startup: 'never' is not allowed; expected one of: manual, automatic, onboot"),
            (NodeRecord(targetName: target, portal: Portal(host: "10.0.0.1"), overrides: ["node.session.auth.password": "a\nb"]), "node.session.auth.password: value contains control characters"),
        ]
        for (record, message) in cases {
            let error = expectConfigError { try database.save(record) }
            XCTAssertEqual(error?.description, message)
        }
        XCTAssertEqual(try FileIO.listDirectory(temp.path + "/nodes"), [])
    }

    func testCorruptRecordsNameFileAndLine() throws {
        let temp = try TemporaryDirectory()
        let database = NodeDatabase(stateDir: temp.path)
        let relative = "nodes/\(target)/10.0.0.1,3260,1/default"
        let path = temp.path + "/" + relative
        let good = """
            # BEGIN RECORD mpath-iscsi 1
            node.name = \(target)
            node.tpgt = 1
            node.conn[0].address = 10.0.0.1
            node.conn[0].port = 3260
            iface.iscsi_ifacename = default
            # END RECORD

            """
        try temp.write(relative, good)
        XCTAssertEqual(try database.all().count, 1)

        let cases: [(String, String)] = [
            (String(good.dropLast(14)), "\(path):6: record is truncated: no '# END RECORD'"),
            (good.replacingOccurrences(of: "mpath-iscsi 1", with: "2.0-874"),
             "\(path):1: unsupported record version '2.0-874' (expected 'mpath-iscsi 1')"),
            ("node.name = x\n", "\(path):1: missing '# BEGIN RECORD mpath-iscsi 1' header"),
            ("", "\(path): empty record (no '# BEGIN RECORD mpath-iscsi 1' header)"),
            (good + "junk\n", "\(path):8: text after '# END RECORD'"),
            (good.replacingOccurrences(of: "node.tpgt = 1", with: "node.tpgt"), "\(path):3: expected 'key = value'"),
            (good.replacingOccurrences(of: "node.tpgt = 1", with: "node.tpgt = one"),
             "\(path):3: node.tpgt: 'one' is not a number 0-65535"),
            (good.replacingOccurrences(of: "node.tpgt = 1\n", with: ""), "\(path): node.tpgt: missing from the record"),
            (good.replacingOccurrences(of: "# END", with: "node.session.queue_depth = 0\n# END"),
             "\(path):7: node.session.queue_depth: 0 is out of range; expected an integer 1...1024"),
            (good.replacingOccurrences(of: "# END", with: "node.mystery = 0\n# END"),
             "\(path):7: node.mystery: not a node setting"),
            (good.replacingOccurrences(of: "node.tpgt = 1", with: "node.tpgt = 1\nnode.tpgt = 2"),
             "\(path):4: node.tpgt: given twice (first on line 3)"),
            (good.replacingOccurrences(of: "10.0.0.1", with: "10.0.0.9"),
             "\(path): record content (10.0.0.9:3260,1 \(target)) does not match its location in the database"),
        ]
        for (text, message) in cases {
            try temp.write(relative, text)
            let error = expectConfigError { _ = try database.all() }
            XCTAssertEqual(error?.description, message)
        }
    }

    func testUnexpectedEntriesInTheTreeAreReported() throws {
        let temp = try TemporaryDirectory()
        let database = NodeDatabase(stateDir: temp.path)
        try temp.write("nodes/\(target)/10.0.0.1,3260", "legacy")
        let error = expectConfigError { _ = try database.all() }
        XCTAssertEqual(
            error?.description,
            "\(temp.path)/nodes/\(target)/10.0.0.1,3260: unexpected entry in the node database (expected a '<address>,<port>,<tpgt>' directory)")
    }

    func testSendTargetsRecords() throws {
        let temp = try TemporaryDirectory()
        let database = SendTargetsDatabase(stateDir: temp.path)
        let record = SendTargetsRecord(
            portal: try Portal(parsing: "[fd00::2]:3260,5"),
            overrides: ["discovery.sendtargets.auth.username": "d", "discovery.sendtargets.auth.password": "dpw"])
        try database.save(record)
        let path = temp.path + "/send_targets/fd00::2,3260/st_config"
        XCTAssertEqual(database.path(for: record.portal), path)
        XCTAssertEqual(
            try String(contentsOfFile: path, encoding: .utf8),
            """
            # BEGIN RECORD mpath-iscsi 1
            discovery.type = sendtargets
            discovery.sendtargets.address = fd00::2
            discovery.sendtargets.port = 3260
            discovery.sendtargets.auth.password = dpw
            discovery.sendtargets.auth.username = d
            # END RECORD

            """)
        XCTAssertEqual(mode(of: path), 0o600)
        XCTAssertEqual(mode(of: temp.path + "/send_targets/fd00::2,3260"), 0o700)

        var expected = record
        expected.portal.tpgt = nil
        XCTAssertEqual(try database.all(), [expected])
        XCTAssertEqual(try database.find(portal: Portal(host: "fd00::2")), expected)
        XCTAssertEqual(try database.find(portal: Portal(host: "fd00::3")), nil)
        let settings = try expected.settings(base: SessionSettings())
        XCTAssertEqual(settings.discoveryAuth.username, "d")
        XCTAssertFalse(String(reflecting: expected).contains("dpw"))

        let bad = expectConfigError {
            try database.save(SendTargetsRecord(portal: Portal(host: "10.0.0.1"), overrides: ["node.startup": "manual"]))
        }
        XCTAssertEqual(bad?.description, "node.startup: not a discovery setting")

        XCTAssertTrue(try database.delete(portal: Portal(host: "fd00::2")))
        XCTAssertFalse(try database.delete(portal: Portal(host: "fd00::2")))
        XCTAssertEqual(try database.all(), [])
    }
}
