import XCTest

@testable import SCSI

final class DeviceIdentificationTests: XCTestCase {
    func testTGTPage() throws {
        let page = try DeviceIdentificationPage(bytes: TGT.deviceIdentification)
        XCTAssertEqual(page.peripheralDeviceType, .directAccess)
        XCTAssertEqual(page.designators.count, 3)

        let t10 = page.designators[0]
        XCTAssertEqual(t10.codeSet, .ascii)
        XCTAssertEqual(t10.association, .logicalUnit)
        XCTAssertEqual(t10.type, .t10VendorID)
        XCTAssertNil(t10.protocolIdentifier)
        XCTAssertEqual(t10.identifier.count, 36)
        XCTAssertEqual(t10.text, "mpathtest-lun1")

        let local = page.designators[1]
        XCTAssertEqual(local.type, .naa)
        XCTAssertEqual(local.naaType, 3)
        XCTAssertEqual(local.identifier, hex("30 00 00 01 00 00 00 01"))

        let extended = page.designators[2]
        XCTAssertEqual(extended.codeSet, .binary)
        XCTAssertEqual(extended.naaType, 6)
        XCTAssertEqual(extended.identifier.count, 16)
        XCTAssertNil(extended.text)

        XCTAssertEqual(page.logicalUnitDesignators.count, 3)
        XCTAssertNil(page.relativeTargetPortID)
        XCTAssertNil(page.targetPortGroupID)
    }

    func testDesignatorsRoundTripThroughEncoding() throws {
        let page = try DeviceIdentificationPage(bytes: TGT.deviceIdentification)
        XCTAssertEqual([0x00, 0x83, 0x00, 72] + page.designators.flatMap(\.encoded), TGT.deviceIdentification)
    }

    func testPortDesignatorsOfAnALUATarget() throws {
        // LIO-style page: NAA 6 for the LU, then relative target port 2 and target port group 1,
        // both with PIV and protocol identifier iSCSI, then an iSCSI name for the target port.
        let name = ascii("iqn.2003-01.org.linux-iscsi.host:sn.1,t,0x0001", paddedTo: 48, with: 0)
        let body: [UInt8] =
            [0x01, 0x03, 0x00, 0x10] + hex("60 01 40 5a bc de f0 12 34 56 78 9a bc de f0 12")
            + [0x51, 0x94, 0x00, 0x04, 0x00, 0x00, 0x00, 0x02]
            + [0x51, 0x95, 0x00, 0x04, 0x00, 0x00, 0x00, 0x01]
            + [0x53, 0x98, 0x00, UInt8(name.count)] + name
        let page = try DeviceIdentificationPage(bytes: [0x00, 0x83, 0x00, UInt8(body.count)] + body)
        XCTAssertEqual(page.relativeTargetPortID, 2)
        XCTAssertEqual(page.targetPortGroupID, 1)
        XCTAssertEqual(page.designators[1].protocolIdentifier, Designator.iscsiProtocolIdentifier)
        XCTAssertEqual(page.designators[1].association, .targetPort)
        XCTAssertEqual(page.designators[3].codeSet, .utf8)
        XCTAssertEqual(page.designators[3].type, .scsiNameString)
        XCTAssertEqual(page.designators[3].text, "iqn.2003-01.org.linux-iscsi.host:sn.1,t,0x0001")
        XCTAssertEqual(page.logicalUnitDesignators.count, 1)
        XCTAssertEqual(WWID.wwid(deviceIdentification: page), "36001405abcdef0123456789abcdef012")
    }

    func testDesignatorOverrunningThePageThrows() {
        // PAGE LENGTH 12 is honest, but the second designator claims 8 bytes and only 0 remain... of 4.
        let bytes: [UInt8] = [0x00, 0x83, 0x00, 0x0C, 0x01, 0x03, 0x00, 0x04, 0x30, 0, 0, 1, 0x01, 0x03, 0x00, 0x08]
        XCTAssertThrowsError(try DeviceIdentificationPage(bytes: bytes)) { error in
            XCTAssertEqual(
                error as? SCSIParseError,
                .truncated(
                    what: "VPD page 0x83 (device identification) designator at offset 12 identifier",
                    needed: 24, got: 16))
        }
    }

    func testTruncatedPageThrowsWithRequiredLength() {
        let cut = Array(TGT.deviceIdentification.prefix(40))
        XCTAssertThrowsError(try DeviceIdentificationPage(bytes: cut)) { error in
            XCTAssertEqual(
                "\(error)",
                "VPD page 0x83 (device identification) (page length 72) truncated: need 76 bytes, got 40")
        }
    }

    func testEmptyPage() throws {
        let page = try DeviceIdentificationPage(bytes: [0x00, 0x83, 0x00, 0x00])
        XCTAssertTrue(page.designators.isEmpty)
        XCTAssertNil(WWID.wwid(deviceIdentification: page))
    }
}
