import Foundation
import XCTest

@testable import MPathConfig

final class IfaceTests: XCTestCase {
    func testNewGetListRoundTripAndFileFormat() throws {
        let temp = try TemporaryDirectory()
        let database = IfaceDatabase(stateDir: temp.path)
        XCTAssertEqual(try database.list(), [IfaceRecord.default])

        let record = IfaceRecord(
            name: "san-a.0", ipaddress: "192.168.10.5", netIfacename: "eth0.3", hwaddress: "00:0f:ab:cd:ef:01",
            initiatorName: "iqn.2026-11.org.mpath-iscsi:host-a")
        try database.new(record)
        let path = temp.path + "/ifaces/san-a.0"
        XCTAssertEqual(
            try String(contentsOfFile: path, encoding: .utf8),
            """
            # BEGIN RECORD mpath-iscsi 1
            iface.iscsi_ifacename = san-a.0
            iface.transport_name = tcp
            iface.ipaddress = 192.168.10.5
            iface.net_ifacename = eth0.3
            iface.hwaddress = 00:0f:ab:cd:ef:01
            iface.initiatorname = iqn.2026-11.org.mpath-iscsi:host-a
            # END RECORD

            """)
        XCTAssertEqual(mode(of: path), 0o600)
        XCTAssertEqual(mode(of: temp.path + "/ifaces"), 0o700)
        XCTAssertEqual(try database.get("san-a.0"), record)
        XCTAssertEqual(try database.get("missing"), nil)
        XCTAssertEqual(try database.get("default"), .default)

        try database.new(IfaceRecord(name: "a-first"))
        XCTAssertEqual(try database.list().map(\.name), ["default", "a-first", "san-a.0"])
        XCTAssertEqual(
            record.listing,
            "san-a.0 tcp,00:0f:ab:cd:ef:01,192.168.10.5,eth0.3,iqn.2026-11.org.mpath-iscsi:host-a")
        XCTAssertEqual(IfaceRecord.default.listing, "default tcp,<empty>,<empty>,<empty>,<empty>")

        let again = expectConfigError { try database.new(IfaceRecord(name: "a-first")) }
        XCTAssertEqual(again?.description, "iface 'a-first' already exists")
    }

    func testUpdateNormalizesAndValidates() throws {
        let temp = try TemporaryDirectory()
        let database = IfaceDatabase(stateDir: temp.path)
        try database.new(IfaceRecord(name: "iface0"))
        var updated = try database.update(name: "iface0", key: "iface.hwaddress", value: "00-0F-AB-CD-EF-02")
        XCTAssertEqual(updated.hwaddress, "00:0f:ab:cd:ef:02")
        updated = try database.update(name: "iface0", key: "iface.ipaddress", value: "2001:DB8:0::7")
        XCTAssertEqual(updated.ipaddress, "2001:db8::7")
        updated = try database.update(name: "iface0", key: "iface.hwaddress", value: "")
        XCTAssertNil(updated.hwaddress)
        XCTAssertEqual(try database.get("iface0"), updated)

        let cases: [(String, String, String)] = [
            ("iface.ipaddress", "10.0.0.256", "iface.ipaddress: '10.0.0.256' is not an IPv4 or IPv6 address"),
            ("iface.ipaddress", "host.example", "iface.ipaddress: 'host.example' is not an IPv4 or IPv6 address"),
            ("iface.hwaddress", "00:11:22:33:44", "iface.hwaddress: '00:11:22:33:44' is not a MAC address (aa:bb:cc:dd:ee:ff)"),
            ("iface.net_ifacename", "a-very-long-interface", "iface.net_ifacename: 'a-very-long-interface' is not a network interface name (1-15 characters, no spaces or '/')"),
            ("iface.transport_name", "iser", "iface.transport_name: 'iser' is not supported (only 'tcp')"),
            ("iface.initiatorname", "iqn.bad", "iface.initiatorname: invalid iSCSI name 'iqn.bad': expected a date 'yyyy-mm' after 'iqn.'"),
            ("iface.iscsi_ifacename", "other", "iface.iscsi_ifacename: is the record's name and cannot be changed"),
            ("iface.vlan_id", "3", "iface.vlan_id: not an iface setting (allowed: iface.transport_name, iface.ipaddress, iface.net_ifacename, iface.hwaddress, iface.initiatorname)"),
        ]
        for (key, value, message) in cases {
            let error = expectConfigError { try database.update(name: "iface0", key: key, value: value) }
            XCTAssertEqual(error?.description, message)
        }
        let missing = expectConfigError { try database.update(name: "nope", key: "iface.ipaddress", value: "10.0.0.1") }
        XCTAssertEqual(missing?.description, "iface 'nope' does not exist")
    }

    func testReservedAndInvalidNames() throws {
        let temp = try TemporaryDirectory()
        let database = IfaceDatabase(stateDir: temp.path)
        for name in ["default", "iser"] {
            XCTAssertEqual(
                expectConfigError { try database.new(IfaceRecord(name: name)) }?.description,
                "iface name '\(name)' is reserved and cannot be created")
            XCTAssertEqual(
                expectConfigError { try database.delete(name) }?.description,
                "iface name '\(name)' is reserved and cannot be deleted")
        }
        XCTAssertNoThrow(try database.new(IfaceRecord(name: String(repeating: "a", count: 64))))
        let cases: [(String, String)] = [
            (String(repeating: "a", count: 65), "longer than 64 characters"),
            ("", "empty"),
            ("eth0/1", "use only letters, digits, '.', '_' and '-'"),
            ("a b", "use only letters, digits, '.', '_' and '-'"),
            (".hidden", "must not start with '.'"),
        ]
        for (name, reason) in cases {
            let error = expectConfigError { try database.new(IfaceRecord(name: name)) }
            XCTAssertEqual(error?.message, "invalid iface name '\(name)': \(reason)")
        }
        let badAddress = expectConfigError { try database.new(IfaceRecord(name: "x", ipaddress: "1.2.3")) }
        XCTAssertEqual(badAddress?.description, "iface.ipaddress: '1.2.3' is not an IPv4 or IPv6 address")
    }

    func testDelete() throws {
        let temp = try TemporaryDirectory()
        let database = IfaceDatabase(stateDir: temp.path)
        try database.new(IfaceRecord(name: "iface1"))
        try database.delete("iface1")
        XCTAssertEqual(try database.list(), [.default])
        XCTAssertEqual(expectConfigError { try database.delete("iface1") }?.description, "iface 'iface1' does not exist")
    }

    func testCorruptIfaceFileNamesFileAndLine() throws {
        let temp = try TemporaryDirectory()
        let database = IfaceDatabase(stateDir: temp.path)
        let path = temp.path + "/ifaces/iface2"
        try temp.write(
            "ifaces/iface2",
            "# BEGIN RECORD mpath-iscsi 1\niface.iscsi_ifacename = iface2\niface.ipaddress = nope\n# END RECORD\n")
        XCTAssertEqual(
            expectConfigError { _ = try database.get("iface2") }?.description,
            "\(path):3: iface.ipaddress: 'nope' is not an IPv4 or IPv6 address")
        try temp.write("ifaces/iface2", "# BEGIN RECORD mpath-iscsi 1\niface.iscsi_ifacename = other\n# END RECORD\n")
        XCTAssertEqual(
            expectConfigError { _ = try database.list() }?.description,
            "\(path): record names iface 'other' but the file is named 'iface2'")
    }
}
