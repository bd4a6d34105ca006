import DeviceMapper
import Foundation
import XCTest

final class AvailabilityTests: XCTestCase {
    private func failure(_ result: Result<Void, DeviceMapperError>, file: StaticString = #filePath,
                         line: UInt = #line) -> DeviceMapperError? {
        switch result {
        case .success:
            XCTFail("expected device-mapper to be unavailable", file: file, line: line)
            return nil
        case .failure(let error):
            XCTAssertEqual(error.kind, .unavailable, file: file, line: line)
            XCTAssertEqual(error.operation, "availability", file: file, line: line)
            return error
        }
    }

    func testThisMachine() {
        let result = DeviceMapperAvailability.check()
        if realControlNodeExists {
            // A machine with dm-mod: usable, or an error naming the node.
            if case .failure(let error) = result {
                XCTAssertTrue(error.message.contains("/dev/mapper/control"), error.message)
            }
        } else {
            XCTAssertEqual(failure(result)?.message,
                           "device-mapper is not available: /dev/mapper/control does not exist "
                               + "(this kernel has no dm-mod); use data_plane fuse")
            XCTAssertEqual(failure(result)?.errnoCode, ENOENT)
        }
    }

    func testMissingNodeNamesThePath() throws {
        let dir = try makeTemporaryDirectory("avail")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let error = failure(DeviceMapperAvailability.check(controlPath: dir + "/mapper/control"))
        XCTAssertEqual(error?.message, "device-mapper is not available: \(dir)/mapper/control does not exist "
                           + "(this kernel has no dm-mod); use data_plane fuse")
        XCTAssertEqual(error?.description, error?.message)
    }

    func testRegularFile() throws {
        let dir = try makeTemporaryDirectory("avail")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/control"
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data("x".utf8)))
        XCTAssertEqual(failure(DeviceMapperAvailability.check(controlPath: path))?.message,
                       "device-mapper is not available: \(path) is a regular file, not a character device; "
                           + "use data_plane fuse")
    }

    func testDirectory() throws {
        let dir = try makeTemporaryDirectory("avail")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        XCTAssertEqual(failure(DeviceMapperAvailability.check(controlPath: dir))?.message,
                       "device-mapper is not available: \(dir) is a directory, not a character device; "
                           + "use data_plane fuse")
    }

    func testCharacterDeviceThatIsNotDeviceMapper() {
        // /dev/null opens read-write, so only the DM_VERSION ioctl can tell it apart.
        let error = failure(DeviceMapperAvailability.check(controlPath: "/dev/null"))
        XCTAssertEqual(error?.message,
                       "device-mapper is not available: /dev/null (character device 1:3) is not the "
                           + "device-mapper control node: the DM_VERSION ioctl failed: Inappropriate ioctl "
                           + "for device; use data_plane fuse")
        XCTAssertEqual(error?.errnoCode, ENOTTY)
    }

    func testControlNodeWithoutDriver() throws {
        let dir = try makeTemporaryDirectory("avail")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/control"
        // The misc device number device-mapper registers (10:236), as libdevmapper creates it.
        XCTAssertEqual(mknod(path, S_IFCHR | 0o600, dev_t(DeviceNumber(major: 10, minor: 236).rawValue)), 0,
                       "mknod needs root: \(String(cString: strerror(errno)))")
        let result = DeviceMapperAvailability.check(controlPath: path)
        if realControlNodeExists {
            return  // with dm-mod present this node is a real control node
        }
        let error = failure(result)
        XCTAssertEqual(error?.message,
                       "device-mapper is not available: \(path) cannot be opened read-write: No such device "
                           + "(the dm-mod driver is not loaded); use data_plane fuse")
        XCTAssertEqual(error?.errnoCode, ENODEV)
    }

    // MARK: - data_plane

    private let unusable = DeviceMapperError(kind: .unavailable, operation: "availability", map: nil,
                                             message: "device-mapper is not available: test; use data_plane fuse")

    func testChooseMatrix() throws {
        var calls = 0
        let usable: () -> Result<Void, DeviceMapperError> = { calls += 1; return .success(()) }
        let broken: () -> Result<Void, DeviceMapperError> = { calls += 1; return .failure(self.unusable) }

        XCTAssertEqual(try DataPlaneChoice.choose(configured: "fuse", check: usable), .fuse)
        XCTAssertEqual(try DataPlaneChoice.choose(configured: "fuse", check: broken), .fuse)
        XCTAssertEqual(calls, 0, "fuse must not probe device-mapper")

        XCTAssertEqual(try DataPlaneChoice.choose(configured: "dm", check: usable), .dm)
        XCTAssertThrowsError(try DataPlaneChoice.choose(configured: "dm", check: broken)) { error in
            XCTAssertEqual(error as? DeviceMapperError, self.unusable)
        }
        XCTAssertEqual(try DataPlaneChoice.choose(configured: "auto", check: usable), .dm)
        XCTAssertEqual(try DataPlaneChoice.choose(configured: "auto", check: broken), .fuse)
        XCTAssertEqual(calls, 4)

        XCTAssertEqual(try DataPlaneChoice.choose(configured: " AUTO\n", check: usable), .dm)
        XCTAssertEqual(try DataPlaneChoice.choose(configured: "DM", check: usable), .dm)
    }

    func testChooseRejectsUnknownValues() {
        for value in ["", "kernel", "fuse dm", String(repeating: "x", count: 60)] {
            XCTAssertThrowsError(try DataPlaneChoice.choose(configured: value, check: { .success(()) })) { error in
                let error = error as? DeviceMapperError
                XCTAssertEqual(error?.kind, .invalidConfiguration)
                XCTAssertTrue(error?.message.hasPrefix("data_plane must be fuse, dm or auto, found '") ?? false,
                              error?.message ?? "")
                XCTAssertLessThan(error?.message.count ?? 1000, 100)
            }
        }
    }

    func testChooseOnThisMachine() throws {
        if !realControlNodeExists {
            XCTAssertEqual(try DataPlaneChoice.choose(configured: "auto"), .fuse)
            XCTAssertThrowsError(try DataPlaneChoice.choose(configured: "dm")) { error in
                XCTAssertEqual((error as? DeviceMapperError)?.message,
                               "device-mapper is not available: /dev/mapper/control does not exist "
                                   + "(this kernel has no dm-mod); use data_plane fuse")
            }
        }
        XCTAssertEqual(try DataPlaneChoice.choose(configured: "fuse"), .fuse)
    }
}
