import DeviceMapper
import Foundation
import Multipath
import XCTest

final class DeviceNumberTests: XCTestCase {
    func testGlibcEncoding() {
        XCTAssertEqual(DeviceNumber(major: 7, minor: 3).rawValue, 0x703)
        XCTAssertEqual(DeviceNumber(major: 8, minor: 16).rawValue, 0x810)
        // Minor above 255 and major above 4095 use the high bits.
        XCTAssertEqual(DeviceNumber(major: 259, minor: 300).rawValue, 0x11_032c)
        XCTAssertEqual(DeviceNumber(major: 0x1234, minor: 0x56789).rawValue, 0x0000_1000_5672_3489)
        XCTAssertEqual(DeviceNumber(rawValue: 0x0000_1000_5672_3489), DeviceNumber(major: 0x1234, minor: 0x56789))
        XCTAssertEqual(DeviceNumber(rawValue: 0x11_032c).description, "259:300")
        XCTAssertEqual(DeviceNumber(rawValue: 0x703).description, "7:3")
    }

    func testMatchesTheKernelThroughMknod() throws {
        let dir = try makeTemporaryDirectory("devnum")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let node = dir + "/blk"
        let number = DeviceNumber(major: 259, minor: 70_000)
        XCTAssertEqual(mknod(node, S_IFBLK | 0o600, dev_t(number.rawValue)), 0,
                       "mknod needs root: \(String(cString: strerror(errno)))")
        XCTAssertEqual(try PathDeviceTable.majorMinor(ofBlockDevice: node), "259:70000")
    }
}

final class PathDeviceTableTests: XCTestCase {
    private let target = "iqn.2026-11.test:lun1"
    private let nodes = ["p1": "/dev/loop4", "p2": "/dev/loop5", "p3": "/dev/loop6"]
    private let numbers = ["/dev/loop4": "7:4", "/dev/loop5": "7:5", "/dev/loop6": "7:6"]

    private func resolve(_ node: String) throws -> String {
        guard let number = numbers[node] else { throw DeviceMapperError(kind: .invalidArgument, operation: "path device",
                                                                        map: nil, message: "unknown \(node)") }
        return number
    }

    private func path(_ name: String, portal: String, priority: Int = 1) -> PathView {
        PathView(id: .byPath(name: name, portal: portal, target: target, lun: 1), device: "ip-\(portal)",
                 portal: portal, target: target, lun: 1, priority: priority)
    }

    /// Groups `paths` with a multipath.conf grouping policy, the first group active.
    private func map(_ paths: [PathView], policy: PathGroupingPolicy, selector: String = "service-time 0") -> MapView {
        let groups = policy.group(paths.map { GroupingPath(priority: $0.priority) })
        let views = groups.enumerated().map { index, group in
            PathGroupView(selector: selector, priority: group.priority, status: index == 0 ? .active : .enabled,
                          paths: group.members.map { paths[$0] })
        }
        return MapView(name: "mpatha", wwid: "360000000000000000000a000e0000001", vendor: "IET", product: "VIRTUAL-DISK",
                       sizeBytes: 1 << 30, groups: views)
    }

    private var twoPaths: [PathView] {
        [path("p1", portal: "127.0.0.2:3260"), path("p2", portal: "127.0.0.3:3260")]
    }

    func testFailover() throws {
        let table = try PathDeviceTable.build(map(twoPaths, policy: .failover), blockDevices: nodes, resolve: resolve)
        XCTAssertEqual(table.render(),
                       "0 2097152 multipath 0 0 2 1 service-time 0 1 1 7:4 1 service-time 0 1 1 7:5 1")
    }

    func testMultibusRoundRobinQueueing() throws {
        let policy = DMTablePolicy(selector: "round-robin 0", noPathRetry: .queue)
        let table = try PathDeviceTable.build(map(twoPaths, policy: .multibus, selector: "round-robin 0"),
                                              blockDevices: nodes, policy: policy, resolve: resolve)
        XCTAssertEqual(table.render(),
                       "0 2097152 multipath 1 queue_if_no_path 0 1 1 round-robin 0 2 1 7:4 1 7:5 1")
    }

