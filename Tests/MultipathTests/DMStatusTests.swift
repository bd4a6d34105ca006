import XCTest
@testable import Multipath

final class DMStatusTests: XCTestCase {
    /// Kernel documentation example (dm-service-time), as `dmsetup status` prints it.
    static let kernelDoc = "test: 0 10 multipath 2 0 0 0 1 1 E 0 2 2 8:0 A 0 0 1 8:16 A 0 0 4"
    /// Failover map after the path in group 1 failed; IO moved to group 2.
    static let failedPath = "0 20971520 multipath 2 0 0 0 2 2 E 0 1 2 8:16 F 1 0 1 A 0 1 2 8:32 A 0 0 1"

    func testKernelDocExample() throws {
        let status = try DMMultipathStatus.parse(Self.kernelDoc)
        let expected = DMMultipathStatus(
            start: 0, length: 10, queueIO: false, pgInitCount: 0, hardwareHandlerStatus: [], nextGroup: 1,
            groups: [
                DMGroupStatus(state: .enabled, selectorStatus: [], selectorInfoCount: 2, paths: [
                    DMPathStatus(device: "8:0", failed: false, failCount: 0, selectorInfo: ["0", "1"]),
                    DMPathStatus(device: "8:16", failed: false, failCount: 0, selectorInfo: ["0", "4"]),
                ]),
            ])
        XCTAssertEqual(status, expected)
        XCTAssertEqual(status.render(), "0 10 multipath 2 0 0 0 1 1 E 0 2 2 8:0 A 0 0 1 8:16 A 0 0 4")
        XCTAssertEqual(status.activePathCount, 2)
        XCTAssertNil(status.activeGroupIndex)
    }

    func testFailedPathExample() throws {
        let status = try DMMultipathStatus.parse(Self.failedPath)
        XCTAssertEqual(status.render(), Self.failedPath)
        XCTAssertEqual(status.nextGroup, 2)
        XCTAssertEqual(status.groups.map(\.state), [.enabled, .active])
        XCTAssertEqual(status.groups[0].paths[0],
                       DMPathStatus(device: "8:16", failed: true, failCount: 1, selectorInfo: ["0", "1"]))
        XCTAssertEqual(status.activePathCount, 1)
        XCTAssertEqual(status.activeGroupIndex, 1)
        XCTAssertEqual(status.groups[1].state.groupStatus, .active)
    }

    func testRoundRobinHasNoSelectorInfoAndTrailingSpaceIsAccepted() throws {
        let line = "mpathb: 0 2048 multipath 2 1 3 0 1 1 A 0 2 0 8:16 A 0 8:32 F 7 "
        let status = try DMMultipathStatus.parse(line)
        XCTAssertTrue(status.queueIO)
        XCTAssertEqual(status.pgInitCount, 3)
        XCTAssertEqual(status.groups[0].paths.map(\.selectorInfo), [[], []])
        XCTAssertEqual(status.groups[0].paths[1].failCount, 7)
        XCTAssertEqual(status.render(), "0 2048 multipath 2 1 3 0 1 1 A 0 2 0 8:16 A 0 8:32 F 7")
    }

    func testBareParametersAndNoGroups() throws {
        let status = try DMMultipathStatus.parse("2 0 0 0 0 0")
        XCTAssertEqual(status.groups, [])
        XCTAssertEqual(status.nextGroup, 0)
        XCTAssertEqual(status.render(), "0 0 multipath 2 0 0 0 0 0")
    }

    private func assertError(_ line: String, _ message: String, file: StaticString = #filePath, line number: UInt = #line) {
        XCTAssertThrowsError(try DMMultipathStatus.parse(line), file: file, line: number) { error in
            XCTAssertEqual((error as? DMStatusError)?.message, message, file: file, line: number)
        }
    }

