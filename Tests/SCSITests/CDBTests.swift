import XCTest

@testable import SCSI

/// Golden CDB bytes, checked field by field against the SPC-4 / SBC-3 CDB tables.
final class CDBTests: XCTestCase {
    func testTestUnitReady() {
        XCTAssertEqual(CDB.testUnitReady(), hex("00 00 00 00 00 00"))
    }

    func testRequestSense() {
        XCTAssertEqual(CDB.requestSense(allocationLength: 96), hex("03 00 00 00 60 00"))
        XCTAssertEqual(CDB.requestSense(), hex("03 00 00 00 FC 00"))
    }

    func testStandardInquiry() {
        XCTAssertEqual(CDB.inquiry(allocationLength: 96), hex("12 00 00 00 60 00"))
    }

    func testInquiryVPDPage() {
        // EVPD in byte 1 bit 0, page code byte 2, allocation length bytes 3-4.
        XCTAssertEqual(CDB.inquiry(evpd: true, page: 0x83, allocationLength: 0x0204), hex("12 01 83 02 04 00"))
    }

    func testInquiryDropsPageCodeWithoutEVPD() {
        XCTAssertEqual(CDB.inquiry(evpd: false, page: 0x80, allocationLength: 36), hex("12 00 00 00 24 00"))
    }

    func testReportLuns() {
        XCTAssertEqual(
            CDB.reportLuns(allocationLength: 0x0000_1000),
            hex("A0 00 00 00 00 00 00 00 10 00 00 00"))
        XCTAssertEqual(
            CDB.reportLuns(selectReport: 2, allocationLength: 16),
            hex("A0 00 02 00 00 00 00 00 00 10 00 00"))
    }

    func testReadCapacity10() {
        XCTAssertEqual(CDB.readCapacity10(), hex("25 00 00 00 00 00 00 00 00 00"))
    }

    func testReadCapacity16() {
        XCTAssertEqual(
            CDB.readCapacity16(),
            hex("9E 10 00 00 00 00 00 00 00 00 00 00 00 20 00 00"))
    }

    func testRead16Golden() {
        XCTAssertEqual(
            CDB.read16(lba: 0x0102_0304_0506_0708, blocks: 0x10),
            hex("88 00 01 02 03 04 05 06 07 08 00 00 00 10 00 00"))
    }

    func testRead16FUA() {
        XCTAssertEqual(
            CDB.read16(lba: 1, blocks: 0x0102_0304, fua: true),
            hex("88 08 00 00 00 00 00 00 00 01 01 02 03 04 00 00"))
    }

    func testRead10() {
        XCTAssertEqual(
            CDB.read10(lba: 0x0A0B_0C0D, blocks: 0x0102),
            hex("28 00 0A 0B 0C 0D 00 01 02 00"))
    }

    func testWrite10FUA() {
        XCTAssertEqual(
            CDB.write10(lba: 0x10, blocks: 8, fua: true),
            hex("2A 08 00 00 00 10 00 00 08 00"))
    }

    func testWrite16() {
        XCTAssertEqual(
            CDB.write16(lba: 0xFFFF_FFFF_FFFF_FFFE, blocks: 0xFFFF_FFFF),
            hex("8A 00 FF FF FF FF FF FF FF FE FF FF FF FF 00 00"))
    }

    func testReadPicksTenByteCommandWhenItFits() {
        XCTAssertEqual(CDB.read(lba: 0x1000, blocks: 8), CDB.read10(lba: 0x1000, blocks: 8))
        XCTAssertEqual(CDB.write(lba: 0, blocks: 0xFFFF), CDB.write10(lba: 0, blocks: 0xFFFF))
    }

    func testReadPicksSixteenByteCommandForLargeLBA() {
        XCTAssertEqual(CDB.read(lba: 0x1_0000_0000, blocks: 1), CDB.read16(lba: 0x1_0000_0000, blocks: 1))
    }

    func testReadPicksSixteenByteCommandForLargeCount() {
        XCTAssertEqual(CDB.read(lba: 0, blocks: 0x1_0000), CDB.read16(lba: 0, blocks: 0x1_0000))
    }

    func testReadPicksSixteenByteCommandWhenRangeCrossesTwoToThe32() {
        // Start fits 32 bits but the end does not: Linux sd switches to READ(16) here too.
        XCTAssertEqual(
            CDB.read(lba: 0xFFFF_FFF0, blocks: 0x20),
            CDB.read16(lba: 0xFFFF_FFF0, blocks: 0x20))
        XCTAssertEqual(CDB.write(lba: UInt64.max, blocks: 2), CDB.write16(lba: UInt64.max, blocks: 2))
    }

    func testSynchronizeCache10() {
        XCTAssertEqual(CDB.synchronizeCache10(), hex("35 00 00 00 00 00 00 00 00 00"))
        XCTAssertEqual(
            CDB.synchronizeCache10(lba: 0x01020304, blocks: 0x0506, immed: true),
            hex("35 02 01 02 03 04 00 05 06 00"))
    }

    func testSynchronizeCache16() {
        XCTAssertEqual(
            CDB.synchronizeCache16(lba: 0x0102_0304_0506_0708, blocks: 0x0A0B_0C0D, immed: true),
            hex("91 02 01 02 03 04 05 06 07 08 0A 0B 0C 0D 00 00"))
    }

