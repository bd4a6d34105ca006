import XCTest

@testable import SCSI

final class WWIDTests: XCTestCase {
    private func page(_ designators: [Designator]) throws -> DeviceIdentificationPage {
        let body = designators.flatMap(\.encoded)
        return try DeviceIdentificationPage(bytes: [0x00, 0x83] + bigEndianBytes(UInt16(body.count)) + body)
    }

    private func lu(_ type: Designator.DesignatorType, _ identifier: [UInt8], codeSet: Designator.CodeSet = .binary)
        -> Designator
    {
        Designator(codeSet: codeSet, association: .logicalUnit, type: type, identifier: identifier)
    }

    private let naa6 = hex("60 0a 0b 0c 0d 0e 0f 10 11 12 13 14 15 16 17 18")
    private let naa5 = hex("50 01 40 5a 00 00 00 01")
    private let naa2 = hex("20 00 00 11 22 33 44 55")
    private let naa3 = hex("30 00 00 01 00 00 00 01")
    private let eui = hex("00 11 22 33 44 55 66 77")

    func testTGTWWIDMatchesMultipathOutput() throws {
        let identification = try DeviceIdentificationPage(bytes: TGT.deviceIdentification)
        // The value `multipath -ll` printed for this LU in reference-stack-measured.md.
        XCTAssertEqual(WWID.wwid(deviceIdentification: identification), "360000000000000000000a000e0000001")
        XCTAssertEqual(WWID.make(deviceIdentification: identification)?.source, .naa(6))
    }

    func testNAA6BeatsEverythingWhateverTheOrder() throws {
        let designators = [
            lu(.t10VendorID, ascii("VENDOR  ID", paddedTo: 12), codeSet: .ascii),
            lu(.naa, naa3), lu(.eui64, eui), lu(.naa, naa5), lu(.naa, naa6),
        ]
        XCTAssertEqual(WWID.wwid(deviceIdentification: try page(designators)), "3600a0b0c0d0e0f101112131415161718")
    }

    func testNAA5BeatsNAA2AndEUI() throws {
        let designators = [lu(.eui64, eui), lu(.naa, naa2), lu(.naa, naa5)]
        XCTAssertEqual(WWID.wwid(deviceIdentification: try page(designators)), "35001405a00000001")
    }

    func testNAA2BeatsEUI() throws {
        XCTAssertEqual(
            WWID.wwid(deviceIdentification: try page([lu(.eui64, eui), lu(.naa, naa2)])), "32000001122334455")
    }

    func testEUI64BeatsNameStringAndT10() throws {
        let designators = [
            lu(.scsiNameString, ascii("naa.6001405ABC", paddedTo: 16, with: 0), codeSet: .utf8),
            lu(.t10VendorID, ascii("LIO-ORG x", paddedTo: 12), codeSet: .ascii),
            lu(.eui64, eui),
        ]
        let wwid = WWID.make(deviceIdentification: try page(designators))
        XCTAssertEqual(wwid?.value, "20011223344556677")
        XCTAssertEqual(wwid?.source, .eui64)
    }

    func testTwelveByteEUI64() throws {
        let eui12 = hex("00 11 22 33 44 55 66 77 88 99 aa bb")
        XCTAssertEqual(WWID.wwid(deviceIdentification: try page([lu(.eui64, eui12)])), "200112233445566778899aabb")
    }

    func testSCSINameStringPrefixes() throws {
        let naaName = lu(.scsiNameString, ascii("naa.6001405ABCDEF012", paddedTo: 20, with: 0), codeSet: .utf8)
        XCTAssertEqual(WWID.wwid(deviceIdentification: try page([naaName])), "36001405abcdef012")

        let euiName = lu(.scsiNameString, ascii("eui.0011223344AABBCC", paddedTo: 20, with: 0), codeSet: .utf8)
        XCTAssertEqual(WWID.wwid(deviceIdentification: try page([euiName])), "20011223344aabbcc")

        let iqnName = lu(.scsiNameString, ascii("iqn.2025-01.Test:LU1", paddedTo: 24, with: 0), codeSet: .utf8)
        XCTAssertEqual(WWID.wwid(deviceIdentification: try page([iqnName])), "82025-01.Test:LU1")
    }

    func testSCSINameStringWithOtherPrefixIsSkipped() throws {
        let other = lu(.scsiNameString, ascii("wwn.1234", paddedTo: 8, with: 0), codeSet: .utf8)
        XCTAssertNil(WWID.wwid(deviceIdentification: try page([other])))
    }

    func testNameStringBeatsT10() throws {
        let designators = [
            lu(.t10VendorID, ascii("LIO-ORG x", paddedTo: 12), codeSet: .ascii),
            lu(.scsiNameString, ascii("iqn.x", paddedTo: 8, with: 0), codeSet: .utf8),
        ]
        XCTAssertEqual(WWID.wwid(deviceIdentification: try page(designators)), "8x")
    }

