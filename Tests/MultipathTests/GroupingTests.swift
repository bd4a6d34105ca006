import XCTest
@testable import Multipath

final class GroupingTests: XCTestCase {
    /// Two ALUA-optimized paths, one non-optimized, one non-optimized that is down.
    let paths = [
        GroupingPath(priority: 50),
        GroupingPath(priority: 10),
        GroupingPath(priority: 50),
        GroupingPath(priority: 10, usable: false),
    ]

    func testFailoverOnePathPerGroupBestFirst() {
        let groups = PathGroupingPolicy.failover.group(paths)
        XCTAssertEqual(groups.map(\.members), [[0], [2], [1], [3]])
        XCTAssertEqual(groups.map(\.priority), [50, 50, 10, 0])
        XCTAssertEqual(groups.map(\.enabledPaths), [1, 1, 1, 0])
    }

    func testFailoverWithConstPriorityKeepsPathOrder() {
        let groups = PathGroupingPolicy.failover.group(Array(repeating: GroupingPath(priority: 1), count: 3))
        XCTAssertEqual(groups.map(\.members), [[0], [1], [2]])
    }

    func testMultibusOneGroupWithMeanPriority() {
        let groups = PathGroupingPolicy.multibus.group(paths)
        XCTAssertEqual(groups, [PathGrouping(members: [0, 1, 2, 3], priority: 36, enabledPaths: 3)])
    }

    func testGroupByPrio() {
        let groups = PathGroupingPolicy.groupByPrio.group(paths)
        XCTAssertEqual(groups.map(\.members), [[0, 2], [1, 3]])
        XCTAssertEqual(groups.map(\.priority), [50, 10])
        XCTAssertEqual(groups.map(\.enabledPaths), [2, 1])
        // A higher priority that appears later still sorts first.
        let reordered = PathGroupingPolicy.groupByPrio.group([
            GroupingPath(priority: 1), GroupingPath(priority: 130), GroupingPath(priority: 1),
        ])
        XCTAssertEqual(reordered.map(\.members), [[1], [0, 2]])
    }

    func testGroupPriorityRules() {
        XCTAssertEqual(PathGrouping.priority(of: [GroupingPath(priority: 50), GroupingPath(priority: 11)]).priority, 30)
        XCTAssertEqual(PathGrouping.priority(of: [GroupingPath(priority: 50, usable: false)]).priority, 0)
        // Undefined priorities are left out of the mean, unless no path has one.
        XCTAssertEqual(PathGrouping.priority(of: [GroupingPath(priority: 50),
                                                  GroupingPath(priority: PathPriority.undefined)]).priority, 50)
        let undefined = PathGrouping.priority(of: [GroupingPath(priority: PathPriority.undefined)])
        XCTAssertEqual(undefined.priority, PathPriority.undefined)
        XCTAssertEqual(undefined.enabledPaths, 1)
        XCTAssertEqual(PathGrouping.priority(of: [GroupingPath]()).priority, 0)
    }

    func testMarginalPathsGetTheirOwnGroupsAfterHealthyOnes() {
        let input = [
            GroupingPath(priority: 50, marginal: true),
            GroupingPath(priority: 10),
            GroupingPath(priority: 50),
        ]
        let groups = PathGroupingPolicy.groupByPrio.group(input, marginalPathGroups: true)
        XCTAssertEqual(groups.map(\.members), [[2], [1], [0]])
        XCTAssertEqual(groups.map(\.marginal), [false, false, true])
        // Without the option marginal paths group with their priority peers.
        XCTAssertEqual(PathGroupingPolicy.groupByPrio.group(input).map(\.members), [[0, 2], [1]])
        // All paths marginal: grouped normally.
        let allMarginal = PathGroupingPolicy.multibus.group([GroupingPath(priority: 1, marginal: true)],
                                                            marginalPathGroups: true)
        XCTAssertEqual(allMarginal.map(\.members), [[0]])
    }

    func testPolicyParsing() throws {
        XCTAssertEqual(try PathGroupingPolicy(parsing: "group_by_prio"), .groupByPrio)
        XCTAssertEqual(try PathGroupingPolicy(parsing: "failover"), .failover)
        XCTAssertThrowsError(try PathGroupingPolicy(parsing: "group_by_serial")) { error in
            XCTAssertEqual((error as? MultipathPolicyError)?.message,
                           "path_grouping_policy: unknown policy 'group_by_serial', expected failover, multibus or group_by_prio")
        }
        XCTAssertEqual(PathGroupingPolicy.failover.group([]), [])
    }
}

