import XCTest

@testable import BlockExport

final class DeviceRegistryTests: XCTestCase {
    private func device(_ name: String = "d") throws -> ExportedDevice {
        try ExportedDevice(backend: MemoryBackend(sizeBytes: 1 << 20, blockSize: 512), name: name)
    }

    func testRejectsBadNames() {
        var registry = DeviceRegistry()
        for (name, reason) in [("", "empty"), (".", "reserved"), ("..", "reserved"), ("a/b", "'/'"), ("a\0b", "NUL"), (String(repeating: "x", count: 256), "255 bytes")] {
            XCTAssertThrowsError(try registry.add(name: name, device: device())) { error in
                let text = "\(error)"
                XCTAssertTrue(text.contains(reason), "\(text) should mention \(reason)")
                XCTAssertEqual((error as? BlockExportError)?.errno, EINVAL)
            }
        }
        XCTAssertEqual(registry.count, 0)
    }

    func testDuplicateNameIsRefused() throws {
        var registry = DeviceRegistry()
        _ = try registry.add(name: "mpatha", device: device())
        XCTAssertThrowsError(try registry.add(name: "mpatha", device: device())) { error in
            XCTAssertEqual("\(error)", "export device mpatha: a device with this name is already exported")
        }
    }

    func testInodesAreNeverReused() throws {
        var registry = DeviceRegistry()
        let first = try registry.add(name: "a", device: device())
        _ = try registry.remove(name: "a")
        let second = try registry.add(name: "a", device: device())
        XCTAssertEqual(first.inode, 2)
        XCTAssertEqual(second.inode, 3)
        XCTAssertNil(registry.node(inode: 2))
        XCTAssertTrue(registry.node(inode: 3) === second)
    }

    func testRemoveRefusesOpenFile() throws {
        var registry = DeviceRegistry()
        let node = try registry.add(name: "a", device: device())
        node.openCount = 1
        XCTAssertThrowsError(try registry.remove(name: "a")) { error in
            XCTAssertEqual((error as? BlockExportError)?.errno, EBUSY)
            XCTAssertTrue("\(error)".contains("still open"))
        }
        node.openCount = 0
        XCTAssertNoThrow(try registry.remove(name: "a"))
        XCTAssertThrowsError(try registry.remove(name: "a")) { error in
            XCTAssertEqual((error as? BlockExportError)?.errno, ENOENT)
        }
    }

    func testReaddirCookiesSurviveRemoval() throws {
        var registry = DeviceRegistry()
        _ = try registry.add(name: "a", device: device())
        _ = try registry.add(name: "b", device: device())
        _ = try registry.add(name: "c", device: device())
        let all = registry.entries(after: 0)
        XCTAssertEqual(all.map(\.name), [".", "..", "a", "b", "c"])
        XCTAssertEqual(all.map(\.cookie), [1, 2, 3, 4, 5])
        // A listing that stopped after "a" continues with the survivors only.
        _ = try registry.remove(name: "b")
        XCTAssertEqual(registry.entries(after: 3).map(\.name), ["c"])
        XCTAssertEqual(registry.entries(after: 5).map(\.name), [])
    }

    func testRejectsInvalidBlockSize() {
        XCTAssertThrowsError(try ExportedDevice(backend: MemoryBackend(sizeBytes: 4096, blockSize: 520), name: "x")) { error in
            XCTAssertEqual("\(error)", "export device x: backend block size 520 is not a power of two between 512 and 65536")
        }
    }
}
