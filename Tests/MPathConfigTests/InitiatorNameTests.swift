import Foundation
import XCTest

@testable import MPathConfig

final class InitiatorNameTests: XCTestCase {
    func testParsesNameAliasCommentsAndBlankLines() throws {
        let text = """
            # generated
              
            InitiatorName = iqn.2026-11.org.mpath-iscsi:0123456789ab
            \tInitiatorAlias=db host 1
            """
        let parsed = try InitiatorName.parse(text, file: "/etc/x")
        XCTAssertEqual(parsed, InitiatorName(name: "iqn.2026-11.org.mpath-iscsi:0123456789ab", alias: "db host 1"))
    }

    func testCRLFLineEndings() throws {
        let parsed = try InitiatorName.parse("# c\r\nInitiatorName=iqn.2001-04.com.example:a\r\n", file: "f")
        XCTAssertEqual(parsed.name, "iqn.2001-04.com.example:a")
    }

    func testErrorsNameFileAndLine() {
        let missing = expectConfigError { _ = try InitiatorName.parse("# nothing\n", file: "/etc/n") }
        XCTAssertEqual(missing?.description, "/etc/n: no 'InitiatorName=' line")

        let bad = expectConfigError {
            _ = try InitiatorName.parse("\nInitiatorName=iqn.2026-13.org.x:y\n", file: "/etc/n")
        }
        XCTAssertEqual(
            bad?.description,
            "/etc/n:2: InitiatorName: invalid iSCSI name 'iqn.2026-13.org.x:y': month 13 is not 01-12")

        let twice = expectConfigError {
            _ = try InitiatorName.parse(
                "InitiatorName=iqn.2001-04.com.a:x\nInitiatorName=iqn.2001-04.com.a:y\n", file: "f")
        }
        XCTAssertEqual(twice?.description, "f:2: InitiatorName: given twice (first on line 1)")

        let noEquals = expectConfigError { _ = try InitiatorName.parse("iqn.2001-04.com.a:x\n", file: "f") }
        XCTAssertEqual(noEquals?.line, 1)

        let unknown = expectConfigError { _ = try InitiatorName.parse("Name=iqn.2001-04.com.a:x\n", file: "f") }
        XCTAssertEqual(unknown?.description, "f:1: Name: unknown key (allowed: InitiatorName, InitiatorAlias)")
    }

    func testNameValidation() throws {
        XCTAssertEqual(try ISCSIName.validate("iqn.2001-04.com.example:storage.disk1"), .iqn)
        XCTAssertEqual(try ISCSIName.validate("iqn.2001-04.com.example"), .iqn)
        XCTAssertEqual(try ISCSIName.validate("eui.02004567A425678D"), .eui)
        XCTAssertEqual(try ISCSIName.validate("naa.52004567BA64678D"), .naa)
        XCTAssertEqual(try ISCSIName.validate("naa.62004567BA64678D0123456789ABCDEF"), .naa)

        let cases: [(String, String)] = [
            ("", "name is empty"),
            ("IQN.2001-04.com.a", "the 'iqn.' prefix must be lowercase"),
            ("iqn.2001-04.com.Example", "iqn names must be lowercase (found 'E')"),
            ("iqn.2001-4.com.a", "expected a date 'yyyy-mm' after 'iqn.'"),
            ("iqn.2001-00.com.a", "month 00 is not 01-12"),
            ("iqn.2001-04", "expected '.' and a reversed domain name after the date"),
            ("iqn.2001-04.:x", "missing reversed domain name after the date"),
            ("iqn.2001-04.com..a", "empty label in the domain name 'com..a'"),
            ("iqn.2001-04.com.a b", "character ' ' is not allowed (use lowercase letters, digits, '-', '.', ':')"),
            ("eui.0200456", "EUI-64 must be 16 hexadecimal digits"),
            ("naa.5200456G", "NAA identifier must be 16 or 32 hexadecimal digits"),
            ("wwn.1234", "must start with 'iqn.', 'eui.' or 'naa.'"),
        ]
        for (name, reason) in cases {
            let error = expectConfigError { try ISCSIName.validate(name) }
            XCTAssertEqual(error?.message, "invalid iSCSI name '\(name)': \(reason)", name)
        }
        let longest = "iqn.2001-04.com.a:" + String(repeating: "x", count: 223 - 18)
        XCTAssertTrue(ISCSIName.isValid(longest))
        XCTAssertFalse(ISCSIName.isValid(longest + "x"))
    }

    func testGenerateShapeAndUniqueness() throws {
        var seen = Set<String>()
        for _ in 0..<200 {
            let name = try InitiatorName.generate()
            XCTAssertTrue(name.hasPrefix("iqn.2026-11.org.mpath-iscsi:"))
            let suffix = name.dropFirst("iqn.2026-11.org.mpath-iscsi:".count)
            XCTAssertEqual(suffix.count, 12)
            XCTAssertTrue(suffix.allSatisfy { "0123456789abcdef".contains($0) }, name)
            XCTAssertTrue(ISCSIName.isValid(name))
            seen.insert(name)
        }
        XCTAssertEqual(seen.count, 200)
        XCTAssertTrue(try InitiatorName.generate(prefix: "iqn.1996-04.de.suse:01").hasPrefix("iqn.1996-04.de.suse:01:"))
    }

    func testGenerateRejectsBadPrefixes() {
        XCTAssertNotNil(expectConfigError { _ = try InitiatorName.generate(prefix: String(repeating: "a", count: 211)) })
        let bad = expectConfigError { _ = try InitiatorName.generate(prefix: "IQN.bad") }
        XCTAssertTrue(bad?.message.hasPrefix("invalid initiator name prefix 'IQN.bad'") ?? false)
    }

    func testLoadOrCreateWritesOnceWithHeaderAndMode() throws {
        let temp = try TemporaryDirectory()
        let path = temp.path + "/etc/initiatorname.iscsi"
        let created = try InitiatorName.loadOrCreate(at: path)
        XCTAssertEqual(mode(of: path), 0o644)
        let text = try String(contentsOfFile: path, encoding: .utf8)
        XCTAssertTrue(text.hasPrefix("# iSCSI initiator name of this host"))
        XCTAssertTrue(text.hasSuffix("\nInitiatorName=\(created.name)\n"))
        XCTAssertEqual(try InitiatorName.load(at: path), created)

        // An existing file is read, never replaced.
        let again = try InitiatorName.loadOrCreate(at: path)
        XCTAssertEqual(again, created)
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), text)
    }

    func testLoadOrCreateReportsACorruptExistingFile() throws {
        let temp = try TemporaryDirectory()
        try temp.write("initiatorname.iscsi", "InitiatorName=nonsense\n")
        let error = expectConfigError { _ = try InitiatorName.loadOrCreate(at: temp.path + "/initiatorname.iscsi") }
        XCTAssertEqual(error?.file, temp.path + "/initiatorname.iscsi")
        XCTAssertEqual(error?.line, 1)
    }
}
