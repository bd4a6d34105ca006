import XCTest

@testable import SCSI

final class SenseTests: XCTestCase {
    func testFixedFormatALUATransition() throws {
        let sense = try SenseData(bytes: TGT.fixedSense(key: 0x02, asc: 0x04, ascq: 0x0A))
        XCTAssertEqual(sense.format, .fixed)
        XCTAssertEqual(sense.responseCode, 0x70)
        XCTAssertTrue(sense.isCurrent)
        XCTAssertFalse(sense.isDeferred)
        XCTAssertEqual(sense.senseKey, .notReady)
        XCTAssertEqual(sense.asc, 0x04)
        XCTAssertEqual(sense.ascq, 0x0A)
        XCTAssertNil(sense.information)
        XCTAssertNil(sense.senseKeySpecific)
        XCTAssertEqual(
            sense.description,
            "NOT READY, ASC/ASCQ 04/0A (LOGICAL UNIT NOT ACCESSIBLE, ASYMMETRIC ACCESS STATE TRANSITION)")
    }

    func testFixedFormatWithInformationAndFieldPointer() throws {
        // VALID set, INFORMATION 0x00123456, ILLEGAL REQUEST 24/00 with SKSV, C/D=1, BPV=1 bit 3, byte 2.
        let bytes = hex("F0 00 25 00 12 34 56 0A 00 00 00 07 24 00 00 CB 00 02")
        let sense = try SenseData(bytes: bytes)
        XCTAssertEqual(sense.senseKey, .illegalRequest)
        XCTAssertTrue(sense.incorrectLengthIndicator)
        XCTAssertFalse(sense.filemark)
        XCTAssertEqual(sense.information, 0x0012_3456)
        XCTAssertEqual(sense.commandSpecificInformation, 7)
        XCTAssertEqual(sense.senseKeySpecific, .fieldPointer(inCDB: true, bitPointer: 3, byteOffset: 2))
        XCTAssertEqual(sense.description, "ILLEGAL REQUEST, ASC/ASCQ 24/00 (INVALID FIELD IN CDB)")
    }

    func testFixedFormatInformationIgnoredWithoutValidBit() throws {
        let bytes = hex("70 00 03 00 12 34 56 0A 00 00 00 00 11 00 00 00 00 00")
        let sense = try SenseData(bytes: bytes)
        XCTAssertEqual(sense.senseKey, .mediumError)
        XCTAssertNil(sense.information)
        XCTAssertEqual(sense.description, "MEDIUM ERROR, ASC/ASCQ 11/00 (UNRECOVERED READ ERROR)")
    }

    func testFixedFormatDeferred() throws {
        let sense = try SenseData(bytes: hex("71 00 04 00 00 00 00 0A 00 00 00 00 44 00 00 00 00 00"))
        XCTAssertTrue(sense.isDeferred)
        XCTAssertEqual(sense.senseKey, .hardwareError)
        XCTAssertEqual(sense.description, "HARDWARE ERROR, ASC/ASCQ 44/00 (INTERNAL TARGET FAILURE) [deferred]")
    }

    func testFixedFormatShortAdditionalLengthHidesASC() throws {
        // ADDITIONAL SENSE LENGTH 4: bytes 12+ are padding, so ASC/ASCQ read as zero (sg3_utils rule).
        let sense = try SenseData(bytes: hex("70 00 06 00 00 00 00 04 00 00 00 00 29 00 00 00 00 00"))
        XCTAssertEqual(sense.senseKey, .unitAttention)
        XCTAssertEqual(sense.asc, 0)
        XCTAssertEqual(sense.ascq, 0)
    }

    func testFixedFormatCutAfterSenseKey() throws {
        let sense = try SenseData(bytes: [0x70, 0x00, 0x0B])
        XCTAssertEqual(sense.senseKey, .abortedCommand)
        XCTAssertEqual(sense.additionalSenseCode, .noAdditionalSenseInformation)
    }

