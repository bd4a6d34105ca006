import XCTest

@testable import SCSI

/// One assertion per row of the classification table in ErrorClassification.swift.
final class ClassificationTests: XCTestCase {
    /// The disposition without its free-text reason, so rows compare by kind.
    enum Kind: Equatable {
        case success
        case retrySamePath(backoff: Bool)
        case retryOtherPath
        case failIO
        case event(SCSIEvent, thenRetry: Bool)
    }

    private func kind(_ disposition: SCSIDisposition) -> Kind {
        switch disposition {
        case .success: return .success
        case let .retrySamePath(_, backoff): return .retrySamePath(backoff: backoff)
        case .retryOtherPath: return .retryOtherPath
        case .failIO: return .failIO
        case let .event(event, thenRetry): return .event(event, thenRetry: thenRetry)
        }
    }

    private func checkCondition(_ key: SenseKey, _ asc: UInt8, _ ascq: UInt8, deferred: Bool = false) -> Kind {
        let sense = SenseData(senseKey: key, asc: asc, ascq: ascq, isDeferred: deferred)
        return kind(SCSIDisposition.classify(status: .checkCondition, sense: sense))
    }

    private func status(_ status: SCSIStatus) -> Kind {
        kind(SCSIDisposition.classify(status: status, sense: nil))
    }

    // MARK: Status without sense

    func testGood() { XCTAssertEqual(status(.good), .success) }
    func testConditionMet() { XCTAssertEqual(status(.conditionMet), .success) }
    func testBusy() { XCTAssertEqual(status(.busy), .retrySamePath(backoff: true)) }
    func testTaskSetFull() { XCTAssertEqual(status(.taskSetFull), .retrySamePath(backoff: true)) }
    func testReservationConflict() { XCTAssertEqual(status(.reservationConflict), .failIO) }
    func testTaskAborted() { XCTAssertEqual(status(.taskAborted), .retrySamePath(backoff: false)) }
    func testACAActive() { XCTAssertEqual(status(.acaActive), .retrySamePath(backoff: true)) }
    func testCheckConditionWithoutSense() { XCTAssertEqual(status(.checkCondition), .retrySamePath(backoff: false)) }
    func testUnknownStatus() { XCTAssertEqual(status(SCSIStatus(rawValue: 0x22)), .retryOtherPath) }

    func testGoodIgnoresSense() {
        let sense = SenseData(senseKey: .mediumError, asc: 0x11, ascq: 0)
        XCTAssertEqual(kind(SCSIDisposition.classify(status: .good, sense: sense)), .success)
    }

    // MARK: NOT READY

    func testTransitioning() {
        XCTAssertEqual(checkCondition(.notReady, 0x04, 0x0A), .event(.transitioning, thenRetry: true))
        XCTAssertTrue(SCSIEvent.transitioning.advisesDelay)
    }

    func testStandby() { XCTAssertEqual(checkCondition(.notReady, 0x04, 0x0B), .retryOtherPath) }
    func testUnavailable() { XCTAssertEqual(checkCondition(.notReady, 0x04, 0x0C), .retryOtherPath) }
    func testManualIntervention() { XCTAssertEqual(checkCondition(.notReady, 0x04, 0x03), .retryOtherPath) }
    func testMediumNotPresent() { XCTAssertEqual(checkCondition(.notReady, 0x3A, 0x00), .retryOtherPath) }
    func testTGTOfflineLU() { XCTAssertEqual(checkCondition(.notReady, 0x04, 0x01), .retryOtherPath) }
    func testNotReadyCauseNotReportable() { XCTAssertEqual(checkCondition(.notReady, 0x04, 0x00), .retryOtherPath) }

    func testTGTOfflineLUFromWireBytes() {
        // tgt spc_test_unit with online=0: fixed sense, NOT READY 04/01.
        let disposition = SCSIDisposition.classify(
            status: .checkCondition, senseBytes: TGT.fixedSense(key: 0x02, asc: 0x04, ascq: 0x01))
        XCTAssertEqual(kind(disposition), .retryOtherPath)
    }

