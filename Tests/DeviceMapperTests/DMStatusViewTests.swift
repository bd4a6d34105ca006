import DeviceMapper
import Multipath
import XCTest

final class DMStatusViewTests: XCTestCase {
    private let target = "iqn.2026-11.test:lun1"
    private let wwid = "360000000000000000000a000e0000001"

    private func metadata(_ name: String, _ portal: String, checker: CheckerState? = nil,
                          rtt: Int? = nil) -> DMStatusView.PathMetadata {
        DMStatusView.PathMetadata(id: .byPath(name: name, portal: portal, target: target, lun: 1), portal: portal,
                                  target: target, lun: 1, checker: checker, deviceState: .running, nopRTTMicros: rtt)
    }

    /// Failover map, first path failed once, IO moved to group 2.
    func testFailedPathReadsLikeMpathctlStatus() throws {
        let table = try DMMultipathTable.parse(
            "0 2097152 multipath 1 queue_if_no_path 0 2 1 service-time 0 1 1 7:4 1 service-time 0 1 1 7:5 1")
        let status = try DMMultipathStatus.parse("0 2097152 multipath 2 0 0 0 2 2 E 0 1 2 7:4 F 1 0 1 A 0 1 2 7:5 A 0 0 1")
        let view = try DMStatusView.mapView(
            name: "mpatha", wwid: DMClient.wwid(fromUUID: DMClient.uuid(forWWID: wwid)) ?? "", device: "dm-0",
            vendor: "IET", product: "VIRTUAL-DISK", status: status, table: table,
            paths: ["7:4": metadata("p1", "127.0.0.2:3260"), "7:5": metadata("p2", "127.0.0.3:3260", rtt: 190)])

        XCTAssertEqual(MultipathLL.render([view]), """
            mpatha (360000000000000000000a000e0000001) dm-0 IET,VIRTUAL-DISK
            size=1.0G features='1 queue_if_no_path' hwhandler='0' wp=rw
            |-+- policy='service-time 0' prio=0 status=enabled
            | `- p1 127.0.0.2:3260 default iqn.2026-11.test:lun1 lun 1 failed faulty running rtt=-
            `-+- policy='service-time 0' prio=1 status=active
              `- p2 127.0.0.3:3260 default iqn.2026-11.test:lun1 lun 1 active ready  running rtt=190us

            """)
        XCTAssertEqual(view.health, .degraded)
        XCTAssertEqual(view.paths.map(\.failCount), [1, 0])
        XCTAssertEqual(view.paths.map(\.dmState), [.failed, .active])
        XCTAssertEqual(view.paths.map(\.device), ["7:4", "7:5"])
        XCTAssertEqual(view.sizeBytes, 1 << 30)
    }

    func testMultibusWithDisabledGroupAndUnknownPath() throws {
        let table = try DMMultipathTable.parse(
            "0 20971520 multipath 0 1 alua 2 2 round-robin 0 2 1 8:16 1 8:32 1 round-robin 0 1 1 8:48 1")
        let status = try DMMultipathStatus.parse(
            "0 20971520 multipath 2 0 0 0 2 2 D 0 2 0 8:16 F 3 8:32 F 2 A 0 1 0 8:48 A 0")
        let view = try DMStatusView.mapView(
            name: "mpathb", wwid: "36001405abcdef", device: "/dev/mapper/mpathb", readOnly: true, status: status,
            table: table,
            paths: ["8:16": metadata("p1", "127.0.0.2:3260", checker: .ghost), "8:32": metadata("p2", "127.0.0.3:3260")])

        XCTAssertEqual(view.features, "0")
        XCTAssertEqual(view.hwhandler, "1 alua")
        XCTAssertEqual(view.writeProtect, "ro")
        XCTAssertEqual(view.groups.map(\.status), [.disabled, .active])
        XCTAssertEqual(view.groups.map(\.selector), ["round-robin 0", "round-robin 0"])
        XCTAssertEqual(view.groups.map(\.priority), [0, PathPriority.undefined])
        XCTAssertEqual(view.paths.map(\.checker), [.ghost, .faulty, .ready])
        XCTAssertEqual(view.paths.map(\.failCount), [3, 2, 0])
        let unknown = try XCTUnwrap(view.paths.last)
        XCTAssertEqual(unknown.name, "8:48")
        XCTAssertEqual(unknown.portal, "-")
        XCTAssertEqual(unknown.target, "-")
        XCTAssertEqual(unknown.deviceState, .undef)
        XCTAssertEqual(view.health, .degraded)
    }

