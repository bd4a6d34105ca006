import Foundation
import XCTest
@testable import Multipath

/// Shared fixtures: the reference map (tgt's IET VIRTUAL-DISK behind two portals).
enum MapFixtures {
    static let target = "iqn.2026-11.test:lun1"
    static let wwid = "360000000000000000000a000e0000001"

    static func path(_ name: String, portal: String, device: String, rtt: Int?, dmState: PathDMState = .active,
                     checker: CheckerState = .ready, deviceState: PathDeviceState = .running) -> PathView {
        PathView(id: .byPath(name: name, portal: portal, target: target, lun: 1), device: device, portal: portal,
                 target: target, lun: 1, dmState: dmState, checker: checker, deviceState: deviceState,
                 nopRTTMicros: rtt)
    }

    static func map(_ groups: [PathGroupView], sizeBytes: UInt64 = 1 << 30) -> MapView {
        MapView(name: "mpatha", wwid: wwid, device: "/dev/loop3", vendor: "IET", product: "VIRTUAL-DISK",
                sizeBytes: sizeBytes, groups: groups)
    }

    static var twoGroups: MapView {
        map([
            PathGroupView(status: .active, paths: [path("p1", portal: "127.0.0.2:3260", device: "8:0", rtt: 210)]),
            PathGroupView(status: .enabled, paths: [path("p2", portal: "127.0.0.3:3260", device: "8:16", rtt: 190)]),
        ])
    }
}

final class TopologyTests: XCTestCase {
    func testPathIDByPath() {
        let id = PathID.byPath(name: "p1", portal: "127.0.0.2:3260", target: MapFixtures.target, lun: 1)
        XCTAssertEqual(id.id, "ip-127.0.0.2:3260-iscsi-iqn.2026-11.test:lun1-lun-1")
        XCTAssertEqual(id.description, "p1")
    }

    func testCheckerStrings() {
        XCTAssertEqual(CheckerState.allCases.map(\.rawValue), ["ready", "faulty", "shaky", "ghost", "i/o pending", "undef"])
    }

    func testHealth() {
        var map = MapFixtures.twoGroups
        XCTAssertEqual(map.health, .healthy)
        map.groups[1].paths[0].dmState = .failed
        XCTAssertEqual(map.health, .degraded)
        map.groups[0].paths[0].dmState = .failed
        XCTAssertEqual(map.health, .down)
        XCTAssertEqual(MapFixtures.map([]).health, .down)
    }

    func testExitCodes() {
        let healthy = MapFixtures.twoGroups
        var degraded = healthy
        degraded.groups[0].paths[0].dmState = .failed
        var down = degraded
        down.groups[1].paths[0].dmState = .failed
        XCTAssertEqual(StatusReport.exitCode(for: []), 0)
        XCTAssertEqual(StatusReport.exitCode(for: [healthy, healthy]), 0)
        XCTAssertEqual(StatusReport.exitCode(for: [healthy, degraded]), 1)
        XCTAssertEqual(StatusReport.exitCode(for: [down, healthy]), 2)
        XCTAssertEqual(StatusReport.exitCode(for: [degraded, down]), 2)
        XCTAssertEqual(StatusReport(maps: [degraded]).exitCode, 1)
    }