final class PrioritizerTests: XCTestCase {
    func testALUAValues() {
        let alua = ALUAPrioritizer()
        let table: [(ALUAAccessState?, Bool, Int)] = [
            (.activeOptimized, false, 50), (.activeOptimized, true, 50),
            (.activeNonOptimized, false, 10), (.activeNonOptimized, true, 90),
            (.lbaDependent, false, 5), (.standby, false, 1), (.standby, true, 81),
            (.unavailable, false, 0), (.offline, false, 0), (.transitioning, false, 0), (.transitioning, true, 80),
            (nil, false, PathPriority.undefined),
        ]
        for (state, preferred, expected) in table {
            XCTAssertEqual(alua.priority(for: PathPriorityInput(aluaState: state, preferred: preferred)), expected,
                           "\(String(describing: state)) preferred=\(preferred)")
        }
        let exclusive = ALUAPrioritizer(exclusivePreferredBit: true)
        XCTAssertEqual(exclusive.priority(for: PathPriorityInput(aluaState: .activeOptimized, preferred: true)), 130)
        XCTAssertEqual(ConstPrioritizer().priority(for: PathPriorityInput(aluaState: .standby)), 1)
    }

    func testMakePrioritizer() throws {
        XCTAssertEqual(try makePrioritizer("const").name, "const")
        let alua = try makePrioritizer("alua", args: "exclusive_pref_bit")
        XCTAssertEqual(alua.priority(for: PathPriorityInput(aluaState: .activeOptimized, preferred: true)), 130)
        XCTAssertThrowsError(try makePrioritizer("emc")) { error in
            XCTAssertEqual((error as? PrioritizerError)?.message, "prio: unknown prioritizer 'emc', expected const or alua")
        }
        XCTAssertThrowsError(try makePrioritizer("alua", args: "pref")) { error in
            XCTAssertEqual((error as? PrioritizerError)?.message, "prio alua: unknown argument 'pref'")
        }
    }
}

final class GroupSelectorTests: XCTestCase {
    func testStaysInCurrentGroupWhileUsable() {
        var usable: Set<Int> = [0, 1]
        var selector = GroupSelector(groupCount: 2, initialGroup: 1)
        XCTAssertEqual(selector.choose { usable.contains($0) }, 1)
        XCTAssertEqual(selector.state(of: 1), .active)
        XCTAssertEqual(selector.state(of: 0), .enabled)
        usable.remove(1)
        XCTAssertEqual(selector.choose { usable.contains($0) }, 0)
        // Group 1 comes back: dm-mpath never leaves a group that still works.
        usable.insert(1)
        XCTAssertEqual(selector.choose { usable.contains($0) }, 0)
        usable.removeAll()
        XCTAssertNil(selector.choose { usable.contains($0) })
        XCTAssertNil(selector.currentGroup)
    }

    func testBypassedGroupsAreLastResort() {
        var selector = GroupSelector(groupCount: 3)
        XCTAssertEqual(selector.choose { _ in true }, 0)
        XCTAssertTrue(selector.setBypassed(0, true))
        XCTAssertEqual(selector.state(of: 0), .disabled)
        XCTAssertEqual(selector.choose { _ in true }, 1)
        XCTAssertTrue(selector.setBypassed(1, true))
        XCTAssertTrue(selector.setBypassed(2, true))
        XCTAssertEqual(selector.choose { $0 == 2 }, 2)
        XCTAssertFalse(selector.setBypassed(3, true))
    }

    func testSwitchGroupClearsBypassAndTakesEffectNextChoice() {
        var selector = GroupSelector(groupCount: 3)
        XCTAssertEqual(selector.choose { _ in true }, 0)
        selector.setBypassed(2, true)
        XCTAssertTrue(selector.switchGroup(2))
        XCTAssertEqual(selector.bypassed, [false, false, false])
        XCTAssertEqual(selector.choose { _ in true }, 2)
        // A requested group without usable paths is skipped.
        XCTAssertTrue(selector.switchGroup(1))
        XCTAssertEqual(selector.choose { $0 != 1 }, 0)
        XCTAssertFalse(selector.switchGroup(-1))
    }

    func testBestGroupLikeSelectPathGroup() {
        func group(_ priority: Int, _ enabled: Int, marginal: Bool = false) -> PathGrouping {
            PathGrouping(members: [0], priority: priority, enabledPaths: enabled, marginal: marginal)
        }
        XCTAssertEqual(GroupSelector.bestGroup([group(10, 1), group(50, 1)]), 1)
        XCTAssertEqual(GroupSelector.bestGroup([group(50, 1), group(50, 2)]), 1)
        XCTAssertEqual(GroupSelector.bestGroup([group(50, 2), group(50, 2)]), 0)
        XCTAssertEqual(GroupSelector.bestGroup([group(50, 0), group(10, 1)]), 1)
        XCTAssertEqual(GroupSelector.bestGroup([group(50, 0), group(10, 0)]), 0)
        XCTAssertEqual(GroupSelector.bestGroup([group(90, 1, marginal: true), group(10, 1)]), 1)
        XCTAssertEqual(GroupSelector.bestGroup([]), 0)
    }
}
