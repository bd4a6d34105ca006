import DeviceMapper
import Foundation
import Logging
import Multipath
import XCTest

/// A `DMOperations` that records every call in order, one line per call, keeps a pretend
/// kernel (which maps exist, their status lines), and can be told to fail a call.
final class RecordingDMOperations: DMOperations, @unchecked Sendable {
    private let lock = NSLock()
    private var log: [String] = []
    private var failures: [String: [Error]] = [:]
    private var devices: [String: DMDeviceInfo] = [:]
    private var statuses: [String: DMMultipathStatus] = [:]
    private var nextMinor: UInt32 = 0

    /// Calls so far, e.g. "create mpatha mpath-3600a rw 0 2097152 multipath …".
    var calls: [String] { lock.withLock { log } }

    /// Calls since the last `take()`.
    func take() -> [String] {
        lock.withLock {
            defer { log.removeAll() }
            return log
        }
    }

    /// The next call of `operation` ("create", "reload", …) throws `error` (after being recorded).
    func fail(_ operation: String, with error: Error) {
        lock.withLock { failures[operation, default: []].append(error) }
    }

    /// A map that exists before the driver runs.
    func addExisting(_ info: DMDeviceInfo) {
        lock.withLock { devices[info.name] = info }
    }

    func setStatus(_ name: String, _ status: DMMultipathStatus) {
        lock.withLock { statuses[name] = status }
    }

    private func record(_ operation: String, _ line: String) throws {
        try lock.withLock {
            log.append(line)
            if var queued = failures[operation], !queued.isEmpty {
                let error = queued.removeFirst()
                failures[operation] = queued
                throw error
            }
        }
    }

    func create(name: String, uuid: String, table: DMMultipathTable, readOnly: Bool) throws {
        try record("create", "create \(name) \(uuid) \(readOnly ? "ro" : "rw") \(table.render())")
        lock.withLock {
            devices[name] = DMDeviceInfo(name: name, uuid: uuid, device: DeviceNumber(major: 253, minor: nextMinor),
                                         readOnly: readOnly)
            nextMinor += 1
        }
    }

    func reload(name: String, table: DMMultipathTable, readOnly: Bool) throws {
        try record("reload", "reload \(name) \(readOnly ? "ro" : "rw") \(table.render())")
    }

    func suspend(name: String, flush: Bool) throws {
        try record("suspend", "suspend \(name) \(flush ? "flush" : "noflush")")
    }

    func resume(name: String, flush: Bool) throws {
        try record("resume", "resume \(name) \(flush ? "flush" : "noflush")")
    }

    func remove(name: String, deferred: Bool) throws {
        try record("remove", "remove \(name)" + (deferred ? " deferred" : ""))
        lock.withLock { devices[name] = nil }
    }

    func message(name: String, _ message: DMMessage) throws {
        try record("message", "message \(name) \(message.text)")
    }

    func status(name: String) throws -> DMMultipathStatus {
        try record("status", "status \(name)")
        return try lock.withLock {
            guard let status = statuses[name] else {
                throw DeviceMapperError(kind: .operationFailed, operation: "status", map: name,
                                        message: "dm status \(name): no such map")
            }
            return status
        }
    }

    func info(name: String) throws -> DMDeviceInfo? {
        try record("info", "info \(name)")
        return lock.withLock { devices[name] }
    }
}

final class DMMapDriverTests: XCTestCase {
    private let target = "iqn.2026-11.test:lun1"
    private let wwid = "360000000000000000000a000e0000001"
    private var uuid: String { "mpath-" + wwid }
    private let nodes = ["p1": "/dev/loop4", "p2": "/dev/loop5", "p3": "/dev/loop6"]

    /// /dev/loopN is 7:N; anything else is not a block device.
    private static let resolve: @Sendable (String) throws -> String = { node in
        guard node.hasPrefix("/dev/loop"), let n = Int(node.dropFirst("/dev/loop".count)) else {
            throw DeviceMapperError(kind: .invalidArgument, operation: "path device", map: nil,
                                    message: "dm path device: \(node) is a regular file, not a block device")
        }
        return "7:\(n)"
    }

    private func makeDriver(_ ops: RecordingDMOperations, policy: DMTablePolicy = DMTablePolicy()) -> DMMapDriver {
        DMMapDriver(operations: ops, policy: policy, logger: Logger(label: "test.dm-driver"), resolve: Self.resolve)
    }