    func testFixedFormatProgressIndication() throws {
        let sense = try SenseData(bytes: hex("70 00 02 00 00 00 00 0A 00 00 00 00 04 04 00 80 80 00"))
        XCTAssertEqual(sense.senseKeySpecific, .progress(0x8000))
        XCTAssertEqual(
            sense.description,
            "NOT READY, ASC/ASCQ 04/04 (LOGICAL UNIT NOT READY, FORMAT IN PROGRESS)")
    }

    func testDescriptorFormatWithInformation() throws {
        // 72h, MEDIUM ERROR 11/00, information descriptor with VALID and LBA 0x0102030405060708,
        // then a sense-key-specific descriptor (actual retry count 5).
        let bytes = hex("""
            72 03 11 00 00 00 00 14
            00 0A 80 00 01 02 03 04 05 06 07 08
            02 06 00 00 80 00 05 00
            """)
        let sense = try SenseData(bytes: bytes)
        XCTAssertEqual(sense.format, .descriptor)
        XCTAssertTrue(sense.isCurrent)
        XCTAssertEqual(sense.senseKey, .mediumError)
        XCTAssertEqual(sense.information, 0x0102_0304_0506_0708)
        XCTAssertEqual(sense.senseKeySpecific, .actualRetryCount(5))
        XCTAssertEqual(sense.description, "MEDIUM ERROR, ASC/ASCQ 11/00 (UNRECOVERED READ ERROR)")
    }

    func testDescriptorFormatUnitAttention() throws {
        let sense = try SenseData(bytes: hex("72 06 2A 09 00 00 00 00"))
        XCTAssertEqual(sense.senseKey, .unitAttention)
        XCTAssertEqual(sense.additionalSenseCode, .capacityDataHasChanged)
        XCTAssertNil(sense.information)
        XCTAssertEqual(sense.description, "UNIT ATTENTION, ASC/ASCQ 2A/09 (CAPACITY DATA HAS CHANGED)")
    }

    func testDescriptorFormatDeferred() throws {
        let sense = try SenseData(bytes: hex("73 04 44 00 00 00 00 00"))
        XCTAssertTrue(sense.isDeferred)
        XCTAssertEqual(sense.format, .descriptor)
    }

    func testDescriptorIgnoresInformationWithoutValidBit() throws {
        let sense = try SenseData(bytes: hex("72 03 11 00 00 00 00 0C 00 0A 00 00 01 02 03 04 05 06 07 08"))
        XCTAssertNil(sense.information)
    }

    func testDescriptorCutMidwayKeepsHeader() throws {
        // ADDITIONAL SENSE LENGTH promises 12 bytes but only 6 arrived: the descriptor is dropped.
        let sense = try SenseData(bytes: hex("72 03 11 00 00 00 00 0C 00 0A 80 00 01 02"))
        XCTAssertEqual(sense.senseKey, .mediumError)
        XCTAssertNil(sense.information)
    }

    func testDescriptorBlockCommandsILI() throws {
        let sense = try SenseData(bytes: hex("72 05 24 00 00 00 00 04 05 02 00 20"))
        XCTAssertTrue(sense.incorrectLengthIndicator)
    }

    func testUnknownASCHasNoName() throws {
        let sense = try SenseData(bytes: TGT.fixedSense(key: 0x0B, asc: 0x99, ascq: 0x01))
        XCTAssertEqual(sense.description, "ABORTED COMMAND, ASC/ASCQ 99/01")
    }

    func testEmptyThrows() {
        XCTAssertThrowsError(try SenseData(bytes: [])) { error in
            XCTAssertEqual(error as? SenseError, .empty)
            XCTAssertEqual("\(error)", "sense data empty")
        }
    }

    func testTruncatedFixedThrows() {
        XCTAssertThrowsError(try SenseData(bytes: [0x70, 0x00])) { error in
            XCTAssertEqual(error as? SenseError, .truncated(format: "fixed", needed: 3, got: 2))
            XCTAssertEqual("\(error)", "fixed-format sense data truncated: need 3 bytes, got 2")
        }
    }

