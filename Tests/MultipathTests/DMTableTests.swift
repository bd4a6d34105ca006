import XCTest
@testable import Multipath

final class DMTableTests: XCTestCase {
    /// The five tables of reference-systems.md §3.1.
    static let noteExamples = [
        "0 20971520 multipath 1 queue_if_no_path 1 alua 2 1 service-time 0 1 1 8:16 1 service-time 0 1 1 8:32 1",
        "0 20971520 multipath 0 0 1 1 round-robin 0 2 1 8:16 1 8:32 1",
        "0 10 multipath 0 0 1 1 queue-length 0 2 1 8:0 128 8:16 128",
        "0 10 multipath 0 0 1 1 service-time 0 2 2 8:0 128 1 8:16 128 4",
        "0 20971520 multipath 2 queue_if_no_path retain_attached_hw_handler 1 emc 1 1 service-time 0 1 1 8:16 1",
    ]

    /// `dmsetup table` output measured on the reference stack (reference-stack-measured.md §2),
    /// verbatim including the name prefix and the trailing space.
    static let measured = [
        "mpatha: 0 2097152 multipath 0 0 2 1 service-time 0 1 2 8:0 1 1 service-time 0 1 2 8:16 1 1 ",
        "mpatha: 0 4194304 multipath 1 queue_if_no_path 0 2 1 service-time 0 1 2 8:0 1 1 service-time 0 1 2 8:16 1 1 ",
    ]

    func testNoteExamplesRoundTripByteForByte() throws {
        for line in Self.noteExamples {
            let table = try DMMultipathTable.parse(line)
            XCTAssertEqual(table.render(), line)
            XCTAssertEqual(try DMMultipathTable.parse(table.render()), table)
            XCTAssertNoThrow(try table.validate())
        }
    }

    func testMeasuredTablesRoundTripWithoutNameAndTrailingSpace() throws {
        let expected = [
            "0 2097152 multipath 0 0 2 1 service-time 0 1 2 8:0 1 1 service-time 0 1 2 8:16 1 1",
            "0 4194304 multipath 1 queue_if_no_path 0 2 1 service-time 0 1 2 8:0 1 1 service-time 0 1 2 8:16 1 1",
        ]
        for (line, rendered) in zip(Self.measured, expected) {
            let table = try DMMultipathTable.parse(line)
            XCTAssertEqual(table.render(), rendered)
        }
        let queued = try DMMultipathTable.parse(Self.measured[1])
        XCTAssertTrue(queued.queueIfNoPath)
        XCTAssertEqual(queued.length, 4194304)
        XCTAssertEqual(queued.groups.map(\.paths), [[DMPath(device: "8:0", args: ["1", "1"])],
                                                     [DMPath(device: "8:16", args: ["1", "1"])]])
        XCTAssertFalse(try DMMultipathTable.parse(Self.measured[0]).queueIfNoPath)
    }

    func testFailoverExampleModel() throws {
        let table = try DMMultipathTable.parse(Self.noteExamples[0])
        let expected = DMMultipathTable(
            start: 0, length: 20971520, features: ["queue_if_no_path"], hardwareHandler: ["alua"], initialGroup: 1,
            groups: [
                DMPathGroup(selector: "service-time", selectorArgs: [], pathArgCount: 1,
                            paths: [DMPath(device: "8:16", args: ["1"])]),
                DMPathGroup(selector: "service-time", selectorArgs: [], pathArgCount: 1,
                            paths: [DMPath(device: "8:32", args: ["1"])]),
            ])
        XCTAssertEqual(table, expected)
        XCTAssertEqual(table.parameters,
                       "1 queue_if_no_path 1 alua 2 1 service-time 0 1 1 8:16 1 service-time 0 1 1 8:32 1")
    }

    func testServiceTimeThroughputArgs() throws {
        let table = try DMMultipathTable.parse(Self.noteExamples[3])
        XCTAssertEqual(table.groups[0].pathArgCount, 2)
        XCTAssertEqual(table.groups[0].paths[1], DMPath(device: "8:16", args: ["128", "4"]))
    }