    private func path(_ name: String, _ portal: String, priority: Int = 1, dmState: PathDMState = .active) -> PathView {
        PathView(id: .byPath(name: name, portal: portal, target: target, lun: 1), device: "ip-\(portal)",
                 portal: portal, target: target, lun: 1, dmState: dmState, priority: priority)
    }

    private var twoPaths: [PathView] {
        [path("p1", "127.0.0.2:3260"), path("p2", "127.0.0.3:3260")]
    }

    /// Groups `paths` with a multipath.conf grouping policy; group `active` (0-based) is active.
    private func map(_ paths: [PathView], grouping: PathGroupingPolicy = .failover, sizeBytes: UInt64 = 1 << 30,
                     active: Int = 0, selector: String = "service-time 0") -> MapView {
        let groups = grouping.group(paths.map { GroupingPath(priority: $0.priority) })
        let views = groups.enumerated().map { index, group in
            PathGroupView(selector: selector, priority: group.priority, status: index == active ? .active : .enabled,
                          paths: group.members.map { paths[$0] })
        }
        return MapView(name: "mpatha", wwid: wwid, vendor: "IET", product: "VIRTUAL-DISK", sizeBytes: sizeBytes,
                       groups: views)
    }

    private func message(_ error: Error) -> String {
        (error as? DeviceMapperError)?.message ?? "not a DeviceMapperError: \(error)"
    }

    private let failoverTable = "0 2097152 multipath 0 0 2 1 service-time 0 1 1 7:4 1 service-time 0 1 1 7:5 1"

    // MARK: - Create and reload

    func testCreateThenReloadOnlyWhenChanged() throws {
        let ops = RecordingDMOperations()
        let driver = makeDriver(ops)

        try driver.sync(map: map(twoPaths), blockDevices: nodes)
        XCTAssertEqual(ops.take(), ["info mpatha", "create mpatha \(uuid) rw \(failoverTable)"])
        XCTAssertEqual(driver.loadedTable(map: "mpatha")?.render(), failoverTable)
        XCTAssertEqual(driver.pathDevices(map: "mpatha"), ["p1": "7:4", "p2": "7:5"])

        // Unchanged: no call at all.
        try driver.sync(map: map(twoPaths), blockDevices: nodes)
        XCTAssertEqual(ops.take(), [])

        // Only the active group moved: the initial group is not a reason to reload.
        try driver.sync(map: map(twoPaths, active: 1), blockDevices: nodes)
        XCTAssertEqual(ops.take(), [])
        XCTAssertEqual(driver.loadedTable(map: "mpatha")?.initialGroup, 1)

        // p2's block device went away: reload without it, resume without flush.
        try driver.sync(map: map(twoPaths), blockDevices: ["p1": "/dev/loop4"])
        XCTAssertEqual(ops.take(), [
            "reload mpatha rw 0 2097152 multipath 0 0 1 1 service-time 0 1 1 7:4 1",
            "resume mpatha noflush",
        ])

        // Back.
        try driver.sync(map: map(twoPaths), blockDevices: nodes)
        XCTAssertEqual(ops.take(), ["reload mpatha rw \(failoverTable)", "resume mpatha noflush"])

        // Read-only now, same table: that is a change too.
        var readOnly = map(twoPaths)
        readOnly.writeProtect = "ro"
        try driver.sync(map: readOnly, blockDevices: nodes)
        XCTAssertEqual(ops.take(), ["reload mpatha ro \(failoverTable)", "resume mpatha noflush"])
        try driver.sync(map: readOnly, blockDevices: nodes)
        XCTAssertEqual(ops.take(), [])
    }

    func testResizeIsReloadSuspendResume() throws {
        let ops = RecordingDMOperations()
        let driver = makeDriver(ops)
        try driver.sync(map: map(twoPaths), blockDevices: nodes)
        _ = ops.take()

        try driver.sync(map: map(twoPaths, sizeBytes: 2 << 30), blockDevices: nodes)
        XCTAssertEqual(ops.take(), [
            "reload mpatha rw 0 4194304 multipath 0 0 2 1 service-time 0 1 1 7:4 1 service-time 0 1 1 7:5 1",
            "suspend mpatha noflush",
            "resume mpatha noflush",
        ])
        XCTAssertEqual(driver.loadedTable(map: "mpatha")?.length, 4_194_304)

        // Shrinking is a resize too.
        try driver.sync(map: map(twoPaths, sizeBytes: 512 << 20), blockDevices: nodes)
        XCTAssertEqual(ops.take(), [
            "reload mpatha rw 0 1048576 multipath 0 0 2 1 service-time 0 1 1 7:4 1 service-time 0 1 1 7:5 1",
            "suspend mpatha noflush",
            "resume mpatha noflush",
        ])
    }