    func testMismatchedStatusAndTable() throws {
        let table = try DMMultipathTable.parse("0 10 multipath 0 0 1 1 round-robin 0 2 1 8:16 1 8:32 1")
        let twoGroups = try DMMultipathStatus.parse("0 10 multipath 2 0 0 0 2 1 A 0 1 0 8:16 A 0 E 0 1 0 8:32 A 0")
        XCTAssertThrowsError(try DMStatusView.mapView(name: "m", wwid: "w", device: "dm-1", status: twoGroups,
                                                      table: table, paths: [:])) { error in
            XCTAssertEqual((error as? DeviceMapperError)?.message, "dm status m: status has 2 path groups, table has 1")
        }
        let otherPaths = try DMMultipathStatus.parse("0 10 multipath 2 0 0 0 1 1 A 0 2 0 8:16 A 0 8:48 A 0")
        XCTAssertThrowsError(try DMStatusView.mapView(name: "m", wwid: "w", device: "dm-1", status: otherPaths,
                                                      table: table, paths: [:])) { error in
            XCTAssertEqual((error as? DeviceMapperError)?.message,
                           "dm status m: group 1 lists paths 8:16 8:48 in status but 8:16 8:32 in the table")
        }
    }

    func testUUIDHelpers() {
        XCTAssertEqual(DMClient.uuid(forWWID: "3600a"), "mpath-3600a")
        XCTAssertEqual(DMClient.wwid(fromUUID: "mpath-3600a"), "3600a")
        XCTAssertNil(DMClient.wwid(fromUUID: "mpath-"))
        XCTAssertNil(DMClient.wwid(fromUUID: "LVM-abc"))
    }
}

final class DMMessageTextTests: XCTestCase {
    /// The exact words `dmsetup message <map> 0 "<text>"` would send.
    func testEveryMessage() {
        let expected: [(DMMessage, String)] = [
            (.failPath("8:16"), "fail_path 8:16"),
            (.reinstatePath("8:16"), "reinstate_path 8:16"),
            (.switchGroup(2), "switch_group 2"),
            (.disableGroup(1), "disable_group 1"),
            (.enableGroup(1), "enable_group 1"),
            (.queueIfNoPath, "queue_if_no_path"),
            (.failIfNoPath, "fail_if_no_path"),
        ]
        for (message, text) in expected {
            XCTAssertEqual(message.text, text)
            XCTAssertEqual(try DMMessage.parse(text), message)
        }
    }
}

final class UdevEventTests: XCTestCase {
    func testActionsAndProperties() {
        XCTAssertEqual(UdevEvent.Action("add"), .add)
        XCTAssertEqual(UdevEvent.Action("change"), .change)
        XCTAssertEqual(UdevEvent.Action("remove"), .remove)
        XCTAssertEqual(UdevEvent.Action("move"), .other("move"))
        XCTAssertEqual(UdevEvent.Action("online").description, "online")

        let resize = UdevEvent(action: .change, devnode: "/dev/sdb", devnum: DeviceNumber(major: 8, minor: 16),
                               sysname: "sdb", properties: ["RESIZE": "1", "DEVTYPE": "disk"])
        XCTAssertTrue(resize.isResize)
        XCTAssertFalse(resize.isMultipathMap)
        XCTAssertNil(resize.dmUUID)

        let map = UdevEvent(action: .change, devnode: "/dev/dm-0", properties: ["DM_UUID": "mpath-3600a", "RESIZE": "0"])
        XCTAssertFalse(map.isResize)
        XCTAssertTrue(map.isMultipathMap)
        XCTAssertEqual(map.dmUUID, "mpath-3600a")
        XCTAssertFalse(UdevEvent(action: .add, properties: ["DM_UUID": "LVM-x"]).isMultipathMap)
    }
}