    func testTruncatedDescriptorThrows() {
        XCTAssertThrowsError(try SenseData(bytes: [0x72, 0x02, 0x04])) { error in
            XCTAssertEqual(error as? SenseError, .truncated(format: "descriptor", needed: 4, got: 3))
        }
    }

    func testUnsupportedResponseCodeThrows() {
        XCTAssertThrowsError(try SenseData(bytes: [0x7F, 0, 0, 0, 0, 0, 0, 0])) { error in
            XCTAssertEqual(error as? SenseError, .unsupportedResponseCode(0x7F))
            XCTAssertEqual("\(error)", "sense data has unsupported response code 0x7F (expected 0x70-0x73)")
        }
        XCTAssertThrowsError(try SenseData(bytes: [0x00, 0x02, 0x04, 0x0A]))
    }

    func testAllSenseKeysHaveNames() {
        XCTAssertEqual(SenseKey.allCases.count, 16)
        XCTAssertEqual(Set(SenseKey.allCases.map(\.name)).count, 16)
        XCTAssertEqual(SenseKey.dataProtect.name, "DATA PROTECT")
        XCTAssertEqual(SenseKey.completed.rawValue, 0x0F)
    }

    func testRequiredASCNamesPresent() {
        let required: [(UInt8, UInt8)] = [
            (0x04, 0x01), (0x04, 0x02), (0x04, 0x03), (0x04, 0x0A), (0x04, 0x0B), (0x04, 0x0C),
            (0x0C, 0x00), (0x11, 0x00), (0x20, 0x00), (0x21, 0x00), (0x24, 0x00), (0x25, 0x00),
            (0x26, 0x00), (0x27, 0x00), (0x28, 0x00), (0x2A, 0x01), (0x2A, 0x06), (0x2A, 0x09),
            (0x3A, 0x00), (0x3F, 0x03), (0x3F, 0x0E), (0x44, 0x00), (0x47, 0x00), (0x47, 0x01),
            (0x4B, 0x00), (0x4B, 0x07), (0x3E, 0x00), (0x3E, 0x01),
        ] + (0x00...0x07).map { (UInt8(0x29), UInt8($0)) }
        for (asc, ascq) in required {
            let code = AdditionalSenseCode(asc: asc, ascq: ascq)
            XCTAssertNotNil(code.name, "no name for \(code)")
        }
    }

    func testFixedEncodingRoundTrips() throws {
        let original = SenseData(
            senseKey: .illegalRequest, asc: 0x24, ascq: 0x00, information: 0xDEAD,
            senseKeySpecific: .fieldPointer(inCDB: true, bitPointer: nil, byteOffset: 1))
        let bytes = original.fixedFormatBytes()
        XCTAssertEqual(bytes, hex("F0 00 05 00 00 DE AD 0A 00 00 00 00 24 00 00 C0 00 01"))
        XCTAssertEqual(try SenseData(bytes: bytes), original)
    }

    func testDescriptorEncodingRoundTrips() throws {
        let original = SenseData(
            senseKey: .mediumError, asc: 0x11, ascq: 0x00, information: 0x1_0000_0000,
            isDeferred: true, format: .descriptor)
        let bytes = original.descriptorFormatBytes()
        XCTAssertEqual(bytes, hex("73 03 11 00 00 00 00 0C 00 0A 80 00 00 00 00 01 00 00 00 00"))
        XCTAssertEqual(try SenseData(bytes: bytes), original)
    }

    func testStatusDescriptions() {
        XCTAssertEqual(SCSIStatus.checkCondition.description, "CHECK CONDITION")
        XCTAssertEqual(SCSIStatus.taskSetFull.description, "TASK SET FULL")
        XCTAssertEqual(SCSIStatus.reservationConflict.rawValue, 0x18)
        XCTAssertEqual(SCSIStatus(rawValue: 0x7E).description, "UNKNOWN STATUS 0x7E")
    }
}