    func testGroupByPrioWithALUA() throws {
        let paths = [path("p1", portal: "127.0.0.2:3260", priority: 50),
                     path("p2", portal: "127.0.0.3:3260", priority: 10),
                     path("p3", portal: "127.0.0.4:3260", priority: 50)]
        let policy = DMTablePolicy(noPathRetry: .retries(12), hardwareHandler: ["alua"])
        let table = try PathDeviceTable.build(map(paths, policy: .groupByPrio), blockDevices: nodes, policy: policy,
                                              resolve: resolve)
        XCTAssertEqual(table.render(),
                       "0 2097152 multipath 1 queue_if_no_path 1 alua 2 1 "
                           + "service-time 0 2 1 7:4 1 7:6 1 service-time 0 1 1 7:5 1")
        // The group to start from follows the caller.
        let second = try PathDeviceTable.build(map(paths, policy: .groupByPrio), blockDevices: nodes, policy: policy,
                                               initialGroup: 2, resolve: resolve)
        XCTAssertEqual(second.initialGroup, 2)
    }

    func testPathsWithoutBlockDeviceAreLeftOut() throws {
        let table = try PathDeviceTable.build(map(twoPaths, policy: .failover), blockDevices: ["p2": "/dev/loop5"],
                                              resolve: resolve)
        XCTAssertEqual(table.render(), "0 2097152 multipath 0 0 1 1 service-time 0 1 1 7:5 1")
    }

    func testNoBlockDeviceAtAll() {
        XCTAssertThrowsError(try PathDeviceTable.build(map(twoPaths, policy: .failover), blockDevices: [:],
                                                       resolve: resolve)) { error in
            XCTAssertEqual((error as? DeviceMapperError)?.message,
                           "dm table mpatha: no path of the map has a block device")
        }
    }

    func testResolverErrorPropagates() {
        XCTAssertThrowsError(try PathDeviceTable.build(map(twoPaths, policy: .failover),
                                                       blockDevices: ["p1": "/dev/loop9"], resolve: resolve)) { error in
            XCTAssertEqual((error as? DeviceMapperError)?.message, "unknown /dev/loop9")
        }
    }

    func testMajorMinorErrors() throws {
        XCTAssertThrowsError(try PathDeviceTable.majorMinor(ofBlockDevice: "/dev/null")) { error in
            XCTAssertEqual((error as? DeviceMapperError)?.message,
                           "dm path device: /dev/null is a character device, not a block device")
        }
        let dir = try makeTemporaryDirectory("pathdev")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        XCTAssertThrowsError(try PathDeviceTable.majorMinor(ofBlockDevice: dir + "/loop99")) { error in
            XCTAssertEqual((error as? DeviceMapperError)?.message,
                           "dm path device: cannot stat \(dir)/loop99: No such file or directory")
            XCTAssertEqual((error as? DeviceMapperError)?.errnoCode, ENOENT)
        }
        XCTAssertThrowsError(try PathDeviceTable.majorMinor(ofBlockDevice: dir)) { error in
            XCTAssertEqual((error as? DeviceMapperError)?.message, "dm path device: \(dir) is a directory, not a block device")
        }
    }

    func testRealLoopDevice() throws {
        // Loop devices are block major 7 with minor N for /dev/loopN.
        guard FileManager.default.fileExists(atPath: "/dev/loop0") else {
            XCTAssertThrowsError(try PathDeviceTable.majorMinor(ofBlockDevice: "/dev/loop0"))
            return
        }
        XCTAssertEqual(try PathDeviceTable.majorMinor(ofBlockDevice: "/dev/loop0"), "7:0")
    }
}