    func testBareParametersParseWithZeroStartAndLength() throws {
        let table = try DMMultipathTable.parse("0 0 1 1 round-robin 0 2 1 8:16 1 8:32 1")
        XCTAssertEqual(table.start, 0)
        XCTAssertEqual(table.length, 0)
        XCTAssertEqual(table.groups.first?.paths.count, 2)
        // Feature words that look like a prefix are not mistaken for one.
        let features = try DMMultipathTable.parse(
            "2 queue_if_no_path retain_attached_hw_handler 1 emc 1 1 service-time 0 1 1 8:16 1")
        XCTAssertEqual(features.features, ["queue_if_no_path", "retain_attached_hw_handler"])
        XCTAssertEqual(features.hardwareHandler, ["emc"])
        let alua = try DMMultipathTable.parse("0 1 alua 1 1 service-time 0 1 1 8:16 1")
        XCTAssertEqual(alua.hardwareHandler, ["alua"])
    }

    func testNoGroupsTable() throws {
        let table = try DMMultipathTable.parse("0 2048 multipath 0 0 0 0")
        XCTAssertEqual(table.groups, [])
        XCTAssertEqual(table.initialGroup, 0)
        XCTAssertEqual(table.render(), "0 2048 multipath 0 0 0 0")
    }

    func testFeaturesWithValues() throws {
        let line = "0 8 multipath 5 pg_init_retries 50 pg_init_delay_msecs 2500 queue_if_no_path 0 1 1 round-robin 0 1 0 8:16"
        let table = try DMMultipathTable.parse(line)
        XCTAssertEqual(table.features, ["pg_init_retries", "50", "pg_init_delay_msecs", "2500", "queue_if_no_path"])
        XCTAssertEqual(table.render(), line)
        XCTAssertEqual(try DMMultipathTable.parse("0 8 multipath 2 queue_mode bio 0 0 0").features, ["queue_mode", "bio"])
    }

    func testDevicePathsAndPathIDs() throws {
        let line = "0 8 multipath 0 0 1 1 round-robin 0 2 1 /dev/sdb 1 ip-127.0.0.2:3260-iscsi-iqn.2026-11.test:lun1-lun-1 1"
        let table = try DMMultipathTable.parse(line)
        XCTAssertEqual(table.groups[0].paths.map(\.device),
                       ["/dev/sdb", "ip-127.0.0.2:3260-iscsi-iqn.2026-11.test:lun1-lun-1"])
        XCTAssertEqual(table.render(), line)
    }

    private func assertError(_ line: String, _ message: String, file: StaticString = #filePath, line number: UInt = #line) {
        XCTAssertThrowsError(try DMMultipathTable.parse(line), file: file, line: number) { error in
            XCTAssertEqual((error as? DMTableError)?.message, message, file: file, line: number)
        }
    }

