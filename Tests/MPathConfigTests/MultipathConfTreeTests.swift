import XCTest

@testable import MPathConfig

final class MultipathConfTreeTests: XCTestCase {
    func testGoldenTree() throws {
        let text = """
            # top comment
            defaults {
            \tpolling_interval 10   # trailing comment
            \tpath_selector "round-robin 0"
            \tfeatures "1 queue_if_no_path" ! bang comment
            }
            blacklist{
              device {
                vendor "say ""hi""\"
                product "^CD#ROM!"
              }
              wwid "!^3600"
            }
            multipaths {
            \tmultipath {
            \t\twwid 3600a0b80000b4c1a
            \t\talias db
            \t}
            }
            """
        let result = try MultipathConfTree.parse(text, file: "m.conf")
        XCTAssertEqual(result.diagnostics, [])
        let root = result.value
        XCTAssertEqual(root.sections.map(\.name), ["defaults", "blacklist", "multipaths"])
        XCTAssertEqual(root.sections.map(\.line), [2, 7, 14])

        let defaults = root.sections[0]
        XCTAssertEqual(
            defaults.attributes,
            [
                ConfAttribute(key: "polling_interval", value: "10", file: "m.conf", line: 3),
                ConfAttribute(key: "path_selector", value: "round-robin 0", file: "m.conf", line: 4),
                ConfAttribute(key: "features", value: "1 queue_if_no_path", file: "m.conf", line: 5),
            ])
        let blacklist = root.sections[1]
        XCTAssertEqual(blacklist.attributes.map(\.value), ["!^3600"])
        XCTAssertEqual(blacklist.sections.first?.attributes.map(\.value), ["say \"hi\"", "^CD#ROM!"])
        XCTAssertEqual(blacklist.sections.first?.line, 8)
        let entry = root.sections[2].sections[0]
        XCTAssertEqual(entry.name, "multipath")
        XCTAssertEqual(entry.attributes.map(\.key), ["wwid", "alias"])
        XCTAssertEqual(entry.attributes.map(\.line), [16, 17])
    }

    func testStructuralErrorsNameFileAndLine() {
        let cases: [(String, String)] = [
            ("defaults {\n}\n}\n", "m.conf:3: unbalanced braces: '}' without an open section"),
            ("defaults {\n\tpolling_interval 5\n", "m.conf:1: unbalanced braces: section 'defaults' opened here is not closed"),
            ("devices {\n device {\n  vendor x\n }\n", "m.conf:1: unbalanced braces: section 'devices' opened here is not closed"),
            ("defaults {\n\talias_prefix \"mp\n}\n", "m.conf:2: unterminated quoted string"),
            ("defaultz {\n}\n", "m.conf:1: unknown section 'defaultz' in the top level (allowed: blacklist, blacklist_exceptions, defaults, devices, multipaths, overrides)"),
            ("devices {\n\tmultipath {\n\t}\n}\n", "m.conf:2: unknown section 'multipath' in section 'devices' (allowed: device)"),
            ("defaults {\n\tpolling_interval {\n\t}\n}\n", "m.conf:2: unknown section 'polling_interval' in section 'defaults' (allowed: none)"),
            ("defaults\n{\n}\n", "m.conf:1: section 'defaults' must be followed by '{' on the same line"),
            ("{\n}\n", "m.conf:1: '{' without a section name"),
            ("polling_interval 5\n", "m.conf:1: 'polling_interval' is outside of any section (expected one of: blacklist, blacklist_exceptions, defaults, devices, multipaths, overrides)"),
            ("defaults {\n\tpolling_interval\n}\n", "m.conf:2: polling_interval: missing value"),
            ("defaults {\n\tpolling_interval }\n", "m.conf:2: polling_interval: missing value before '}'"),
            ("defaults { polling_interval 5 }\n", "m.conf:1: unexpected 'polling_interval' after 'defaults {'; put each attribute and the closing '}' on its own line"),
        ]
        for (text, message) in cases {
            let error = expectConfigError { _ = try MultipathConfTree.parse(text, file: "m.conf") }
            XCTAssertEqual(error?.description, message, text)
        }
    }

    func testExtraDataIsIgnoredWithAWarning() throws {
        let result = try MultipathConfTree.parse("defaults {\n\tpath_selector service-time 0\n} extra\n", file: "m.conf")
        XCTAssertEqual(
            result.diagnostics.map(\.description),
            [
                "m.conf:2: warning: ignoring extra data starting with '0'",
                "m.conf:3: warning: ignoring extra data starting with 'extra'",
            ])
        XCTAssertEqual(result.value.sections.first?.attributes.first?.value, "service-time")
    }

    func testTokenizer() throws {
        typealias Token = MultipathConfTree.Token
        XCTAssertEqual(
            try MultipathConfTree.tokenize("a{b}\"c d\"e # x", file: "f", line: 1),
            [Token.word("a"), .open, .word("b"), .close, .quoted("c d"), .word("e")])
        XCTAssertEqual(try MultipathConfTree.tokenize("\"\"", file: "f", line: 1), [.quoted("")])
        XCTAssertEqual(try MultipathConfTree.tokenize("\"\"\"\"", file: "f", line: 1), [.quoted("\"")])
        XCTAssertEqual(try MultipathConfTree.tokenize("key!comment", file: "f", line: 1), [.word("key")])
        XCTAssertNotNil(expectConfigError { _ = try MultipathConfTree.tokenize("\"abc\"\"", file: "f", line: 1) })
    }
}