    func testReportTargetPortGroups() {
        XCTAssertEqual(
            CDB.reportTargetPortGroups(allocationLength: 0x0000_0400),
            hex("A3 0A 00 00 00 00 00 00 04 00 00 00"))
        XCTAssertEqual(
            CDB.reportTargetPortGroups(allocationLength: 0x0001_0000, extended: true),
            hex("A3 2A 00 00 00 00 00 01 00 00 00 00"))
    }

    func testUnmap() {
        XCTAssertEqual(CDB.unmap(parameterListLength: 40), hex("42 00 00 00 00 00 00 00 28 00"))
        XCTAssertEqual(CDB.unmap(parameterListLength: 24, anchor: true), hex("42 01 00 00 00 00 00 00 18 00"))
    }

    func testUnmapParameterList() throws {
        let list = try CDB.unmapParameterList([
            (lba: 0x0102_0304_0506_0708, blocks: 0x10),
            (lba: 0x20, blocks: 0xAABB_CCDD),
        ])
        XCTAssertEqual(list, hex("""
            00 26 00 20 00 00 00 00
            01 02 03 04 05 06 07 08 00 00 00 10 00 00 00 00
            00 00 00 00 00 00 00 20 AA BB CC DD 00 00 00 00
            """))
        XCTAssertEqual(CDB.unmap(parameterListLength: UInt16(list.count))[7...8], [0x00, 0x28])
    }

    func testEmptyUnmapParameterList() throws {
        XCTAssertEqual(try CDB.unmapParameterList([]), hex("00 06 00 00 00 00 00 00"))
    }

    func testUnmapParameterListLimit() throws {
        let maximum = Array(repeating: (lba: UInt64(0), blocks: UInt32(1)), count: CDB.maximumUnmapDescriptors)
        let list = try CDB.unmapParameterList(maximum)
        XCTAssertEqual(list.count, 8 + 16 * 4095)
        XCTAssertEqual(Array(list[0..<4]), hex("FF F6 FF F0"))

        let tooMany = maximum + [(lba: 0, blocks: 1)]
        XCTAssertThrowsError(try CDB.unmapParameterList(tooMany)) { error in
            XCTAssertEqual(error as? CDBError, .tooManyUnmapDescriptors(count: 4096, maximum: 4095))
        }
    }

    func testWriteSame16() {
        XCTAssertEqual(
            CDB.writeSame16(lba: 0x0102_0304_0506_0708, blocks: 0x0A0B_0C0D, unmap: true),
            hex("93 08 01 02 03 04 05 06 07 08 0A 0B 0C 0D 00 00"))
        XCTAssertEqual(
            CDB.writeSame16(lba: 0, blocks: 1, anchor: true, noDataOut: true),
            hex("93 11 00 00 00 00 00 00 00 00 00 00 00 01 00 00"))
    }

    func testDirection() {
        XCTAssertEqual(CDB.direction(ofCDB: CDB.testUnitReady()), DataDirection.none)
        XCTAssertEqual(CDB.direction(ofCDB: CDB.synchronizeCache16()), DataDirection.none)
        XCTAssertEqual(CDB.direction(ofCDB: CDB.read16(lba: 0, blocks: 1)), .read)
        XCTAssertEqual(CDB.direction(ofCDB: CDB.inquiry(allocationLength: 36)), .read)
        XCTAssertEqual(CDB.direction(ofCDB: CDB.readCapacity16()), .read)
        XCTAssertEqual(CDB.direction(ofCDB: CDB.reportTargetPortGroups(allocationLength: 64)), .read)
        XCTAssertEqual(CDB.direction(ofCDB: CDB.write10(lba: 0, blocks: 1)), .write)
        XCTAssertEqual(CDB.direction(ofCDB: CDB.unmap(parameterListLength: 24)), .write)
        XCTAssertEqual(CDB.direction(ofCDB: CDB.writeSame16(lba: 0, blocks: 8)), .write)
        XCTAssertEqual(CDB.direction(ofCDB: CDB.writeSame16(lba: 0, blocks: 8, noDataOut: true)), DataDirection.none)
        XCTAssertNil(CDB.direction(ofCDB: [0xC0, 0, 0, 0, 0, 0]))
        XCTAssertNil(CDB.direction(ofCDB: []))
    }

    func testNames() {
        XCTAssertEqual(CDB.name(ofCDB: CDB.read16(lba: 0, blocks: 1)), "READ(16)")
        XCTAssertEqual(CDB.name(ofCDB: CDB.readCapacity16()), "READ CAPACITY(16)")
        XCTAssertEqual(CDB.name(ofCDB: CDB.reportTargetPortGroups(allocationLength: 8)), "REPORT TARGET PORT GROUPS")
        XCTAssertEqual(CDB.name(ofCDB: [0xC1]), "OPCODE 0xC1")
        XCTAssertEqual(CDB.name(ofCDB: []), "EMPTY CDB")
        XCTAssertEqual(SCSIOpcode.testUnitReady.description, "TEST UNIT READY")
    }

    func testBuildersUseTheirOpcodes() {
        XCTAssertEqual(CDB.read10(lba: 0, blocks: 0).first, SCSIOpcode.read10.rawValue)
        XCTAssertEqual(CDB.write16(lba: 0, blocks: 0).first, SCSIOpcode.write16.rawValue)
        XCTAssertEqual(CDB.synchronizeCache10().count, 10)
        XCTAssertEqual(CDB.writeSame16(lba: 0, blocks: 0).count, 16)
    }
}
