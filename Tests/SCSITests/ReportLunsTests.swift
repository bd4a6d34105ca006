import XCTest

@testable import SCSI

final class ReportLunsTests: XCTestCase {
    func testTGTList() throws {
        let data = try ReportLunsData(bytes: TGT.reportLuns)
        XCTAssertEqual(data.lunListLength, 16)
        XCTAssertEqual(data.lunNumbers, [0, 1])
        XCTAssertFalse(data.isTruncated)
        XCTAssertEqual(data.requiredAllocationLength, 24)
        XCTAssertEqual(data.luns[1].addressMethod, .peripheral)
        XCTAssertEqual(data.luns[1].raw, hex("00 01 00 00 00 00 00 00"))
    }

    func testFlatAndExtendedAddressing() throws {
        // tgt encodes LUN 300 as flat space (0x40 | high bits); LUN 70000 needs extended flat space.
        let bytes = hex("""
            00 00 00 18 00 00 00 00
            41 2C 00 00 00 00 00 00
            00 FF 00 00 00 00 00 00
            D2 01 11 70 00 00 00 00
            """)
        let data = try ReportLunsData(bytes: bytes)
        XCTAssertEqual(data.lunNumbers, [300, 255, 70000])
        XCTAssertEqual(data.luns[0].addressMethod, .flat)
        XCTAssertEqual(data.luns[2].addressMethod, .extended)
    }

    func testHierarchicalLUNHasNoNumberButKeepsRawBytes() throws {
        let bytes = hex("00 00 00 08 00 00 00 00 01 02 00 03 00 00 00 00")
        let data = try ReportLunsData(bytes: bytes)
        XCTAssertEqual(data.luns.count, 1)
        XCTAssertNil(data.luns[0].number)
        XCTAssertEqual(data.lunNumbers, [])
        XCTAssertEqual(data.luns[0].description, "0102000300000000")
    }

    func testTruncatedListKeepsWhatArrived() throws {
        // Target has 3 LUNs (24 bytes) but the allocation length of 20 cut the list.
        let bytes = hex("00 00 00 18 00 00 00 00 00 00 00 00 00 00 00 00 00 01 00 00")
        let data = try ReportLunsData(bytes: bytes)
        XCTAssertEqual(data.lunNumbers, [0])
        XCTAssertTrue(data.isTruncated)
        XCTAssertEqual(data.requiredAllocationLength, 32)
    }

    func testShortHeaderThrows() {
        XCTAssertThrowsError(try ReportLunsData(bytes: hex("00 00 00 08 00 00"))) { error in
            XCTAssertEqual(
                error as? SCSIParseError, .truncated(what: "REPORT LUNS data header", needed: 8, got: 6))
        }
    }

    func testEncodeLUN() {
        XCTAssertEqual(SCSILUN.encodeLUN(0), hex("00 00 00 00 00 00 00 00"))
        XCTAssertEqual(SCSILUN.encodeLUN(1), hex("00 01 00 00 00 00 00 00"))
        XCTAssertEqual(SCSILUN.encodeLUN(255), hex("00 FF 00 00 00 00 00 00"))
        XCTAssertEqual(SCSILUN.encodeLUN(256), hex("41 00 00 00 00 00 00 00"))
        XCTAssertEqual(SCSILUN.encodeLUN(300), hex("41 2C 00 00 00 00 00 00"))
        XCTAssertEqual(SCSILUN.encodeLUN(16383), hex("7F FF 00 00 00 00 00 00"))
        XCTAssertEqual(SCSILUN.encodeLUN(16384), hex("D2 00 40 00 00 00 00 00"))
        XCTAssertEqual(SCSILUN.encodeLUN(0xFF_FFFF), hex("D2 FF FF FF 00 00 00 00"))
        XCTAssertNil(SCSILUN.encodeLUN(0x100_0000))
    }

    func testEncodeDecodeRoundTrip() {
        for number: UInt64 in [0, 1, 17, 255, 256, 1000, 16383, 16384, 123_456, 0xFF_FFFF] {
            XCTAssertEqual(SCSILUN(number: number)?.number, number, "LUN \(number)")
        }
    }

    func testLinuxNumberKeepsAddressMethodBits() {
        XCTAssertEqual(SCSILUN(number: 5)?.linuxNumber, 5)
        XCTAssertEqual(SCSILUN(number: 256)?.linuxNumber, 0x4100)
        XCTAssertEqual(SCSILUN(raw: hex("01 02 00 03 00 00 00 00"))?.linuxNumber, 0x0003_0102)
    }

    func testRawInitNeedsEightBytes() {
        XCTAssertNil(SCSILUN(raw: [0, 1]))
        XCTAssertNotNil(SCSILUN(raw: [UInt8](repeating: 0, count: 8)))
    }
}