    // MARK: ILLEGAL REQUEST

    func testLUNNotSupported() { XCTAssertEqual(checkCondition(.illegalRequest, 0x25, 0x00), .retryOtherPath) }
    func testInvalidFieldInCDB() { XCTAssertEqual(checkCondition(.illegalRequest, 0x24, 0x00), .failIO) }
    func testInvalidOpcode() { XCTAssertEqual(checkCondition(.illegalRequest, 0x20, 0x00), .failIO) }
    func testLBAOutOfRange() { XCTAssertEqual(checkCondition(.illegalRequest, 0x21, 0x00), .failIO) }
    func testInvalidFieldInParameterList() { XCTAssertEqual(checkCondition(.illegalRequest, 0x26, 0x00), .failIO) }

    // MARK: Other keys

    func testRecoveredError() { XCTAssertEqual(checkCondition(.recoveredError, 0x17, 0x01), .success) }
    func testCompleted() { XCTAssertEqual(checkCondition(.completed, 0x00, 0x00), .success) }
    func testNoSense() { XCTAssertEqual(checkCondition(.noSense, 0x00, 0x00), .retrySamePath(backoff: false)) }
    func testMediumError() { XCTAssertEqual(checkCondition(.mediumError, 0x11, 0x00), .failIO) }
    func testWriteError() { XCTAssertEqual(checkCondition(.mediumError, 0x0C, 0x00), .failIO) }
    func testHardwareError() { XCTAssertEqual(checkCondition(.hardwareError, 0x44, 0x00), .retryOtherPath) }
    func testDataProtect() { XCTAssertEqual(checkCondition(.dataProtect, 0x27, 0x00), .failIO) }
    func testSpaceAllocationFailed() { XCTAssertEqual(checkCondition(.dataProtect, 0x27, 0x07), .failIO) }
    func testMiscompare() { XCTAssertEqual(checkCondition(.miscompare, 0x1D, 0x00), .failIO) }
    func testBlankCheck() { XCTAssertEqual(checkCondition(.blankCheck, 0x00, 0x00), .failIO) }
    func testCopyAborted() { XCTAssertEqual(checkCondition(.copyAborted, 0x00, 0x00), .failIO) }
    func testVolumeOverflow() { XCTAssertEqual(checkCondition(.volumeOverflow, 0x00, 0x00), .failIO) }
    func testVendorSpecificKey() { XCTAssertEqual(checkCondition(.vendorSpecific, 0x80, 0x00), .failIO) }

    // MARK: ABORTED COMMAND

    func testAbortedCommandGeneric() {
        XCTAssertEqual(checkCondition(.abortedCommand, 0x00, 0x00), .retrySamePath(backoff: false))
    }

    func testAbortedCommandOverlapped() {
        XCTAssertEqual(checkCondition(.abortedCommand, 0x4E, 0x00), .retrySamePath(backoff: false))
    }

    func testAbortedCommandCRC() { XCTAssertEqual(checkCondition(.abortedCommand, 0x47, 0x01), .retryOtherPath) }
    func testAbortedCommandISCSIEvent() { XCTAssertEqual(checkCondition(.abortedCommand, 0x47, 0x7F), .retryOtherPath) }
    func testAbortedCommandConnectionLost() {
        XCTAssertEqual(checkCondition(.abortedCommand, 0x4B, 0x07), .retryOtherPath)
    }
    func testAbortedCommandDataOffset() { XCTAssertEqual(checkCondition(.abortedCommand, 0x4B, 0x05), .retryOtherPath) }
    func testAbortedCommandGuardCheck() { XCTAssertEqual(checkCondition(.abortedCommand, 0x10, 0x01), .failIO) }

    // MARK: UNIT ATTENTION