    func testFailedResumeDuringResizeIsRetried() throws {
        let ops = RecordingDMOperations()
        let driver = makeDriver(ops)
        try driver.sync(map: map(twoPaths), blockDevices: nodes)
        _ = ops.take()

        ops.fail("resume", with: DeviceMapperError(kind: .operationFailed, operation: "resume", map: "mpatha",
                                                   message: "dm resume mpatha: Invalid argument"))
        XCTAssertThrowsError(try driver.sync(map: map(twoPaths, sizeBytes: 2 << 30), blockDevices: nodes)) {
            XCTAssertEqual(message($0), "dm resume mpatha: Invalid argument")
        }
        XCTAssertEqual(ops.take(), [
            "reload mpatha rw 0 4194304 multipath 0 0 2 1 service-time 0 1 1 7:4 1 service-time 0 1 1 7:5 1",
            "suspend mpatha noflush",
            "resume mpatha noflush",
        ])
        // The old table is still the live one, so the same sync does the whole sequence again.
        XCTAssertEqual(driver.loadedTable(map: "mpatha")?.length, 2_097_152)
        try driver.sync(map: map(twoPaths, sizeBytes: 2 << 30), blockDevices: nodes)
        XCTAssertEqual(ops.take().count, 3)
        XCTAssertEqual(driver.loadedTable(map: "mpatha")?.length, 4_194_304)
    }

    func testFailingCreateLeavesTheDriverAbleToRetry() throws {
        let ops = RecordingDMOperations()
        let driver = makeDriver(ops)
        ops.fail("create", with: DeviceMapperError(kind: .operationFailed, operation: "create", map: "mpatha",
                                                   errnoCode: ENXIO, message: "dm create mpatha: No such device or address"))
        XCTAssertThrowsError(try driver.sync(map: map(twoPaths), blockDevices: nodes)) { error in
            XCTAssertEqual(message(error), "dm create mpatha: No such device or address")
            XCTAssertEqual((error as? DeviceMapperError)?.map, "mpatha")
            XCTAssertEqual((error as? DeviceMapperError)?.operation, "create")
        }
        XCTAssertEqual(ops.take(), ["info mpatha", "create mpatha \(uuid) rw \(failoverTable)"])
        XCTAssertNil(driver.loadedTable(map: "mpatha"))
        XCTAssertThrowsError(try driver.failPath(map: "mpatha", path: "p1")) {
            XCTAssertEqual(message($0), "dm message mpatha: the map has not been loaded by this daemon")
        }

        try driver.sync(map: map(twoPaths), blockDevices: nodes)
        XCTAssertEqual(ops.take(), ["info mpatha", "create mpatha \(uuid) rw \(failoverTable)"])
        XCTAssertEqual(driver.loadedTable(map: "mpatha")?.render(), failoverTable)
    }

    func testFailingReloadKeepsThePreviousTable() throws {
        let ops = RecordingDMOperations()
        let driver = makeDriver(ops)
        try driver.sync(map: map(twoPaths), blockDevices: nodes)
        _ = ops.take()
        ops.fail("reload", with: DeviceMapperError(kind: .operationFailed, operation: "reload", map: "mpatha",
                                                   message: "dm reload mpatha: Device or resource busy"))
        XCTAssertThrowsError(try driver.sync(map: map(twoPaths), blockDevices: ["p2": "/dev/loop5"]))
        XCTAssertEqual(ops.take(), ["reload mpatha rw 0 2097152 multipath 0 0 1 1 service-time 0 1 1 7:5 1"])
        XCTAssertEqual(driver.loadedTable(map: "mpatha")?.render(), failoverTable)
        // Messages still address the live table.
        try driver.failPath(map: "mpatha", path: "p1")
        XCTAssertEqual(ops.take(), ["message mpatha fail_path 7:4"])
    }

