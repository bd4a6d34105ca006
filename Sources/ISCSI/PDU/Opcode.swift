/// iSCSI opcodes (RFC 7143 §11.2.1.2). Initiator opcodes are below 0x20, target opcodes above.
public enum Opcode: UInt8, Sendable, CustomStringConvertible {
    case nopOut = 0x00
    case scsiCommand = 0x01
    case taskManagementRequest = 0x02
    case loginRequest = 0x03
    case textRequest = 0x04
    case dataOut = 0x05
    case logoutRequest = 0x06
    case snackRequest = 0x10
    case nopIn = 0x20
    case scsiResponse = 0x21
    case taskManagementResponse = 0x22
    case loginResponse = 0x23
    case textResponse = 0x24
    case dataIn = 0x25
    case logoutResponse = 0x26
    case readyToTransfer = 0x31
    case asyncMessage = 0x32
    case reject = 0x3f

    public var isTargetOpcode: Bool { rawValue >= 0x20 }

    public var description: String {
        switch self {
        case .nopOut: return "NOP-Out"
        case .scsiCommand: return "SCSI Command"
        case .taskManagementRequest: return "Task Management Request"
        case .loginRequest: return "Login Request"
        case .textRequest: return "Text Request"
        case .dataOut: return "Data-Out"
        case .logoutRequest: return "Logout Request"
        case .snackRequest: return "SNACK Request"
        case .nopIn: return "NOP-In"
        case .scsiResponse: return "SCSI Response"
        case .taskManagementResponse: return "Task Management Response"
        case .loginResponse: return "Login Response"
        case .textResponse: return "Text Response"
        case .dataIn: return "Data-In"
        case .logoutResponse: return "Logout Response"
        case .readyToTransfer: return "R2T"
        case .asyncMessage: return "Async Message"
        case .reject: return "Reject"
        }
    }
}

/// The reserved tag value meaning "no task" (ITT/TTT 0xffffffff).
public let reservedTag: UInt32 = 0xffff_ffff