    func testErrorMessages() {
        assertError("0 10 multipath 0 0 2 1 round-robin 0 2 1 8:16 1 round-robin 0 1 1 8:32 1",
                    "dm table: expected 2 paths in group 1, found 1 (near 'round-robin')")
        assertError("0 10 multipath 0 0 1 1 round-robin 0 2 1 8:16 1",
                    "dm table: expected 2 paths in group 1, found 1 (at end of line)")
        assertError("0 10 multipath 9 a b c d e f g h i 0 0 0",
                    "dm table: number of feature args must be 0...8, found 9")
        assertError("0 10 multipath 0 0 1 0 round-robin 0 1 1 8:16 1",
                    "dm table: initial path group must be 1...1, found 0")
        assertError("0 10 multipath 0 0 2 3 round-robin 0 1 1 8:16 1 round-robin 0 1 1 8:32 1",
                    "dm table: initial path group must be 1...2, found 3")
        assertError("0 10 multipath 0 0 0 1",
                    "dm table: initial path group 1 given but there are no path groups")
        assertError("0 10 multipath 0 0 2 1 round-robin 0 1 1 8:16 1",
                    "dm table: expected 2 path groups, found 1")
        assertError("0 10 multipath 0 0 1 1 round-robin 0 1 1 8:16 1 8:32 1",
                    "dm table: more words after the last of 1 path groups (near '8:32')")
        assertError("0 10 multipath 0 0 1 1 service-time 0 1 2 8:16 1",
                    "dm table: path 8:16 in group 1 needs 2 args, found 1")
        assertError("0 10 multipath 1 queue_if_no_paths 0 0 0",
                    "dm table: unrecognised multipath feature 'queue_if_no_paths'")
        assertError("0 10 multipath 2 pg_init_retries 51 0 0 0",
                    "dm table: pg_init_retries must be between 1 and 50, found '51'")
        assertError("0 10 multipath 1 pg_init_retries 0 0 0",
                    "dm table: feature 'pg_init_retries' needs a value")
        assertError("0 10 multipath 2 queue_mode fast 0 0 0",
                    "dm table: unknown queue_mode 'fast', expected bio, rq or mq")
        assertError("0 10 multipath x", "dm table: expected number of feature args, found 'x'")
        assertError("0 10 multipath 3 queue_if_no_path", "dm table: expected 3 feature args, found 1")
        assertError("0 10 multipath 99999999999999999999999 0",
                    "dm table: expected number of feature args, found '99999999999999999999999'")
        assertError("0 10 multipath -1 0 0 0", "dm table: expected number of feature args, found '-1'")
        assertError("0 100 linear 8:0 0", "dm table: target type is 'linear', expected 'multipath'")
        assertError("", "dm table: expected number of feature args, found end of line")
        assertError("0 10 multipath 0 0 1 1 5 0 1 1 8:16 1",
                    "dm table: expected path selector name for group 1, found '5'")
        assertError("0 10 multipath 0 0 1 1 round-robin 0 0 1",
                    "dm table: number of paths in group 1 must be 1...1024, found 0")
        assertError("0 10 multipath 0 0 1 1 round-robin 0 1 2 8:16 1 1",
                    "dm table: round-robin path 8:16 in group 1 takes at most 1 args, found 2")
        assertError("0 10 multipath 0 0 1 1 service-time 0 1 2 8:16 1 101",
                    "dm table: invalid relative_throughput '101' for path 8:16 in group 1, expected 0...100")
        assertError("0 10 multipath 0 0 1 1 queue-length 0 1 1 8:16 x",
                    "dm table: invalid repeat count 'x' for path 8:16 in group 1")
        assertError("0 10 multipath 0 0 0 0\n0 10 multipath 0 0 0 0", "dm table: expected one table line, found several")
        assertError("0 10 multipath 0 0 1 1 round-robin 2 a",
                    "dm table: expected 2 selector args in group 1, found 1")
        assertError("0 10 multipath 0 0 1 1025", "dm table: initial path group must be 0...1024, found 1025")
    }

    func testLongGarbageWordIsShortenedInMessage() {
        let garbage = String(repeating: "9", count: 100)
        assertError("0 10 multipath 0 0 1 1 round-robin 0 2 1 8:16 1 \(garbage) 1",
                    "dm table: expected 2 paths in group 1, found 1 (near '\(String(repeating: "9", count: 40))…')")
    }

    func testValidateCatchesInconsistentModels() {
        var table = DMMultipathTable(length: 8, groups: [
            DMPathGroup(selector: "round-robin", pathArgCount: 1, paths: [DMPath(device: "8:16", args: [])]),
        ])
        XCTAssertThrowsError(try table.validate()) { error in
            XCTAssertEqual((error as? DMTableError)?.message,
                           "dm table: path 8:16 in group 1 has 0 args, group declares 1")
        }
        table.groups[0] = DMPathGroup(selector: "round-robin", paths: [DMPath(device: "8 16")])
        XCTAssertThrowsError(try table.validate()) { error in
            XCTAssertEqual((error as? DMTableError)?.message, "dm table: '8 16' in group 1 is not a single word")
        }
        table.groups[0] = DMPathGroup(selector: "round-robin", paths: [DMPath(device: "8:16")])
        table.initialGroup = 2
        XCTAssertThrowsError(try table.validate()) { error in
            XCTAssertEqual((error as? DMTableError)?.message, "dm table: initial path group must be 1...1, found 2")
        }
        table.initialGroup = 1
        XCTAssertNoThrow(try table.validate())
        XCTAssertEqual(table.render(), "0 8 multipath 0 0 1 1 round-robin 0 1 0 8:16")
    }

    func testDefaultInitialGroup() {
        XCTAssertEqual(DMMultipathTable(length: 1, groups: []).initialGroup, 0)
        XCTAssertEqual(DMMultipathTable(length: 1, groups: [DMPathGroup(paths: [DMPath(device: "8:0")])]).initialGroup, 1)
    }
}
