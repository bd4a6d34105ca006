import XCTest

@testable import SCSI

final class InquiryTests: XCTestCase {
    func testTGTStandardInquiry() throws {
        let inquiry = try StandardInquiryData(bytes: TGT.standardInquiry)
        XCTAssertEqual(inquiry.peripheralQualifier, 0)
        XCTAssertEqual(inquiry.peripheralDeviceType, .directAccess)
        XCTAssertTrue(inquiry.peripheralDeviceType.isDisk)
        XCTAssertTrue(inquiry.isLogicalUnitPresent)
        XCTAssertFalse(inquiry.removable)
        XCTAssertEqual(inquiry.version, 5)
        XCTAssertEqual(inquiry.responseDataFormat, 2)
        XCTAssertTrue(inquiry.hierarchicalSupport)
        XCTAssertEqual(inquiry.targetPortGroupSupport, TargetPortGroupSupport.none)
        XCTAssertFalse(inquiry.supportsALUA)
        XCTAssertTrue(inquiry.commandQueuing)
        XCTAssertEqual(inquiry.vendor, "IET")
        XCTAssertEqual(inquiry.product, "VIRTUAL-DISK")
        XCTAssertEqual(inquiry.revision, "0001")
        XCTAssertEqual(inquiry.availableLength, 66)
    }

    func testTPGSBits() throws {
        var bytes = TGT.standardInquiry
        bytes[5] = 0x10  // implicit ALUA (LIO default)
        var inquiry = try StandardInquiryData(bytes: bytes)
        XCTAssertEqual(inquiry.targetPortGroupSupport, .implicit)
        XCTAssertTrue(inquiry.supportsALUA)
        XCTAssertTrue(inquiry.supportsImplicitALUA)
        XCTAssertFalse(inquiry.supportsExplicitALUA)

        bytes[5] = 0x38  // implicit + explicit, 3PC
        inquiry = try StandardInquiryData(bytes: bytes)
        XCTAssertEqual(inquiry.targetPortGroupSupport, .implicitAndExplicit)
        XCTAssertTrue(inquiry.supportsExplicitALUA)
        XCTAssertTrue(inquiry.thirdPartyCopy)

        bytes[5] = 0x20
        XCTAssertEqual(try StandardInquiryData(bytes: bytes).targetPortGroupSupport, .explicit)
    }

    func testMissingLUNAsTGTReportsIt() throws {
        var bytes = TGT.standardInquiry
        bytes[0] = 0x7F  // TYPE_NO_LUN: qualifier 3, type 0x1F
        let inquiry = try StandardInquiryData(bytes: bytes)
        XCTAssertEqual(inquiry.peripheralQualifier, 3)
        XCTAssertEqual(inquiry.peripheralDeviceType, .unknown)
        XCTAssertFalse(inquiry.isLogicalUnitPresent)
        XCTAssertFalse(inquiry.peripheralDeviceType.isDisk)
    }

    func testRBCIsDisk() {
        XCTAssertTrue(PeripheralDeviceType(rawValue: 0x0E).isDisk)
        XCTAssertFalse(PeripheralDeviceType.sequentialAccess.isDisk)
        XCTAssertEqual(PeripheralDeviceType(rawValue: 0x1B).description, "device type 0x1B")
    }

    func testNonPrintableVendorBytesAreMasked() throws {
        var bytes = TGT.standardInquiry
        bytes.replaceSubrange(8..<16, with: [0x41, 0x1B, 0x5B, 0x32, 0x4A, 0x20, 0x20, 0x20])
        XCTAssertEqual(try StandardInquiryData(bytes: bytes).vendor, "A?[2J")
    }

    func testShortStandardInquiryThrows() {
        XCTAssertThrowsError(try StandardInquiryData(bytes: TGT.standardInquiry.prefix(35))) { error in
            XCTAssertEqual(
                error as? SCSIParseError,
                .truncated(what: "standard INQUIRY data (vendor, product and revision)", needed: 36, got: 35))
            XCTAssertEqual(
                "\(error)",
                "standard INQUIRY data (vendor, product and revision) truncated: need 36 bytes, got 35")
        }
    }

    // MARK: VPD 0x00 and 0x80

    func testSupportedPages() throws {
        let pages = try SupportedVPDPages(bytes: TGT.supportedPages)
        XCTAssertEqual(pages.pageCodes, [0x00, 0x80, 0x83, 0xB0, 0xB2])
        XCTAssertTrue(pages.supports(VPD.blockLimits))
        XCTAssertFalse(pages.supports(VPD.blockDeviceCharacteristics))
    }

    func testUnitSerialNumberTrimsTGTPadding() throws {
        let page = try UnitSerialNumberPage(bytes: TGT.unitSerialNumber)
        XCTAssertEqual(page.serialNumber, "MPT0001")
        XCTAssertEqual(page.rawSerialNumber.count, 36)
    }

    func testVPDWrongPageCodeThrows() {
        XCTAssertThrowsError(try UnitSerialNumberPage(bytes: TGT.deviceIdentification)) { error in
            XCTAssertEqual(
                error as? SCSIParseError,
                .wrongPageCode(what: "VPD page 0x80 (unit serial number)", expected: 0x80, got: 0x83))
            XCTAssertEqual("\(error)", "VPD page 0x80 (unit serial number): wrong page code 0x83, expected 0x80")
        }
    }

