import XCTest

@testable import BlockExport

final class MountTableTests: XCTestCase {
    let sample = """
        22 1 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw
        120 30 0:52 / /run/mpath\\040d/dev rw,nosuid,nodev,relatime shared:60 - fuse.mpath mpathd rw,user_id=0,group_id=0,default_permissions,allow_other
        121 30 0:53 / /tmp/a\\134b rw - fuse.mpath mpathd rw
        garbage line
        123 30 0:54 / /x rw shared:1 master:2 - ext4 /dev/loop3 rw
        """

    func testParsesFieldsAndOptionalTags() {
        let entries = MountTable.parse(sample)
        XCTAssertEqual(entries.count, 4)
        XCTAssertEqual(entries[0], MountEntry(device: "0:21", mountPoint: "/proc", fsType: "proc", source: "proc"))
        XCTAssertEqual(entries[3], MountEntry(device: "0:54", mountPoint: "/x", fsType: "ext4", source: "/dev/loop3"))
    }

    func testDecodesOctalEscapes() {
        let entries = MountTable.parse(sample)
        XCTAssertEqual(entries[1].mountPoint, "/run/mpath d/dev")
        XCTAssertEqual(entries[1].fsType, "fuse.mpath")
        XCTAssertEqual(entries[1].device, "0:52")
        XCTAssertEqual(entries[2].mountPoint, "/tmp/a\\b")
    }

    func testKeepsInvalidEscapesLiterally() {
        XCTAssertEqual(MountTable.unescape("a\\9zz"), "a\\9zz")
        XCTAssertEqual(MountTable.unescape("end\\04"), "end\\04")
        XCTAssertEqual(MountTable.unescape("\\011tab"), "\ttab")
    }

    func testCurrentTableHasRoot() {
        XCTAssertTrue(MountTable.current().contains { $0.mountPoint == "/" })
    }
}
