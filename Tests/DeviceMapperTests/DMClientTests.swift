import DeviceMapper
import Foundation
import Logging
import Multipath
import XCTest

final class DMClientTests: XCTestCase {
    private let table = DMMultipathTable(length: 2_097_152, groups: [
        DMPathGroup(paths: [DMPath(device: "7:4", args: ["1"])]),
        DMPathGroup(paths: [DMPath(device: "7:5", args: ["1"])]),
    ])

    /// Every operation, named as its errors name it.
    private func everyOperation(_ client: DMClient) -> [(String, String?, () throws -> Void)] {
        [
            ("create", "mpatha", { try client.create(name: "mpatha", uuid: "mpath-3600a", table: self.table) }),
            ("reload", "mpatha", { try client.reload(name: "mpatha", table: self.table) }),
            ("resume", "mpatha", { try client.resume(name: "mpatha") }),
            ("reload", "mpatha", { try client.resize(name: "mpatha", table: self.table) }),
            ("suspend", "mpatha", { try client.suspend(name: "mpatha", flush: true) }),
            ("remove", "mpatha", { try client.remove(name: "mpatha") }),
            ("message", "mpatha", { try client.message(name: "mpatha", .failPath("7:4")) }),
            ("message", "mpatha", { try client.message(name: "mpatha", .switchGroup(2)) }),
            ("message", "mpatha", { try client.message(name: "mpatha", .queueIfNoPath) }),
            ("table", "mpatha", { _ = try client.table(name: "mpatha") }),
            ("status", "mpatha", { _ = try client.status(name: "mpatha") }),
            ("info", "mpatha", { _ = try client.info(name: "mpatha") }),
            ("list", nil, { _ = try client.list() }),
        ]
    }