    func testJSONGolden() throws {
        var map = MapFixtures.twoGroups
        map.groups[0].paths[0].ioCount = 10
        map.groups[0].paths[0].bytes = 40960
        map.groups[1].paths[0] = MapFixtures.path("p2", portal: "127.0.0.3:3260", device: "8:16", rtt: nil,
                                               dmState: .failed, checker: .faulty, deviceState: .offline)
        map.groups[1].paths[0].errors = 3
        map.groups[1].paths[0].failCount = 1
        let json = try StatusReport(maps: [map]).jsonString()
        let expected = #"{"maps":[{"device":"/dev/loop3","features":"0","groups":["#
            + #"{"number":1,"paths":["p1"],"priority":1,"selector":"service-time 0","status":"active"},"#
            + #"{"number":2,"paths":["p2"],"priority":1,"selector":"service-time 0","status":"enabled"}],"#
            + #""hwhandler":"0","name":"mpatha","paths":["#
            + #"{"bytes":40960,"checker":"ready","device":"8:0","device_state":"running","errors":0,"fail_count":0,"#
            + #""group":1,"id":"ip-127.0.0.2:3260-iscsi-iqn.2026-11.test:lun1-lun-1","iface":"default","io_count":10,"#
            + #""lun":1,"name":"p1","nop_rtt_us":210,"portal":"127.0.0.2:3260","priority":1,"state":"active","#
            + #""target":"iqn.2026-11.test:lun1"},"#
            + #"{"bytes":0,"checker":"faulty","device":"8:16","device_state":"offline","errors":3,"fail_count":1,"#
            + #""group":2,"id":"ip-127.0.0.3:3260-iscsi-iqn.2026-11.test:lun1-lun-1","iface":"default","io_count":0,"#
            + #""lun":1,"name":"p2","nop_rtt_us":null,"portal":"127.0.0.3:3260","priority":1,"state":"failed","#
            + #""target":"iqn.2026-11.test:lun1"}],"#
            + #""product":"VIRTUAL-DISK","size_bytes":1073741824,"state":"degraded","vendor":"IET","#
            + #""write_protect":"rw","wwid":"360000000000000000000a000e0000001"}]}"#
        XCTAssertEqual(json, expected)
    }

    func testJSONRoundTrip() throws {
        var map = MapFixtures.twoGroups
        map.groups[1].paths.append(MapFixtures.path("p3", portal: "127.0.0.4:3260", device: "8:32", rtt: nil,
                                                 checker: .pending))
        map.features = "1 queue_if_no_path"
        let report = StatusReport(maps: [map, MapFixtures.map([])])
        let decoded = try StatusReport.decode(try report.jsonData())
        XCTAssertEqual(decoded, report)
    }

    func testJSONRequiredKeysForTheContract() throws {
        let data = try StatusReport(maps: [MapFixtures.twoGroups]).jsonData()
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let maps = try XCTUnwrap(object["maps"] as? [[String: Any]])
        let map = try XCTUnwrap(maps.first)
        for key in ["name", "wwid", "device", "size_bytes", "state", "paths"] {
            XCTAssertNotNil(map[key], key)
        }
        let paths = try XCTUnwrap(map["paths"] as? [[String: Any]])
        XCTAssertEqual(paths.count, 2)
        for key in ["name", "portal", "iface", "target", "lun", "state", "checker", "nop_rtt_us"] {
            XCTAssertNotNil(paths[0][key], key)
        }
    }

    func testJSONDecodingRejectsBadGroupNumber() throws {
        let json = try StatusReport(maps: [MapFixtures.twoGroups]).jsonString()
            .replacingOccurrences(of: #""group":2"#, with: #""group":7"#)
        XCTAssertThrowsError(try StatusReport.decode(Data(json.utf8)))
    }
}

final class MultipathLLTests: XCTestCase {
    func testBriefExample() {
        let expected = """
            mpatha (360000000000000000000a000e0000001) /dev/loop3 IET,VIRTUAL-DISK
            size=1.0G features='0' hwhandler='0' wp=rw
            |-+- policy='service-time 0' prio=1 status=active
            | `- p1 127.0.0.2:3260 default iqn.2026-11.test:lun1 lun 1 active ready running rtt=210us
            `-+- policy='service-time 0' prio=1 status=enabled
              `- p2 127.0.0.3:3260 default iqn.2026-11.test:lun1 lun 1 active ready running rtt=190us

            """
        XCTAssertEqual(MultipathLL.render([MapFixtures.twoGroups]), expected)
    }