    func testErrorsThatAreNotDeviceMapperErrorsAreWrapped() throws {
        struct Odd: Error, CustomStringConvertible { var description: String { "odd failure" } }
        let ops = RecordingDMOperations()
        ops.fail("info", with: Odd())
        XCTAssertThrowsError(try makeDriver(ops).sync(map: map(twoPaths), blockDevices: nodes)) { error in
            XCTAssertEqual(message(error), "dm info mpatha: odd failure")
            XCTAssertEqual((error as? DeviceMapperError)?.kind, .operationFailed)
        }
    }

    func testExistingMapIsTakenOverOnlyWhenItIsOurs() throws {
        let ops = RecordingDMOperations()
        ops.addExisting(DMDeviceInfo(name: "mpatha", uuid: uuid, device: DeviceNumber(major: 253, minor: 4)))
        let driver = makeDriver(ops)
        try driver.sync(map: map(twoPaths), blockDevices: nodes)
        XCTAssertEqual(ops.take(), ["info mpatha", "reload mpatha rw \(failoverTable)", "resume mpatha noflush"])

        let other = RecordingDMOperations()
        other.addExisting(DMDeviceInfo(name: "mpatha", uuid: "LVM-xyz", device: DeviceNumber(major: 253, minor: 4)))
        XCTAssertThrowsError(try makeDriver(other).sync(map: map(twoPaths), blockDevices: nodes)) {
            XCTAssertEqual(message($0),
                           "dm create mpatha: a device of that name exists with UUID 'LVM-xyz', not '\(uuid)'")
        }
        XCTAssertEqual(other.take(), ["info mpatha"])
    }

    func testAnotherWWIDUnderTheSameNameIsRefused() throws {
        let ops = RecordingDMOperations()
        let driver = makeDriver(ops)
        try driver.sync(map: map(twoPaths), blockDevices: nodes)
        _ = ops.take()
        var other = map(twoPaths)
        other.wwid = "36001405deadbeef"
        XCTAssertThrowsError(try driver.sync(map: other, blockDevices: nodes)) {
            XCTAssertEqual(message($0), "dm reload mpatha: the map was created for WWID \(wwid), "
                + "not 36001405deadbeef; remove it first")
        }
        XCTAssertEqual(ops.take(), [])
    }

    func testBlockDeviceErrorNamesThePath() {
        let ops = RecordingDMOperations()
        XCTAssertThrowsError(try makeDriver(ops).sync(map: map(twoPaths),
                                                  blockDevices: ["p1": "/dev/loop4", "p2": "/tmp/p2.img"])) {
            XCTAssertEqual(message($0), "dm table mpatha: path p2: /tmp/p2.img is a regular file, not a block device")
        }
        XCTAssertThrowsError(try makeDriver(ops).sync(map: map(twoPaths), blockDevices: [:])) {
            XCTAssertEqual(message($0), "dm table mpatha: no path of the map has a block device")
        }
        XCTAssertEqual(ops.take(), [])
    }

    func testPathsShownFailedAreFailedAgainAfterALoad() throws {
        let ops = RecordingDMOperations()
        let driver = makeDriver(ops)
        let paths = [path("p1", "127.0.0.2:3260"), path("p2", "127.0.0.3:3260", dmState: .failed)]
        try driver.sync(map: map(paths), blockDevices: nodes)
        XCTAssertEqual(ops.take(), ["info mpatha", "create mpatha \(uuid) rw \(failoverTable)",
                                    "message mpatha fail_path 7:5"])
        // No load, no message: path state is the caller's to change.
        try driver.sync(map: map(paths), blockDevices: nodes)
        XCTAssertEqual(ops.take(), [])
        try driver.sync(map: map(paths, sizeBytes: 2 << 30), blockDevices: nodes)
        XCTAssertEqual(ops.take().suffix(2), ["resume mpatha noflush", "message mpatha fail_path 7:5"])
    }

    // MARK: - Tables per grouping policy

    func testFailoverTable() throws {
        let ops = RecordingDMOperations()
        let paths = twoPaths + [path("p3", "127.0.0.4:3260")]
        try makeDriver(ops).sync(map: map(paths), blockDevices: nodes)
        XCTAssertEqual(ops.take().last,
                       "create mpatha \(uuid) rw 0 2097152 multipath 0 0 3 1 service-time 0 1 1 7:4 1 "
                           + "service-time 0 1 1 7:5 1 service-time 0 1 1 7:6 1")
    }

