/// An ADDITIONAL SENSE CODE / ADDITIONAL SENSE CODE QUALIFIER pair (SPC-4 4.5.6, Annex D).
public struct AdditionalSenseCode: Hashable, Sendable, CustomStringConvertible {
    public let asc: UInt8
    public let ascq: UInt8

    public init(asc: UInt8, ascq: UInt8) {
        self.asc = asc
        self.ascq = ascq
    }

    /// "04/0A": the form sg3_utils and the kernel log use.
    public var description: String {
        twoHexDigits(asc, uppercase: true) + "/" + twoHexDigits(ascq, uppercase: true)
    }

    /// The T10 name when it is in our table (the codes an iSCSI disk initiator meets), else nil.
    public var name: String? {
        Self.names[UInt16(asc) << 8 | UInt16(ascq)]
    }

    // Codes the error classification refers to by name.
    public static let noAdditionalSenseInformation = AdditionalSenseCode(asc: 0x00, ascq: 0x00)
    public static let becomingReady = AdditionalSenseCode(asc: 0x04, ascq: 0x01)
    public static let asymmetricAccessStateTransition = AdditionalSenseCode(asc: 0x04, ascq: 0x0A)
    public static let targetPortInStandbyState = AdditionalSenseCode(asc: 0x04, ascq: 0x0B)
    public static let targetPortInUnavailableState = AdditionalSenseCode(asc: 0x04, ascq: 0x0C)
    public static let invalidCommandOperationCode = AdditionalSenseCode(asc: 0x20, ascq: 0x00)
    public static let invalidFieldInCDB = AdditionalSenseCode(asc: 0x24, ascq: 0x00)
    public static let logicalUnitNotSupported = AdditionalSenseCode(asc: 0x25, ascq: 0x00)
    public static let modeParametersChanged = AdditionalSenseCode(asc: 0x2A, ascq: 0x01)
    public static let asymmetricAccessStateChanged = AdditionalSenseCode(asc: 0x2A, ascq: 0x06)
    public static let capacityDataHasChanged = AdditionalSenseCode(asc: 0x2A, ascq: 0x09)
    public static let mediumNotPresent = AdditionalSenseCode(asc: 0x3A, ascq: 0x00)
    public static let inquiryDataHasChanged = AdditionalSenseCode(asc: 0x3F, ascq: 0x03)
    public static let reportedLunsDataHasChanged = AdditionalSenseCode(asc: 0x3F, ascq: 0x0E)