    /// Without dm-mod every operation stops before libdevmapper, with the availability sentence,
    /// and leaves /dev untouched (libdevmapper would otherwise mknod /dev/mapper/control).
    func testOperationsWithoutDeviceMapper() throws {
        guard !realControlNodeExists else {
            // With dm-mod loaded, listing is harmless and must work.
            XCTAssertNoThrow(try DMClient().list())
            return
        }
        let client = DMClient()
        for (operation, map, call) in everyOperation(client) {
            XCTAssertThrowsError(try call(), operation) { error in
                guard let error = error as? DeviceMapperError else {
                    return XCTFail("\(operation): \(error) is not a DeviceMapperError")
                }
                XCTAssertEqual(error.kind, .unavailable)
                XCTAssertEqual(error.operation, operation)
                XCTAssertEqual(error.map, map)
                let prefix = map.map { "dm \(operation) \($0): " } ?? "dm \(operation): "
                XCTAssertEqual(error.message, prefix + "device-mapper is not available: /dev/mapper/control "
                                   + "does not exist (this kernel has no dm-mod); use data_plane fuse")
            }
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: "/dev/mapper/control"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: "/dev/mapper"))
    }

    /// With a control node but no driver, libdevmapper itself fails to open it; the error names
    /// the operation, the map and the errno text, and libdevmapper's lines reach swift-log.
    func testLibdevmapperFailureIsAClearError() throws {
        guard !realControlNodeExists else {
            XCTAssertNoThrow(try DMClient().list())
            return
        }
        let dir = try makeTemporaryDirectory("dmclient")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        XCTAssertEqual(mkdir(dir + "/mapper", 0o755), 0)
        XCTAssertEqual(mknod(dir + "/mapper/control", S_IFCHR | 0o600, dev_t(DeviceNumber(major: 10, minor: 236).rawValue)),
                       0, "mknod needs root: \(String(cString: strerror(errno)))")

        let (logger, records) = RecordingLogHandler.logger("dm-test")
        let client = DMClient(logger: logger, devDirectory: dir + "/")
        XCTAssertEqual(client.controlPath, dir + "/mapper/control")
        var firstAttemptWasEarlier = false
        for (operation, map, call) in everyOperation(client) {
            XCTAssertThrowsError(try call(), operation) { error in
                guard let error = error as? DeviceMapperError else {
                    return XCTFail("\(operation): \(error) is not a DeviceMapperError")
                }
                XCTAssertEqual(error.kind, .operationFailed, error.message)
                XCTAssertEqual(error.operation, operation)
                XCTAssertEqual(error.map, map)
                let prefix = map.map { "dm \(operation) \($0): " } ?? "dm \(operation): "
                // The node named is this test's, unless an earlier test in this process already
                // made libdevmapper give up (it checks the driver once per process).
                XCTAssertTrue(error.message.hasPrefix(prefix + "cannot start a device-mapper request: "), error.message)
                XCTAssertTrue(error.message.contains("/mapper/control: open failed: No such device"), error.message)
                XCTAssertEqual(error.errnoCode, ENODEV, error.message)
                firstAttemptWasEarlier = firstAttemptWasEarlier || (operation == "create"
                    && error.message.hasSuffix("(as first reported in this process; libdevmapper does not check again)"))
            }
        }
        // libdevmapper's own lines went to swift-log (not stderr), filtered of "<backtrace>" noise.
        let errors = records.messages.filter { $0.level == .error }.map(\.text)
        if !firstAttemptWasEarlier {
            XCTAssertTrue(errors.contains("\(dir)/mapper/control: open failed: No such device"), "\(errors)")
        }
        XCTAssertFalse(records.messages.contains { $0.text == "<backtrace>" })
    }

    func testArgumentsAreCheckedFirst() {
        let client = DMClient()
        func message(_ call: () throws -> Void) -> String? {
            do {
                try call()
                return nil
            } catch let error as DeviceMapperError {
                XCTAssertEqual(error.kind, .invalidArgument, error.message)
                return error.message
            } catch {
                return "\(error)"
            }
        }
        XCTAssertEqual(message { try client.create(name: "", uuid: "mpath-1", table: table) },
                       "dm create : the map name is empty")
        XCTAssertEqual(message { try client.create(name: "a/b", uuid: "mpath-1", table: table) },
                       "dm create a/b: the map name must not be '.' or '..' or contain '/', blanks or control characters")
        XCTAssertEqual(message { try client.remove(name: String(repeating: "n", count: 128)) },
                       "dm remove \(String(repeating: "n", count: 64))…: the map name is 128 bytes, the kernel allows 127")
        XCTAssertEqual(message { try client.create(name: "mpatha", uuid: "LVM-x", table: table) },
                       "dm create mpatha: the UUID must be 'mpath-<wwid>', found 'LVM-x'")
        XCTAssertEqual(message { try client.create(name: "mpatha", uuid: "mpath-" + String(repeating: "3", count: 123),
                                                   table: table) },
                       "dm create mpatha: the UUID is 129 bytes, the kernel allows 128")
        XCTAssertEqual(message { try client.create(name: "mpatha", uuid: "mpath-1", table: DMMultipathTable(length: 0, groups: [])) },
                       "dm create mpatha: the table has length 0")
        let badPathArgs = DMMultipathTable(length: 8, groups: [
            DMPathGroup(pathArgCount: 1, paths: [DMPath(device: "7:4", args: [])]),
        ])
        XCTAssertEqual(message { try client.reload(name: "mpatha", table: badPathArgs) },
                       "dm reload mpatha: dm table: path 7:4 in group 1 has 0 args, group declares 1")
        XCTAssertEqual(message { try client.message(name: "mpatha", .failPath("7:4 7:5")) },
                       "dm message mpatha: 'fail_path 7:4 7:5' is not a valid multipath message")
        XCTAssertEqual(message { try client.message(name: "mpatha", .switchGroup(0)) },
                       "dm message mpatha: 'switch_group 0' is not a valid multipath message")
    }

    func testRelativeDeviceDirectory() {
        let client = DMClient(devDirectory: "dev")
        XCTAssertThrowsError(try client.list()) { error in
            let error = error as? DeviceMapperError
            XCTAssertEqual(error?.kind, .invalidArgument)
            XCTAssertEqual(error?.message, "dm list: device directory 'dev' is not an absolute path")
        }
    }
}
