import XCTest

@testable import MPathConfig

final class PortalTests: XCTestCase {
    func testParsesIscsiadmForms() throws {
        let cases: [(String, Portal, String)] = [
            ("127.0.0.2", Portal(host: "127.0.0.2", port: 3260, tpgt: nil), "127.0.0.2:3260"),
            ("127.0.0.2:3261", Portal(host: "127.0.0.2", port: 3261, tpgt: nil), "127.0.0.2:3261"),
            ("127.0.0.2:3260,1", Portal(host: "127.0.0.2", port: 3260, tpgt: 1), "127.0.0.2:3260,1"),
            ("127.0.0.2,7", Portal(host: "127.0.0.2", port: 3260, tpgt: 7), "127.0.0.2:3260,7"),
            ("[::1]:3260,1", Portal(host: "::1", port: 3260, tpgt: 1), "[::1]:3260,1"),
            ("[0:0::1]", Portal(host: "::1", port: 3260, tpgt: nil), "[::1]:3260"),
            ("fd00::5", Portal(host: "fd00::5", port: 3260, tpgt: nil), "[fd00::5]:3260"),
            ("[fe80::1%eth0]:860", Portal(host: "fe80::1%eth0", port: 860, tpgt: nil), "[fe80::1%eth0]:860"),
            ("san-a.example.com:3260", Portal(host: "san-a.example.com", port: 3260, tpgt: nil), "san-a.example.com:3260"),
            (" target1 ", Portal(host: "target1", port: 3260, tpgt: nil), "target1:3260"),
        ]
        for (text, expected, formatted) in cases {
            let portal = try Portal(parsing: text)
            XCTAssertEqual(portal, expected, text)
            XCTAssertEqual(portal.description, formatted, text)
        }
        XCTAssertEqual(Portal(host: "10.0.0.1").description, "10.0.0.1:3260,1")
        XCTAssertEqual(Portal(host: "2001:db8::1", port: 3260, tpgt: 2).address, "[2001:db8::1]:3260")
        XCTAssertTrue(Portal(host: "2001:db8::1").isIPv6)
    }

    func testErrorsNameTheText() {
        let cases: [(String, String)] = [
            ("", "invalid portal '': empty"),
            ("10.0.0.1:0", "invalid portal '10.0.0.1:0': port must be a number 1-65535"),
            ("10.0.0.1:70000", "invalid portal '10.0.0.1:70000': port must be a number 1-65535"),
            ("10.0.0.1:x", "invalid portal '10.0.0.1:x': port must be a number 1-65535"),
            ("10.0.0.1:3260,", "invalid portal '10.0.0.1:3260,': target portal group tag must be a number 0-65535"),
            ("10.0.0.1:3260,-1", "invalid portal '10.0.0.1:3260,-1': target portal group tag must be a number 0-65535"),
            ("[::1:3260", "invalid portal '[::1:3260': missing ']' after IPv6 address"),
            ("[::1]3260", "invalid portal '[::1]3260': expected ':port' after ']'"),
            ("[10.0.0.1]:3260", "invalid portal '[10.0.0.1]:3260': '10.0.0.1' in brackets is not an IPv6 address"),
            ("fd00::zz", "invalid portal 'fd00::zz': not an IPv6 address (write IPv6 with a port as [address]:port)"),
            (":3260", "invalid portal ':3260': missing address"),
            ("bad host:3260", "invalid portal 'bad host:3260': 'bad host' is neither an IP address nor a host name"),
            ("../../etc", "invalid portal '../../etc': '../../etc' is neither an IP address nor a host name"),
        ]
        for (text, message) in cases {
            let error = expectConfigError { _ = try Portal(parsing: text) }
            XCTAssertEqual(error?.message, message, text)
        }
    }

    func testMatchingIgnoresMissingTag() throws {
        let stored = Portal(host: "10.0.0.1", port: 3260, tpgt: 3)
        XCTAssertTrue(stored.matches(try Portal(parsing: "10.0.0.1")))
        XCTAssertTrue(stored.matches(try Portal(parsing: "10.0.0.1:3260,3")))
        XCTAssertFalse(stored.matches(try Portal(parsing: "10.0.0.1:3260,1")))
        XCTAssertFalse(stored.matches(try Portal(parsing: "10.0.0.1:3261")))
        XCTAssertFalse(stored.matches(try Portal(parsing: "10.0.0.2")))
    }

    func testOrdering() {
        let portals = [
            Portal(host: "name.example"), Portal(host: "::1"), Portal(host: "10.0.0.10"),
            Portal(host: "10.0.0.2", port: 3261), Portal(host: "10.0.0.2", port: 3260, tpgt: 2),
            Portal(host: "10.0.0.2", port: 3260, tpgt: 1),
        ]
        XCTAssertEqual(
            portals.sorted().map(\.description),
            ["10.0.0.2:3260,1", "10.0.0.2:3260,2", "10.0.0.2:3261,1", "10.0.0.10:3260,1", "[::1]:3260,1", "name.example:3260,1"])
    }
}