    func testErrorMessages() {
        assertError("0 10 multipath 2 0 0 0 1 1 X 0 1 0 8:16 A 0",
                    "dm status: expected group state A, E or D for group 1, found 'X'")
        assertError("0 10 multipath 2 0 0 0 1 1 A 0 1 0 8:16 Q 0",
                    "dm status: expected path state A or F for 8:16 in group 1, found 'Q'")
        assertError("0 10 multipath 2 0 0 0 1 1 A 0 1 2 8:16 A 0 0",
                    "dm status: path 8:16 in group 1 needs 2 selector info args, found 1")
        assertError("0 10 multipath 2 0 0 0 2 1 A 0 1 0 8:16 A 0 A 0 1 0 8:32 A 0",
                    "dm status: more than one path group is active")
        assertError("0 10 multipath 3 0 0 0 0 0 0",
                    "dm status: expected 2 status feature args (queue_io, pg_init_count), found 3")
        assertError("0 10 multipath 2 2 0 0 0 0", "dm status: queue_io flag must be 0...1, found 2")
        assertError("0 10 multipath 2 0 0 0 2 3 A 0 1 0 8:16 A 0 E 0 1 0 8:32 A 0",
                    "dm status: next path group must be 1...2, found 3")
        assertError("0 10 multipath 2 0 0 0 2 1 A 0 2 0 8:16 A 0 E 0 1 0 8:32 A 0",
                    "dm status: expected 2 paths in group 1, found 1 (near 'E')")
        assertError("0 10 multipath 2 0 0 0 1 1 A 0 1 0 8:16 A x",
                    "dm status: expected fail count for 8:16 in group 1, found 'x'")
        assertError("0 10 multipath 2 0 0 0 1 1 A 0 1 0 8:16",
                    "dm status: expected path state for 8:16 in group 1, found end of line")
        assertError("0 10 multipath 2 0 0 0 1 1 A 0 1 0 8:16 A 0 junk",
                    "dm status: more words after the last of 1 path groups (near 'junk')")
    }
}

final class DMMessageTests: XCTestCase {
    func testTextAndParseRoundTrip() throws {
        let cases: [(DMMessage, String)] = [
            (.failPath("8:16"), "fail_path 8:16"),
            (.reinstatePath("8:32"), "reinstate_path 8:32"),
            (.switchGroup(2), "switch_group 2"),
            (.disableGroup(1), "disable_group 1"),
            (.enableGroup(1), "enable_group 1"),
            (.queueIfNoPath, "queue_if_no_path"),
            (.failIfNoPath, "fail_if_no_path"),
        ]
        for (message, text) in cases {
            XCTAssertEqual(message.text, text)
            XCTAssertEqual(try DMMessage.parse(text), message)
        }
        XCTAssertEqual(try DMMessage.parse("  FAIL_PATH /dev/sdb \n"), .failPath("/dev/sdb"))
    }

    func testParseErrors() {
        let cases: [(String, String)] = [
            ("", "dm message: empty message"),
            ("fail 8:16", "dm message: unknown command 'fail'"),
            ("fail_path", "dm message: 'fail_path' needs exactly one device, found 0 args"),
            ("fail_path 8:16 8:32", "dm message: 'fail_path' needs exactly one device, found 2 args"),
            ("reinstate_path 42", "dm message: '42' is not a device"),
            ("switch_group 0", "dm message: group number must be 1...1024, found '0'"),
            ("enable_group two", "dm message: group number must be 1...1024, found 'two'"),
            ("queue_if_no_path 1", "dm message: 'queue_if_no_path' takes no argument, found 1"),
        ]
        for (text, message) in cases {
            XCTAssertThrowsError(try DMMessage.parse(text)) { error in
                XCTAssertEqual((error as? DMMessageError)?.message, message)
            }
        }
    }

    func testValidateAgainstTable() throws {
        let table = try DMMultipathTable.parse(DMTableTests.noteExamples[0])
        XCTAssertNoThrow(try DMMessage.switchGroup(2).validate(against: table))
        XCTAssertNoThrow(try DMMessage.failPath("8:32").validate(against: table))
        XCTAssertNoThrow(try DMMessage.failIfNoPath.validate(against: table))
        XCTAssertThrowsError(try DMMessage.disableGroup(3).validate(against: table)) { error in
            XCTAssertEqual((error as? DMMessageError)?.message, "dm message: group 3 does not exist (map has 2)")
        }
        XCTAssertThrowsError(try DMMessage.reinstatePath("8:48").validate(against: table)) { error in
            XCTAssertEqual((error as? DMMessageError)?.message, "dm message: device 8:48 is not a path of this map")
        }
    }
}