    func testPowerOnReset() {
        XCTAssertEqual(checkCondition(.unitAttention, 0x29, 0x00), .event(.reset, thenRetry: true))
    }

    func testITNexusLoss() {
        XCTAssertEqual(checkCondition(.unitAttention, 0x29, 0x07), .event(.reset, thenRetry: true))
    }

    func testCapacityChanged() {
        XCTAssertEqual(checkCondition(.unitAttention, 0x2A, 0x09), .event(.capacityChanged, thenRetry: true))
    }

    func testLunsChanged() {
        XCTAssertEqual(checkCondition(.unitAttention, 0x3F, 0x0E), .event(.lunsChanged, thenRetry: true))
    }

    func testInquiryDataChanged() {
        XCTAssertEqual(checkCondition(.unitAttention, 0x3F, 0x03), .event(.inquiryDataChanged, thenRetry: true))
    }

    func testAsymmetricAccessStateChanged() {
        XCTAssertEqual(
            checkCondition(.unitAttention, 0x2A, 0x06), .event(.asymmetricAccessStateChanged, thenRetry: true))
    }

    func testImplicitTransitionFailed() {
        XCTAssertEqual(
            checkCondition(.unitAttention, 0x2A, 0x07), .event(.asymmetricAccessStateChanged, thenRetry: true))
    }

    func testModeParametersChanged() {
        XCTAssertEqual(checkCondition(.unitAttention, 0x2A, 0x01), .event(.modeParametersChanged, thenRetry: true))
    }

    func testReservationsPreempted() {
        XCTAssertEqual(checkCondition(.unitAttention, 0x2A, 0x03), .event(.reservationsChanged, thenRetry: true))
    }

    func testParametersChanged() {
        XCTAssertEqual(checkCondition(.unitAttention, 0x2A, 0x00), .event(.parametersChanged, thenRetry: true))
    }

    func testMediumMayHaveChanged() {
        XCTAssertEqual(checkCondition(.unitAttention, 0x28, 0x00), .event(.mediumMayHaveChanged, thenRetry: true))
    }

    func testThinProvisioningThreshold() {
        XCTAssertEqual(
            checkCondition(.unitAttention, 0x38, 0x07), .event(.thinProvisioningThresholdReached, thenRetry: true))
    }

    func testMicrocodeChanged() {
        XCTAssertEqual(checkCondition(.unitAttention, 0x3F, 0x01), .event(.targetConditionsChanged, thenRetry: true))
    }

    func testUnknownUnitAttention() {
        XCTAssertEqual(checkCondition(.unitAttention, 0x2F, 0x00), .retrySamePath(backoff: false))
    }

    // MARK: Deferred errors and transport convenience

    func testDeferredErrorRetriesTheCommand() {
        XCTAssertEqual(checkCondition(.mediumError, 0x0C, 0x00, deferred: true), .retrySamePath(backoff: false))
    }

    func testDeferredRecoveredErrorIsSuccess() {
        XCTAssertEqual(checkCondition(.recoveredError, 0x17, 0x01, deferred: true), .success)
    }

    func testUndecodableSenseBytesCountAsNoSense() {
        let disposition = SCSIDisposition.classify(status: .checkCondition, senseBytes: [0x00, 0x01])
        XCTAssertEqual(kind(disposition), .retrySamePath(backoff: false))
    }

    func testReasonCarriesSenseDescription() {
        let sense = SenseData(senseKey: .illegalRequest, asc: 0x25, ascq: 0x00)
        XCTAssertEqual(
            SCSIDisposition.classify(status: .checkCondition, sense: sense),
            .retryOtherPath(reason: "ILLEGAL REQUEST, ASC/ASCQ 25/00 (LOGICAL UNIT NOT SUPPORTED)"))
        XCTAssertEqual(
            SCSIDisposition.classify(status: .busy, sense: nil),
            .retrySamePath(reason: "status BUSY", backoff: true))
    }
}