    func testT10VendorIDCollapsesSpaces() throws {
        let t10 = lu(.t10VendorID, ascii("IET     00010001", paddedTo: 24, with: 0), codeSet: .ascii)
        let wwid = WWID.make(deviceIdentification: try page([t10]))
        XCTAssertEqual(wwid?.value, "1IET_00010001")
        XCTAssertEqual(wwid?.source, .t10VendorID)

        let trailing = lu(.t10VendorID, ascii("ACME    DISK  SN 42", paddedTo: 28), codeSet: .ascii)
        XCTAssertEqual(WWID.wwid(deviceIdentification: try page([trailing])), "1ACME_DISK_SN_42")
    }

    func testT10BeatsLocallyAssignedNAA() throws {
        let designators = [lu(.naa, naa3), lu(.t10VendorID, ascii("VENDOR01", paddedTo: 8), codeSet: .ascii)]
        XCTAssertEqual(WWID.wwid(deviceIdentification: try page(designators)), "1VENDOR01")
    }

    func testShortT10IsSkipped() throws {
        let designators = [lu(.t10VendorID, Array("VEND".utf8), codeSet: .ascii), lu(.naa, naa3)]
        XCTAssertEqual(WWID.wwid(deviceIdentification: try page(designators)), "33000000100000001")
    }

    func testNAAWithWrongLengthIsSkipped() throws {
        // NAA 6 must be 16 bytes; an 8-byte one is invalid and the locally assigned NAA wins.
        let designators = [lu(.naa, Array(naa6.prefix(8))), lu(.naa, naa3)]
        XCTAssertEqual(WWID.wwid(deviceIdentification: try page(designators)), "33000000100000001")
    }

    func testFirstOfEqualPriorityWins() throws {
        let second = hex("60 ff ff ff ff ff ff ff ff ff ff ff ff ff ff ff")
        XCTAssertEqual(
            WWID.wwid(deviceIdentification: try page([lu(.naa, naa6), lu(.naa, second)])),
            "3600a0b0c0d0e0f101112131415161718")
    }

    func testOnlyLogicalUnitAssociationCounts() throws {
        let portNAA = Designator(codeSet: .binary, association: .targetPort, type: .naa, identifier: naa6)
        let deviceNAA = Designator(codeSet: .binary, association: .targetDevice, type: .naa, identifier: naa5)
        XCTAssertNil(WWID.wwid(deviceIdentification: try page([portNAA, deviceNAA])))
        XCTAssertEqual(
            WWID.wwid(deviceIdentification: try page([portNAA, lu(.naa, naa3)])), "33000000100000001")
    }

    func testSerialFallbackWithoutDesignators() throws {
        let inquiry = try StandardInquiryData(bytes: TGT.standardInquiry)
        let serial = try UnitSerialNumberPage(bytes: TGT.unitSerialNumber)
        let empty = try page([])
        let wwid = WWID.make(deviceIdentification: empty, serialNumber: serial, inquiry: inquiry)
        XCTAssertEqual(wwid?.value, "SIET_VIRTUAL-DISK_MPT0001")
        XCTAssertEqual(wwid?.source, .unitSerialNumber)
        XCTAssertEqual(WWID.wwid(deviceIdentification: nil, serialNumber: serial, inquiry: inquiry), wwid?.value)
    }

    func testSerialFallbackReplacesSpaces() throws {
        var inquiryBytes = TGT.standardInquiry
        inquiryBytes.replaceSubrange(16..<32, with: ascii("VIRTUAL DISK", paddedTo: 16))
        let inquiry = try StandardInquiryData(bytes: inquiryBytes)
        let serial = try UnitSerialNumberPage(bytes: [0x00, 0x80, 0x00, 0x08] + Array(" AB  CD ".utf8))
        XCTAssertEqual(
            WWID.wwid(deviceIdentification: nil, serialNumber: serial, inquiry: inquiry),
            "SIET_VIRTUAL_DISK_AB__CD")
    }

    func testDesignatorBeatsSerial() throws {
        let identification = try DeviceIdentificationPage(bytes: TGT.deviceIdentification)
        let serial = try UnitSerialNumberPage(bytes: TGT.unitSerialNumber)
        XCTAssertEqual(
            WWID.wwid(deviceIdentification: identification, serialNumber: serial),
            "360000000000000000000a000e0000001")
    }

    func testNoIdentityAtAll() throws {
        let blankSerial = try UnitSerialNumberPage(bytes: [0x00, 0x80, 0x00, 0x04, 0x20, 0x20, 0x20, 0x20])
        XCTAssertNil(WWID.wwid(deviceIdentification: nil, serialNumber: blankSerial))
        XCTAssertNil(WWID.wwid(deviceIdentification: nil))
    }
}
