import XCTest
@testable import Multipath

final class DMTableBuilderTests: XCTestCase {
    func testReferenceMapLikeAssembleMap() throws {
        let table = try DMTableBuilder.build(MapFixtures.twoGroups)
        // What multipath-tools loads for the measured map (the kernel echoes it back with the
        // service-time throughput added: "1 2 8:0 1 1").
        XCTAssertEqual(table.render(),
                       "0 2097152 multipath 0 0 2 1 service-time 0 1 1 8:0 1 service-time 0 1 1 8:16 1")
    }

    func testNoPathRetryDrivesFeaturesAndActiveGroupIsInitial() throws {
        var map = MapFixtures.twoGroups
        map.groups[0].status = .enabled
        map.groups[1].status = .active
        let policy = DMTablePolicy(noPathRetry: .retries(12), features: ["queue_if_no_path", "pg_init_retries", "50"],
                                   hardwareHandler: ["alua"])
        let table = try DMTableBuilder.build(map, policy: policy)
        XCTAssertEqual(table.render(), "0 2097152 multipath 3 pg_init_retries 50 queue_if_no_path 1 alua 2 2 "
                           + "service-time 0 1 1 8:0 1 service-time 0 1 1 8:16 1")
        let failing = try DMTableBuilder.build(map, policy: DMTablePolicy(features: ["queue_if_no_path"]))
        XCTAssertEqual(failing.features, [])
        XCTAssertEqual(try DMTableBuilder.build(map, initialGroup: 1).initialGroup, 1)
    }

    func testRoundRobinWeightedByPriorityAndEmptyGroupsDropped() throws {
        var p1 = MapFixtures.path("p1", portal: "127.0.0.2:3260", device: "8:0", rtt: nil)
        p1.priority = 50
        var p2 = MapFixtures.path("p2", portal: "127.0.0.3:3260", device: "8:16", rtt: nil)
        p2.priority = 10
        let map = MapFixtures.map([
            PathGroupView(status: .enabled, paths: []),
            PathGroupView(selector: "round-robin 0", status: .active, paths: [p1, p2]),
        ])
        let policy = DMTablePolicy(selector: "round-robin 0", minIO: 2, weightByPriority: true)
        let table = try DMTableBuilder.build(map, policy: policy)
        XCTAssertEqual(table.render(), "0 2097152 multipath 0 0 1 1 round-robin 0 2 1 8:0 100 8:16 20")
    }

    func testBuiltTablesParseBack() throws {
        for noPathRetry in [NoPathRetry.fail, .queue, .retries(5)] {
            let table = try DMTableBuilder.build(MapFixtures.twoGroups, policy: DMTablePolicy(noPathRetry: noPathRetry))
            XCTAssertEqual(try DMMultipathTable.parse(table.render()), table)
            XCTAssertEqual(table.queueIfNoPath, noPathRetry.queuesIO)
        }
    }

    func testErrors() {
        XCTAssertThrowsError(try DMTableBuilder.build(MapFixtures.map([], sizeBytes: 100))) { error in
            XCTAssertEqual((error as? DMTableError)?.message,
                           "dm table: map mpatha has size 100 bytes, less than one sector")
        }
        XCTAssertThrowsError(try DMTableBuilder.build(MapFixtures.twoGroups,
                                                      policy: DMTablePolicy(selector: "service-time 1"))) { error in
            XCTAssertEqual((error as? DMTableError)?.message,
                           "dm table: path selector 'service-time 1' does not count its args correctly")
        }
        var noDevice = MapFixtures.twoGroups
        noDevice.groups[0].paths[0].device = ""
        XCTAssertThrowsError(try DMTableBuilder.build(noDevice)) { error in
            XCTAssertEqual((error as? DMTableError)?.message, "dm table: '' in group 1 is not a single word")
        }
        XCTAssertThrowsError(try DMTableBuilder.build(MapFixtures.twoGroups,
                                                      policy: DMTablePolicy(features: ["bogus"]))) { error in
            XCTAssertEqual((error as? DMTableError)?.message, "dm table: unrecognised multipath feature 'bogus'")
        }
    }
}