    func testTreeCharactersAndColumnPadding() {
        let p1 = MapFixtures.path("p1", portal: "127.0.0.2:3260", device: "8:0", rtt: 210)
        let p10 = MapFixtures.path("p10", portal: "127.0.0.4:3260", device: "8:48", rtt: nil, dmState: .failed,
                                checker: .faulty, deviceState: .offline)
        let p2 = MapFixtures.path("p2", portal: "127.0.0.3:3260", device: "8:16", rtt: 190)
        let p3 = MapFixtures.path("p3", portal: "127.0.0.5:3260", device: "8:32", rtt: 5)
        var map = MapFixtures.map([
            PathGroupView(priority: 50, status: .active, paths: [p1, p10]),
            PathGroupView(priority: 10, status: .enabled, paths: [p2]),
            PathGroupView(priority: 10, status: .disabled, paths: [p3, p2]),
        ], sizeBytes: 10 << 30)
        map.features = "1 queue_if_no_path"
        map.hwhandler = "1 alua"
        let expected = """
            mpatha (360000000000000000000a000e0000001) /dev/loop3 IET,VIRTUAL-DISK
            size=10G features='1 queue_if_no_path' hwhandler='1 alua' wp=rw
            |-+- policy='service-time 0' prio=50 status=active
            | |- p1  127.0.0.2:3260 default iqn.2026-11.test:lun1 lun 1 active ready  running rtt=210us
            | `- p10 127.0.0.4:3260 default iqn.2026-11.test:lun1 lun 1 failed faulty offline rtt=-
            |-+- policy='service-time 0' prio=10 status=enabled
            | `- p2  127.0.0.3:3260 default iqn.2026-11.test:lun1 lun 1 active ready  running rtt=190us
            `-+- policy='service-time 0' prio=10 status=disabled
              |- p3  127.0.0.5:3260 default iqn.2026-11.test:lun1 lun 1 active ready  running rtt=5us
              `- p2  127.0.0.3:3260 default iqn.2026-11.test:lun1 lun 1 active ready  running rtt=190us

            """
        XCTAssertEqual(MultipathLL.render([map]), expected)
    }

    func testHeaderWithoutAliasAndMapWithoutGroups() {
        var map = MapFixtures.map([], sizeBytes: 512 << 20)
        map.name = MapFixtures.wwid
        map.device = "-"
        XCTAssertEqual(MultipathLL.render([map]), """
            360000000000000000000a000e0000001 - IET,VIRTUAL-DISK
            size=512M features='0' hwhandler='0' wp=rw

            """)
        XCTAssertEqual(MultipathLL.render([]), "")
    }

    func testSeveralMapsShareColumnWidths() {
        var second = MapFixtures.map([PathGroupView(status: .active, paths: [
            MapFixtures.path("p100", portal: "10.0.0.1:3260", device: "8:64", rtt: 1),
        ])])
        second.name = "mpathb"
        let text = MultipathLL.render([MapFixtures.twoGroups, second])
        XCTAssertTrue(text.contains("| `- p1   127.0.0.2:3260 default"), text)
        XCTAssertTrue(text.contains("  `- p100 10.0.0.1:3260  default"), text)
        XCTAssertTrue(text.contains("\nmpathb (360000000000000000000a000e0000001) /dev/loop3"), text)
    }

    func testSizeFormatLikeSnprintSize() {
        let gib: UInt64 = 1 << 30
        XCTAssertEqual(MultipathLL.formatSize(sectors: 2097152), "1.0G")
        XCTAssertEqual(MultipathLL.formatSize(sectors: 4194304), "2.0G")
        XCTAssertEqual(MultipathLL.formatSize(sectors: 3145728), "1.5G")
        XCTAssertEqual(MultipathLL.formatSize(bytes: 10 * gib), "10G")
        XCTAssertEqual(MultipathLL.formatSize(bytes: 512 << 20), "512M")
        XCTAssertEqual(MultipathLL.formatSize(bytes: 5 * gib * 512), "2.5T")
        XCTAssertEqual(MultipathLL.formatSize(bytes: 1 << 20), "1.0M")
        XCTAssertEqual(MultipathLL.formatSize(bytes: 0), "0.0K")
        XCTAssertEqual(MultipathLL.formatSize(bytes: 1 << 60), "1024P")
        // 9.97 GiB is below 10, so it gets a decimal, which rounds up to "10.0".
        XCTAssertEqual(MultipathLL.formatSize(bytes: 10_705_162_158), "10.0G")
        // 1048575 KiB stays in M (< 1024) and prints without a decimal.
        XCTAssertEqual(MultipathLL.formatSize(bytes: 1_048_575 * 1024), "1024M")
        XCTAssertEqual(MultipathLL.formatSize(bytes: 15 * gib / 10), "1.5G")
    }
}