    func testMultibusTable() throws {
        let ops = RecordingDMOperations()
        let policy = DMTablePolicy(selector: "round-robin 0", noPathRetry: .queue, minIO: 100)
        let paths = twoPaths + [path("p3", "127.0.0.4:3260")]
        try makeDriver(ops, policy: policy).sync(map: map(paths, grouping: .multibus, selector: "round-robin 0"),
                                             blockDevices: nodes)
        XCTAssertEqual(ops.take().last,
                       "create mpatha \(uuid) rw 0 2097152 multipath 1 queue_if_no_path 0 1 1 "
                           + "round-robin 0 3 1 7:4 100 7:5 100 7:6 100")
    }

    func testGroupByPrioTable() throws {
        let ops = RecordingDMOperations()
        let policy = DMTablePolicy(noPathRetry: .retries(12), features: ["pg_init_retries", "50"],
                                   hardwareHandler: ["alua"])
        // ALUA: p1 and p3 optimized (50), p2 non-optimized (10).
        let paths = [path("p1", "127.0.0.2:3260", priority: 50), path("p2", "127.0.0.3:3260", priority: 10),
                     path("p3", "127.0.0.4:3260", priority: 50)]
        let driver = makeDriver(ops, policy: policy)
        try driver.sync(map: map(paths, grouping: .groupByPrio), blockDevices: nodes)
        XCTAssertEqual(ops.take().last,
                       "create mpatha \(uuid) rw 0 2097152 multipath 3 pg_init_retries 50 queue_if_no_path 1 alua 2 1 "
                           + "service-time 0 2 1 7:4 1 7:6 1 service-time 0 1 1 7:5 1")
        // Group numbers in messages count the loaded table's groups.
        try driver.switchGroup(map: "mpatha", group: 2)
        XCTAssertEqual(ops.take(), ["message mpatha switch_group 2"])
    }

    func testPolicyPerSyncOverridesTheDriverDefault() throws {
        let ops = RecordingDMOperations()
        try makeDriver(ops).sync(map: map(twoPaths, grouping: .multibus), blockDevices: nodes,
                             policy: DMTablePolicy(selector: "queue-length 0", minIO: 2, weightByPriority: true))
        XCTAssertEqual(ops.take().last,
                       "create mpatha \(uuid) rw 0 2097152 multipath 0 0 1 1 queue-length 0 2 1 7:4 2 7:5 2")
    }

    // MARK: - Messages

    func testMessagesCarryMajorMinorAndGroupNumber() throws {
        let ops = RecordingDMOperations()
        let driver = makeDriver(ops)
        let paths = twoPaths + [path("p3", "127.0.0.4:3260")]
        try driver.sync(map: map(paths), blockDevices: ["p1": "/dev/loop4", "p2": "/dev/loop12", "p3": "/dev/loop6"])
        _ = ops.take()

        try driver.failPath(map: "mpatha", path: "p2")
        try driver.reinstatePath(map: "mpatha", path: "p2")
        try driver.failPath(map: "mpatha", path: "p3")
        try driver.switchGroup(map: "mpatha", group: 3)
        try driver.switchGroup(map: "mpatha", group: 1)
        try driver.setQueueIfNoPath(map: "mpatha", true)
        try driver.setQueueIfNoPath(map: "mpatha", false)
        XCTAssertEqual(ops.take(), [
            "message mpatha fail_path 7:12",
            "message mpatha reinstate_path 7:12",
            "message mpatha fail_path 7:6",
            "message mpatha switch_group 3",
            "message mpatha switch_group 1",
            "message mpatha queue_if_no_path",
            "message mpatha fail_if_no_path",
        ])

        for group in [0, 4] {
            XCTAssertThrowsError(try driver.switchGroup(map: "mpatha", group: group)) {
                XCTAssertEqual(message($0), "dm message mpatha: cannot switch to group \(group): "
                    + "the loaded table has groups 1...3")
            }
        }
        XCTAssertEqual(ops.take(), [])
    }

