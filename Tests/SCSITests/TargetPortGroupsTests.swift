import XCTest

@testable import SCSI

final class TargetPortGroupsTests: XCTestCase {
    /// Two groups as a dual-controller ALUA array reports them: group 1 active/optimized and
    /// preferred with ports 1 and 2, group 2 standby with port 3, set by implicit behaviour.
    private let lengthOnly = hex("""
        00 00 00 1C
        80 8F 00 01 00 02 00 02   00 00 00 01 00 00 00 02
        02 8F 00 02 00 00 00 01   00 00 00 03
        """)

    func testLengthOnlyFormat() throws {
        let data = try ReportTargetPortGroupsData(bytes: lengthOnly)
        XCTAssertFalse(data.isExtendedFormat)
        XCTAssertNil(data.implicitTransitionTime)
        XCTAssertEqual(data.groups.count, 2)

        let first = data.groups[0]
        XCTAssertEqual(first.id, 1)
        XCTAssertEqual(first.asymmetricAccessState, .activeOptimized)
        XCTAssertTrue(first.preferred)
        XCTAssertEqual(
            first.supportedStates,
            [.transitioning, .unavailable, .standby, .activeNonOptimized, .activeOptimized])
        XCTAssertEqual(first.statusCode, .alteredImplicitly)
        XCTAssertEqual(first.relativeTargetPortIDs, [1, 2])

        let second = data.groups[1]
        XCTAssertEqual(second.asymmetricAccessState, .standby)
        XCTAssertFalse(second.preferred)
        XCTAssertEqual(second.statusCode, .noStatus)
        XCTAssertEqual(second.relativeTargetPortIDs, [3])

        XCTAssertEqual(data.group(containingPort: 3)?.id, 2)
        XCTAssertEqual(data.group(withID: 1)?.relativeTargetPortIDs, [1, 2])
        XCTAssertNil(data.group(containingPort: 9))
    }

    func testExtendedFormat() throws {
        let bytes = hex("""
            00 00 00 10
            10 3C 00 00
            0F 80 00 05 00 01 00 01   00 00 00 07
            """)
        let data = try ReportTargetPortGroupsData(bytes: bytes)
        XCTAssertTrue(data.isExtendedFormat)
        XCTAssertEqual(data.implicitTransitionTime, 60)
        XCTAssertEqual(data.groups.count, 1)
        XCTAssertEqual(data.groups[0].asymmetricAccessState, .transitioning)
        XCTAssertEqual(data.groups[0].supportedStates, .transitioning)
        XCTAssertEqual(data.groups[0].statusCode, .alteredBySetTargetPortGroups)
        XCTAssertEqual(data.groups[0].relativeTargetPortIDs, [7])
    }

    func testAllStates() {
        let expected: [(UInt8, AsymmetricAccessState)] = [
            (0x0, .activeOptimized), (0x1, .activeNonOptimized), (0x2, .standby), (0x3, .unavailable),
            (0x4, .lbaDependent), (0xE, .offline), (0xF, .transitioning), (0x5, .reserved(0x5)),
        ]
        for (raw, state) in expected {
            XCTAssertEqual(AsymmetricAccessState(rawValue: raw), state)
            XCTAssertEqual(state.rawValue, raw)
        }
        XCTAssertEqual(AsymmetricAccessState(rawValue: 0x81), .activeNonOptimized, "PREF bit is not state")
        XCTAssertTrue(AsymmetricAccessState.activeNonOptimized.isActive)
        XCTAssertFalse(AsymmetricAccessState.standby.isActive)
        XCTAssertEqual(AsymmetricAccessState.activeOptimized.description, "active/optimized")
    }

    func testTruncatedResponseThrowsWithLength() {
        let cut = Array(lengthOnly.prefix(20))
        XCTAssertEqual(ReportTargetPortGroupsData.requiredLength(ofResponse: cut), 32)
        XCTAssertThrowsError(try ReportTargetPortGroupsData(bytes: cut)) { error in
            XCTAssertEqual(
                error as? SCSIParseError,
                .truncated(what: "REPORT TARGET PORT GROUPS data (return data length 28)", needed: 32, got: 20))
        }
    }

    func testDescriptorClaimingMorePortsThanSentThrows() {
        // Port count 2 but only one port entry inside RETURN DATA LENGTH.
        let bytes = hex("00 00 00 0C 00 01 00 01 00 00 00 02 00 00 00 01")
        XCTAssertThrowsError(try ReportTargetPortGroupsData(bytes: bytes)) { error in
            XCTAssertEqual(
                error as? SCSIParseError,
                .truncated(
                    what: "REPORT TARGET PORT GROUPS data target port group descriptor at offset 4 port 1",
                    needed: 20, got: 16))
        }
    }

    func testEmptyResponse() throws {
        let data = try ReportTargetPortGroupsData(bytes: hex("00 00 00 00"))
        XCTAssertTrue(data.groups.isEmpty)
    }
}