    private static let names: [UInt16: String] = [
        0x0000: "NO ADDITIONAL SENSE INFORMATION",
        0x0400: "LOGICAL UNIT NOT READY, CAUSE NOT REPORTABLE",
        0x0401: "LOGICAL UNIT IS IN PROCESS OF BECOMING READY",
        0x0402: "LOGICAL UNIT NOT READY, INITIALIZING COMMAND REQUIRED",
        0x0403: "LOGICAL UNIT NOT READY, MANUAL INTERVENTION REQUIRED",
        0x0404: "LOGICAL UNIT NOT READY, FORMAT IN PROGRESS",
        0x0407: "LOGICAL UNIT NOT READY, OPERATION IN PROGRESS",
        0x0409: "LOGICAL UNIT NOT READY, SELF-TEST IN PROGRESS",
        0x040A: "LOGICAL UNIT NOT ACCESSIBLE, ASYMMETRIC ACCESS STATE TRANSITION",
        0x040B: "LOGICAL UNIT NOT ACCESSIBLE, TARGET PORT IN STANDBY STATE",
        0x040C: "LOGICAL UNIT NOT ACCESSIBLE, TARGET PORT IN UNAVAILABLE STATE",
        0x0412: "LOGICAL UNIT NOT READY, OFFLINE",
        0x0500: "LOGICAL UNIT DOES NOT RESPOND TO SELECTION",
        0x0800: "LOGICAL UNIT COMMUNICATION FAILURE",
        0x0801: "LOGICAL UNIT COMMUNICATION TIME-OUT",
        0x0C00: "WRITE ERROR",
        0x1001: "LOGICAL BLOCK GUARD CHECK FAILED",
        0x1002: "LOGICAL BLOCK APPLICATION TAG CHECK FAILED",
        0x1003: "LOGICAL BLOCK REFERENCE TAG CHECK FAILED",
        0x1100: "UNRECOVERED READ ERROR",
        0x1A00: "PARAMETER LIST LENGTH ERROR",
        0x1D00: "MISCOMPARE DURING VERIFY OPERATION",
        0x2000: "INVALID COMMAND OPERATION CODE",
        0x2100: "LOGICAL BLOCK ADDRESS OUT OF RANGE",
        0x2400: "INVALID FIELD IN CDB",
        0x2500: "LOGICAL UNIT NOT SUPPORTED",
        0x2600: "INVALID FIELD IN PARAMETER LIST",
        0x2700: "WRITE PROTECTED",
        0x2707: "SPACE ALLOCATION FAILED WRITE PROTECT",
        0x2800: "NOT READY TO READY CHANGE, MEDIUM MAY HAVE CHANGED",
        0x2900: "POWER ON, RESET, OR BUS DEVICE RESET OCCURRED",
        0x2901: "POWER ON OCCURRED",
        0x2902: "SCSI BUS RESET OCCURRED",
        0x2903: "BUS DEVICE RESET FUNCTION OCCURRED",
        0x2904: "DEVICE INTERNAL RESET",
        0x2905: "TRANSCEIVER MODE CHANGED TO SINGLE-ENDED",
        0x2906: "TRANSCEIVER MODE CHANGED TO LVD",
        0x2907: "I_T NEXUS LOSS OCCURRED",
        0x2A00: "PARAMETERS CHANGED",
        0x2A01: "MODE PARAMETERS CHANGED",
        0x2A02: "LOG PARAMETERS CHANGED",
        0x2A03: "RESERVATIONS PREEMPTED",
        0x2A04: "RESERVATIONS RELEASED",
        0x2A05: "REGISTRATIONS PREEMPTED",
        0x2A06: "ASYMMETRIC ACCESS STATE CHANGED",
        0x2A07: "IMPLICIT ASYMMETRIC ACCESS STATE TRANSITION FAILED",
        0x2A09: "CAPACITY DATA HAS CHANGED",
        0x2C00: "COMMAND SEQUENCE ERROR",
        0x2F00: "COMMANDS CLEARED BY ANOTHER INITIATOR",
        0x3100: "MEDIUM FORMAT CORRUPTED",
        0x3807: "THIN PROVISIONING SOFT THRESHOLD REACHED",
        0x3A00: "MEDIUM NOT PRESENT",
        0x3E00: "LOGICAL UNIT HAS NOT SELF-CONFIGURED YET",
        0x3E01: "LOGICAL UNIT FAILURE",
        0x3E02: "TIMEOUT ON LOGICAL UNIT",
        0x3E03: "LOGICAL UNIT FAILED SELF-TEST",
        0x3E04: "LOGICAL UNIT UNABLE TO UPDATE SELF-TEST LOG",
        0x3F00: "TARGET OPERATING CONDITIONS HAVE CHANGED",
        0x3F01: "MICROCODE HAS BEEN CHANGED",
        0x3F02: "CHANGED OPERATING DEFINITION",
        0x3F03: "INQUIRY DATA HAS CHANGED",
        0x3F04: "COMPONENT DEVICE ATTACHED",
        0x3F05: "DEVICE IDENTIFIER CHANGED",
        0x3F0E: "REPORTED LUNS DATA HAS CHANGED",
        0x4400: "INTERNAL TARGET FAILURE",
        0x4700: "SCSI PARITY ERROR",
        0x4701: "DATA PHASE CRC ERROR DETECTED",
        0x4702: "SCSI PARITY ERROR DETECTED DURING ST DATA PHASE",
        0x4703: "INFORMATION UNIT IUCRC ERROR DETECTED",
        0x4704: "ASYNCHRONOUS INFORMATION PROTECTION ERROR DETECTED",
        0x4705: "PROTOCOL SERVICE CRC ERROR",
        0x4706: "PHY TEST FUNCTION IN PROGRESS",
        0x477F: "SOME COMMANDS CLEARED BY ISCSI PROTOCOL EVENT",
        0x4B00: "DATA PHASE ERROR",
        0x4B01: "INVALID TARGET PORT TRANSFER TAG RECEIVED",
        0x4B02: "TOO MUCH WRITE DATA",
        0x4B03: "ACK/NAK TIMEOUT",
        0x4B04: "NAK RECEIVED",
        0x4B05: "DATA OFFSET ERROR",
        0x4B06: "INITIATOR RESPONSE TIMEOUT",
        0x4B07: "CONNECTION LOST",
        0x4C00: "LOGICAL UNIT FAILED SELF-CONFIGURATION",
        0x4E00: "OVERLAPPED COMMANDS ATTEMPTED",
        0x5302: "MEDIUM REMOVAL PREVENTED",
        0x5503: "INSUFFICIENT RESOURCES",
        0x5D00: "FAILURE PREDICTION THRESHOLD EXCEEDED",
    ]
}