    func testUnknownPathIsNamed() throws {
        let ops = RecordingDMOperations()
        let driver = makeDriver(ops)
        let paths = twoPaths + [path("p3", "127.0.0.4:3260")]
        try driver.sync(map: map(paths), blockDevices: ["p1": "/dev/loop4", "p2": "/dev/loop5"])
        _ = ops.take()

        XCTAssertThrowsError(try driver.failPath(map: "mpatha", path: "p9")) { error in
            XCTAssertEqual(message(error), "dm message mpatha: cannot fail path p9: it is not a path of the map "
                + "(paths: p1, p2)")
            XCTAssertEqual((error as? DeviceMapperError)?.kind, .invalidArgument)
        }
        XCTAssertThrowsError(try driver.reinstatePath(map: "mpatha", path: "p3")) {
            XCTAssertEqual(message($0), "dm message mpatha: cannot reinstate path p3: "
                + "it had no block device when the table was loaded")
        }
        XCTAssertThrowsError(try driver.failPath(map: "mpathb", path: "p1")) {
            XCTAssertEqual(message($0), "dm message mpathb: the map has not been loaded by this daemon")
        }
        XCTAssertThrowsError(try driver.setQueueIfNoPath(map: "mpathb", false)) {
            XCTAssertEqual(message($0), "dm message mpathb: the map has not been loaded by this daemon")
        }
        XCTAssertEqual(ops.take(), [])
    }

    func testRefusedMessageIsReported() throws {
        let ops = RecordingDMOperations()
        let driver = makeDriver(ops)
        try driver.sync(map: map(twoPaths), blockDevices: nodes)
        ops.fail("message", with: DeviceMapperError(kind: .operationFailed, operation: "message", map: "mpatha",
                                                    errnoCode: EBUSY,
                                                    message: "dm message mpatha: 'fail_path 7:4' was refused while the map is suspended"))
        XCTAssertThrowsError(try driver.failPath(map: "mpatha", path: "p1")) {
            XCTAssertEqual(message($0), "dm message mpatha: 'fail_path 7:4' was refused while the map is suspended")
            XCTAssertEqual(($0 as? DeviceMapperError)?.errnoCode, EBUSY)
        }
    }

    // MARK: - Status

    func testStatusWithAFailedPath() throws {
        let ops = RecordingDMOperations()
        let driver = makeDriver(ops, policy: DMTablePolicy(noPathRetry: .queue))
        try driver.sync(map: map(twoPaths), blockDevices: nodes)
        _ = ops.take()
        // p1 failed once; the kernel moved IO to group 2.
        ops.setStatus("mpatha", try DMMultipathStatus.parse(
            "0 2097152 multipath 2 0 0 0 2 2 E 0 1 2 7:4 F 1 0 1 A 0 1 2 7:5 A 0 0 1"))

        let metadata = [
            "p1": DMStatusView.PathMetadata(id: .byPath(name: "p1", portal: "127.0.0.2:3260", target: target, lun: 1),
                                            portal: "127.0.0.2:3260", target: target, lun: 1, deviceState: .running),
            "p2": DMStatusView.PathMetadata(id: .byPath(name: "p2", portal: "127.0.0.3:3260", target: target, lun: 1),
                                            portal: "127.0.0.3:3260", target: target, lun: 1, deviceState: .running,
                                            nopRTTMicros: 190),
        ]
        let view = try driver.status(map: "mpatha", metadata: metadata)
        XCTAssertEqual(ops.take(), ["info mpatha", "status mpatha"])

        XCTAssertEqual(view.paths.map(\.name), ["p1", "p2"])
        XCTAssertEqual(view.paths.map(\.device), ["7:4", "7:5"])
        XCTAssertEqual(view.paths.map(\.dmState), [.failed, .active])
        XCTAssertEqual(view.paths.map(\.checker), [.faulty, .ready])
        XCTAssertEqual(view.paths.map(\.failCount), [1, 0])
        XCTAssertEqual(view.groups.map(\.status), [.enabled, .active])
        XCTAssertEqual(view.health, .degraded)
        XCTAssertEqual(MultipathLL.render([view]), """
            mpatha (360000000000000000000a000e0000001) dm-0 IET,VIRTUAL-DISK
            size=1.0G features='1 queue_if_no_path' hwhandler='0' wp=rw
            |-+- policy='service-time 0' prio=0 status=enabled
            | `- p1 127.0.0.2:3260 default iqn.2026-11.test:lun1 lun 1 failed faulty running rtt=-
            `-+- policy='service-time 0' prio=1 status=active
              `- p2 127.0.0.3:3260 default iqn.2026-11.test:lun1 lun 1 active ready  running rtt=190us

            """)

        // Without metadata a path shows its device.
        let bare = try driver.status(map: "mpatha", metadata: [:])
        XCTAssertEqual(bare.paths.map(\.name), ["7:4", "7:5"])
        XCTAssertEqual(bare.paths.map(\.portal), ["-", "-"])
    }

