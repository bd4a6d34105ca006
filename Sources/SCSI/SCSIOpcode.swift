/// SCSI operation codes (byte 0 of a CDB) this initiator sends or may see in logs.
public enum SCSIOpcode: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    case testUnitReady = 0x00
    case requestSense = 0x03
    case formatUnit = 0x04
    case read6 = 0x08
    case write6 = 0x0A
    case inquiry = 0x12
    case modeSelect6 = 0x15
    case reserve6 = 0x16
    case release6 = 0x17
    case modeSense6 = 0x1A
    case startStopUnit = 0x1B
    case sendDiagnostic = 0x1D
    case preventAllowMediumRemoval = 0x1E
    case readCapacity10 = 0x25
    case read10 = 0x28
    case write10 = 0x2A
    case writeAndVerify10 = 0x2E
    case verify10 = 0x2F
    case prefetch10 = 0x34
    case synchronizeCache10 = 0x35
    case writeBuffer = 0x3B
    case readBuffer = 0x3C
    case writeSame10 = 0x41
    case unmap = 0x42
    case modeSelect10 = 0x55
    case modeSense10 = 0x5A
    case persistentReserveIn = 0x5E
    case persistentReserveOut = 0x5F
    case extendedCopy = 0x83
    case receiveCopyResults = 0x84
    case read16 = 0x88
    case compareAndWrite = 0x89
    case write16 = 0x8A
    case writeAndVerify16 = 0x8E
    case verify16 = 0x8F
    case prefetch16 = 0x90
    case synchronizeCache16 = 0x91
    case writeSame16 = 0x93
    case serviceActionIn16 = 0x9E
    case reportLuns = 0xA0
    case maintenanceIn = 0xA3
    case maintenanceOut = 0xA4
    case read12 = 0xA8
    case write12 = 0xAA
    case writeAndVerify12 = 0xAE
    case verify12 = 0xAF

    /// The T10 name, e.g. "READ(16)".
    public var name: String {
        switch self {
        case .testUnitReady: return "TEST UNIT READY"
        case .requestSense: return "REQUEST SENSE"
        case .formatUnit: return "FORMAT UNIT"
        case .read6: return "READ(6)"
        case .write6: return "WRITE(6)"
        case .inquiry: return "INQUIRY"
        case .modeSelect6: return "MODE SELECT(6)"
        case .reserve6: return "RESERVE(6)"
        case .release6: return "RELEASE(6)"
        case .modeSense6: return "MODE SENSE(6)"
        case .startStopUnit: return "START STOP UNIT"
        case .sendDiagnostic: return "SEND DIAGNOSTIC"
        case .preventAllowMediumRemoval: return "PREVENT ALLOW MEDIUM REMOVAL"
        case .readCapacity10: return "READ CAPACITY(10)"
        case .read10: return "READ(10)"
        case .write10: return "WRITE(10)"
        case .writeAndVerify10: return "WRITE AND VERIFY(10)"
        case .verify10: return "VERIFY(10)"
        case .prefetch10: return "PRE-FETCH(10)"
        case .synchronizeCache10: return "SYNCHRONIZE CACHE(10)"
        case .writeBuffer: return "WRITE BUFFER"
        case .readBuffer: return "READ BUFFER"
        case .writeSame10: return "WRITE SAME(10)"
        case .unmap: return "UNMAP"
        case .modeSelect10: return "MODE SELECT(10)"
        case .modeSense10: return "MODE SENSE(10)"
        case .persistentReserveIn: return "PERSISTENT RESERVE IN"
        case .persistentReserveOut: return "PERSISTENT RESERVE OUT"
        case .extendedCopy: return "EXTENDED COPY"
        case .receiveCopyResults: return "RECEIVE COPY RESULTS"
        case .read16: return "READ(16)"
        case .compareAndWrite: return "COMPARE AND WRITE"
        case .write16: return "WRITE(16)"
        case .writeAndVerify16: return "WRITE AND VERIFY(16)"
        case .verify16: return "VERIFY(16)"
        case .prefetch16: return "PRE-FETCH(16)"
        case .synchronizeCache16: return "SYNCHRONIZE CACHE(16)"
        case .writeSame16: return "WRITE SAME(16)"
        case .serviceActionIn16: return "SERVICE ACTION IN(16)"
        case .reportLuns: return "REPORT LUNS"
        case .maintenanceIn: return "MAINTENANCE IN"
        case .maintenanceOut: return "MAINTENANCE OUT"
        case .read12: return "READ(12)"
        case .write12: return "WRITE(12)"
        case .writeAndVerify12: return "WRITE AND VERIFY(12)"
        case .verify12: return "VERIFY(12)"
        }
    }

    public var description: String { name }
}

/// Service action codes used with SERVICE ACTION IN(16) and MAINTENANCE IN/OUT.
public enum SCSIServiceAction {
    /// SERVICE ACTION IN(16) 0x10: READ CAPACITY(16).
    public static let readCapacity16: UInt8 = 0x10
    /// SERVICE ACTION IN(16) 0x12: GET LBA STATUS.
    public static let getLBAStatus: UInt8 = 0x12
    /// MAINTENANCE IN 0x0A: REPORT TARGET PORT GROUPS.
    public static let reportTargetPortGroups: UInt8 = 0x0A
    /// MAINTENANCE IN 0x0C: REPORT SUPPORTED OPERATION CODES.
    public static let reportSupportedOperationCodes: UInt8 = 0x0C
    /// MAINTENANCE OUT 0x0A: SET TARGET PORT GROUPS.
    public static let setTargetPortGroups: UInt8 = 0x0A
}
