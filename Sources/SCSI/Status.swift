/// A SAM-5 status byte as carried in the iSCSI SCSI Response PDU.
///
/// A struct rather than an enum so a status no revision defines still round-trips and can be logged.
public struct SCSIStatus: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt8

    public init(rawValue: UInt8) {
        self.rawValue = rawValue
    }

    public static let good = SCSIStatus(rawValue: 0x00)
    public static let checkCondition = SCSIStatus(rawValue: 0x02)
    public static let conditionMet = SCSIStatus(rawValue: 0x04)
    public static let busy = SCSIStatus(rawValue: 0x08)
    public static let reservationConflict = SCSIStatus(rawValue: 0x18)
    public static let taskSetFull = SCSIStatus(rawValue: 0x28)
    public static let acaActive = SCSIStatus(rawValue: 0x30)
    public static let taskAborted = SCSIStatus(rawValue: 0x40)

    /// The SAM name, e.g. "CHECK CONDITION"; obsolete and unknown values are shown with their hex.
    public var description: String {
        switch rawValue {
        case 0x00: return "GOOD"
        case 0x02: return "CHECK CONDITION"
        case 0x04: return "CONDITION MET"
        case 0x08: return "BUSY"
        case 0x10: return "INTERMEDIATE (obsolete, 0x10)"
        case 0x14: return "INTERMEDIATE-CONDITION MET (obsolete, 0x14)"
        case 0x18: return "RESERVATION CONFLICT"
        case 0x22: return "COMMAND TERMINATED (obsolete, 0x22)"
        case 0x28: return "TASK SET FULL"
        case 0x30: return "ACA ACTIVE"
        case 0x40: return "TASK ABORTED"
        default: return "UNKNOWN STATUS \(hexByte(rawValue))"
        }
    }
}