    func testStatusErrors() throws {
        let ops = RecordingDMOperations()
        let driver = makeDriver(ops)
        XCTAssertThrowsError(try driver.status(map: "mpatha", metadata: [:])) {
            XCTAssertEqual(message($0), "dm status mpatha: the map has not been loaded by this daemon")
        }
        try driver.sync(map: map(twoPaths), blockDevices: nodes)
        // The kernel lists other paths than the table the driver loaded (someone reloaded behind us).
        ops.setStatus("mpatha", try DMMultipathStatus.parse("0 2097152 multipath 2 0 0 0 1 1 A 0 1 0 8:16 A 0"))
        XCTAssertThrowsError(try driver.status(map: "mpatha", metadata: [:])) {
            XCTAssertEqual(message($0), "dm status mpatha: status has 1 path groups, table has 2")
        }
        // Removed behind our back.
        try ops.remove(name: "mpatha", deferred: false)
        XCTAssertThrowsError(try driver.status(map: "mpatha", metadata: [:])) {
            XCTAssertEqual(message($0), "dm status mpatha: the map does not exist")
        }
    }

    // MARK: - Removal

    func testRemove() throws {
        let ops = RecordingDMOperations()
        let driver = makeDriver(ops)
        try driver.sync(map: map(twoPaths), blockDevices: nodes)
        _ = ops.take()

        ops.fail("remove", with: DeviceMapperError(kind: .operationFailed, operation: "remove", map: "mpatha",
                                                   errnoCode: EBUSY, message: "dm remove mpatha: Device or resource busy"))
        XCTAssertThrowsError(try driver.remove(map: "mpatha")) {
            XCTAssertEqual(message($0), "dm remove mpatha: Device or resource busy")
        }
        XCTAssertNotNil(driver.loadedTable(map: "mpatha"))

        try driver.remove(map: "mpatha", deferred: true)
        XCTAssertEqual(ops.take(), ["info mpatha", "remove mpatha", "info mpatha", "remove mpatha deferred"])
        XCTAssertNil(driver.loadedTable(map: "mpatha"))
        XCTAssertEqual(driver.pathDevices(map: "mpatha"), [:])

        // Already gone: nothing to do.
        try driver.remove(map: "mpatha")
        XCTAssertEqual(ops.take(), ["info mpatha"])

        // A later sync creates it afresh.
        try driver.sync(map: map(twoPaths), blockDevices: nodes)
        XCTAssertEqual(ops.take(), ["info mpatha", "create mpatha \(uuid) rw \(failoverTable)"])
    }

    // MARK: - Threads

    func testConcurrentCallsKeepEachSequenceTogether() throws {
        let ops = RecordingDMOperations()
        let driver = makeDriver(ops)
        try driver.sync(map: map(twoPaths), blockDevices: nodes)
        _ = ops.take()
        let big = map(twoPaths, sizeBytes: 2 << 30), small = map(twoPaths)
        DispatchQueue.concurrentPerform(iterations: 200) { i in
            switch i % 4 {
            case 0: try? driver.sync(map: big, blockDevices: nodes)
            case 1: try? driver.sync(map: small, blockDevices: nodes)
            case 2: try? driver.failPath(map: "mpatha", path: "p1")
            default: _ = driver.loadedTable(map: "mpatha")
            }
        }
        // Every suspend sits between its reload and its resume: no message got in between.
        let calls = ops.take()
        XCTAssertEqual(calls.filter { $0 == "message mpatha fail_path 7:4" }.count, 50)
        for (index, call) in calls.enumerated() where call.hasPrefix("suspend") {
            XCTAssertTrue(index > 0 && calls[index - 1].hasPrefix("reload"), "call \(index): no reload just before suspend")
            XCTAssertEqual(index + 1 < calls.count ? calls[index + 1] : "nothing", "resume mpatha noflush")
        }
    }
}
