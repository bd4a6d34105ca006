import XCTest

@testable import SCSI

final class ReadCapacityTests: XCTestCase {
    func testReadCapacity10OneGiB() throws {
        let data = try ReadCapacity10Data(bytes: hex("00 1F FF FF 00 00 02 00"))
        XCTAssertEqual(data.lastLBA, 0x1F_FFFF)
        XCTAssertEqual(data.blockLength, 512)
        XCTAssertEqual(data.blockCount, 2_097_152)
        XCTAssertEqual(data.sizeBytes, 1 << 30)
        XCTAssertFalse(data.needsReadCapacity16)
    }

    func testReadCapacity10Overflowed() throws {
        // tgt sends 0xFFFFFFFF when the LU has 2^32 blocks or more.
        let data = try ReadCapacity10Data(bytes: hex("FF FF FF FF 00 00 10 00"))
        XCTAssertTrue(data.needsReadCapacity16)
        XCTAssertEqual(data.blockCount, 1 << 32)
        XCTAssertEqual(data.sizeBytes, (1 << 32) * 4096)
    }

    func testReadCapacity10ShortThrows() {
        XCTAssertThrowsError(try ReadCapacity10Data(bytes: hex("00 1F FF FF 00 00 02"))) { error in
            XCTAssertEqual(
                error as? SCSIParseError,
                .truncated(what: "READ CAPACITY(10) data logical block length", needed: 8, got: 7))
        }
    }

    func testReadCapacity10ZeroBlockLengthThrows() {
        XCTAssertThrowsError(try ReadCapacity10Data(bytes: hex("00 00 00 10 00 00 00 00"))) { error in
            XCTAssertEqual("\(error)", "READ CAPACITY(10) data logical block length invalid: zero")
        }
    }

    func testTGTReadCapacity16Thin() throws {
        let data = try ReadCapacity16Data(bytes: TGT.readCapacity16Thin)
        XCTAssertEqual(data.lastLBA, 0x1F_FFFF)
        XCTAssertEqual(data.blockLength, 512)
        XCTAssertEqual(data.blockCount, 2_097_152)
        XCTAssertEqual(data.sizeBytes, 1 << 30)
        XCTAssertTrue(data.lbpme)
        XCTAssertTrue(data.lbprz)
        XCTAssertFalse(data.protectionEnabled)
        XCTAssertEqual(data.lowestAlignedLBA, 0)
        XCTAssertEqual(data.physicalBlockLength, 512)
    }

    func testReadCapacity16AllFields() throws {
        // 4 KiB physical blocks of 512-byte logical ones (exponent 3), lowest aligned LBA 7,
        // protection type 2 enabled, P_I_EXPONENT 1.
        let bytes = hex("00 00 00 01 00 00 00 00  00 00 02 00  03 13 00 07") + [UInt8](repeating: 0, count: 16)
        let data = try ReadCapacity16Data(bytes: bytes)
        XCTAssertEqual(data.lastLBA, 0x1_0000_0000)
        XCTAssertEqual(data.blockCount, 0x1_0000_0001)
        XCTAssertEqual(data.sizeBytes, 0x1_0000_0001 * 512)
        XCTAssertTrue(data.protectionEnabled)
        XCTAssertEqual(data.protectionType, 1)
        XCTAssertEqual(data.protectionIntervalExponent, 1)
        XCTAssertEqual(data.logicalBlocksPerPhysicalBlockExponent, 3)
        XCTAssertEqual(data.physicalBlockLength, 4096)
        XCTAssertEqual(data.lowestAlignedLBA, 7)
        XCTAssertFalse(data.lbpme)
    }

    func testReadCapacity16TwelveBytesIsEnough() throws {
        let data = try ReadCapacity16Data(bytes: hex("00 00 00 00 00 00 00 FF 00 00 10 00"))
        XCTAssertEqual(data.blockCount, 256)
        XCTAssertEqual(data.sizeBytes, 256 * 4096)
        XCTAssertFalse(data.lbpme)
    }

    func testReadCapacity16OverflowThrows() {
        XCTAssertThrowsError(try ReadCapacity16Data(bytes: hex("FF FF FF FF FF FF FF FF 00 00 02 00"))) { error in
            guard case .invalidField(let what, _)? = error as? SCSIParseError else {
                return XCTFail("unexpected \(error)")
            }
            XCTAssertEqual(what, "READ CAPACITY(16) data returned logical block address")
        }
        XCTAssertThrowsError(try ReadCapacity16Data(bytes: hex("00 FF FF FF FF FF FF FF 00 00 02 00")))
    }

    func testReadCapacity16ShortThrows() {
        XCTAssertThrowsError(try ReadCapacity16Data(bytes: hex("00 00 00 00 00 00 00 FF 00 00 10"))) { error in
            XCTAssertEqual(
                "\(error)", "READ CAPACITY(16) data logical block length truncated: need 12 bytes, got 11")
        }
    }
}