    func testVPDShorterThanPageLengthThrows() {
        XCTAssertThrowsError(try SupportedVPDPages(bytes: TGT.supportedPages.prefix(6))) { error in
            XCTAssertEqual(
                error as? SCSIParseError,
                .truncated(what: "VPD page 0x00 (supported VPD pages) (page length 5)", needed: 9, got: 6))
        }
    }

    func testVPDRequiredLength() {
        XCTAssertEqual(VPD.requiredLength(ofPage: TGT.deviceIdentification.prefix(4)), 76)
        XCTAssertNil(VPD.requiredLength(ofPage: [0x00, 0x83, 0x00]))
    }

    // MARK: VPD 0xB0

    func testTGTBlockLimits() throws {
        let limits = try BlockLimitsPage(bytes: TGT.blockLimitsThin)
        XCTAssertEqual(limits.maximumCompareAndWriteLength, 128)
        XCTAssertEqual(limits.optimalTransferLengthGranularity, 0)
        XCTAssertEqual(limits.maximumTransferLength, 0)
        XCTAssertEqual(limits.maximumUnmapLBACount, 0xFFFF_FFFF)
        XCTAssertEqual(limits.maximumUnmapBlockDescriptorCount, 0xFFFF_FFFF)
        XCTAssertEqual(limits.optimalUnmapGranularity, 0)
        XCTAssertNil(limits.unmapGranularityAlignment)
        XCTAssertEqual(limits.maximumWriteSameLength, 0)
    }

    func testBlockLimitsAllFields() throws {
        let bytes = hex("""
            00 B0 00 3C 01 40 00 08  00 00 08 00 00 00 01 00
            00 00 00 10 00 40 00 00  00 00 00 20 00 00 00 08
            80 00 00 02 00 00 00 00  00 01 00 00
            """) + [UInt8](repeating: 0, count: 20)
        let limits = try BlockLimitsPage(bytes: bytes)
        XCTAssertTrue(limits.writeSameNonZero)
        XCTAssertEqual(limits.maximumCompareAndWriteLength, 0x40)
        XCTAssertEqual(limits.optimalTransferLengthGranularity, 8)
        XCTAssertEqual(limits.maximumTransferLength, 0x800)
        XCTAssertEqual(limits.optimalTransferLength, 0x100)
        XCTAssertEqual(limits.maximumPrefetchLength, 0x10)
        XCTAssertEqual(limits.maximumUnmapLBACount, 0x40_0000)
        XCTAssertEqual(limits.maximumUnmapBlockDescriptorCount, 0x20)
        XCTAssertEqual(limits.optimalUnmapGranularity, 8)
        XCTAssertEqual(limits.unmapGranularityAlignment, 2)
        XCTAssertEqual(limits.maximumWriteSameLength, 0x1_0000)
    }

    func testSBC2ShortBlockLimits() throws {
        let bytes = hex("00 B0 00 0C 00 00 00 01 00 00 04 00 00 00 00 80")
        let limits = try BlockLimitsPage(bytes: bytes)
        XCTAssertEqual(limits.optimalTransferLengthGranularity, 1)
        XCTAssertEqual(limits.maximumTransferLength, 0x400)
        XCTAssertEqual(limits.optimalTransferLength, 0x80)
        XCTAssertNil(limits.maximumPrefetchLength)
        XCTAssertNil(limits.maximumUnmapLBACount)
        XCTAssertNil(limits.maximumWriteSameLength)
    }

    func testBlockLimitsTooShortForSBC2Throws() {
        XCTAssertThrowsError(try BlockLimitsPage(bytes: hex("00 B0 00 04 00 00 00 01"))) { error in
            XCTAssertEqual(
                error as? SCSIParseError,
                .truncated(
                    what: "VPD page 0xB0 (block limits) (SBC-2 minimum, page length 0x0C)", needed: 16, got: 8))
        }
    }

    // MARK: VPD 0xB2

    func testTGTThinProvisioning() throws {
        let page = try LogicalBlockProvisioningPage(bytes: TGT.logicalBlockProvisioningThin)
        XCTAssertTrue(page.lbpu)
        XCTAssertTrue(page.lbpws)
        XCTAssertTrue(page.lbpws10)
        XCTAssertTrue(page.lbprz)
        XCTAssertEqual(page.lbprzField, 1)
        XCTAssertFalse(page.anchorSupported)
        XCTAssertEqual(page.provisioningType, .thin)
        XCTAssertTrue(page.supportsDeallocation)
    }

    func testFullyProvisioned() throws {
        let page = try LogicalBlockProvisioningPage(bytes: [0x00, 0xB2, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00])
        XCTAssertFalse(page.supportsDeallocation)
        XCTAssertFalse(page.lbprz)
        XCTAssertEqual(page.provisioningType, .full)
    }

    func testProvisioningFlagsAndPercentages() throws {
        let page = try LogicalBlockProvisioningPage(bytes: [0x00, 0xB2, 0x00, 0x04, 0x09, 0x83, 0x29, 0x32])
        XCTAssertEqual(page.thresholdExponent, 9)
        XCTAssertTrue(page.lbpu)
        XCTAssertFalse(page.lbpws)
        XCTAssertTrue(page.anchorSupported)
        XCTAssertTrue(page.descriptorPresent)
        XCTAssertEqual(page.minimumPercentage, 5)
        XCTAssertEqual(page.provisioningType, .resource)
        XCTAssertEqual(page.thresholdPercentage, 50)
    }

    func testShortProvisioningPageThrows() {
        XCTAssertThrowsError(try LogicalBlockProvisioningPage(bytes: [0x00, 0xB2, 0x00, 0x02, 0x00, 0x80]))
    }
}
