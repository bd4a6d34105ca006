import NIOCore

/// NOP-Out (0x00): a ping (ITT set, TTT reserved) or the answer to a target's NOP-In
/// (ITT reserved, TTT copied).
public struct NOPOutPDU: PDUConvertible, Equatable {
    public static let opcode = Opcode.nopOut
    public var immediate = true
    public var lun: UInt64 = 0
    public var initiatorTaskTag: UInt32 = reservedTag
    public var targetTransferTag: UInt32 = reservedTag
    public var cmdSN: UInt32 = 0
    public var expStatSN: UInt32 = 0
    public var data = ByteBuffer()

    public init() {}

    public init(header h: BasicHeaderSegment, data: ByteBuffer) throws {
        immediate = h.immediate
        lun = h.lunField
        initiatorTaskTag = h.initiatorTaskTag
        targetTransferTag = h.word20
        cmdSN = h.word24
        expStatSN = h.word28
        self.data = data
    }

    public func pdu() -> PDU {
        var h = BasicHeaderSegment(opcode: .nopOut, immediate: immediate, flags: 0x80)
        h.lunField = lun
        h.initiatorTaskTag = initiatorTaskTag
        h.word20 = targetTransferTag
        h.word24 = cmdSN
        h.word28 = expStatSN
        return PDU(header: h, data: data)
    }
}

/// NOP-In (0x20): the answer to our ping (ITT set), or the target's own ping (TTT set), or a
/// bare window update (both reserved).
public struct NOPInPDU: PDUConvertible, Equatable {
    public static let opcode = Opcode.nopIn
    public var lun: UInt64 = 0
    public var initiatorTaskTag: UInt32 = reservedTag
    public var targetTransferTag: UInt32 = reservedTag
    public var statSN: UInt32 = 0
    public var expCmdSN: UInt32 = 0
    public var maxCmdSN: UInt32 = 0
    public var data = ByteBuffer()

    public init() {}

    public init(header h: BasicHeaderSegment, data: ByteBuffer) throws {
        lun = h.lunField
        initiatorTaskTag = h.initiatorTaskTag
        targetTransferTag = h.word20
        statSN = h.word24
        expCmdSN = h.word28
        maxCmdSN = h.word32
        self.data = data
    }

    public func pdu() -> PDU {
        var h = BasicHeaderSegment(opcode: .nopIn, flags: 0x80)
        h.lunField = lun
        h.initiatorTaskTag = initiatorTaskTag
        h.word20 = targetTransferTag
        h.word24 = statSN
        h.word28 = expCmdSN
        h.word32 = maxCmdSN
        return PDU(header: h, data: data)
    }
}

/// Task management functions (RFC 7143 §11.5.1).
public enum TaskManagementFunction: UInt8, Sendable, CustomStringConvertible {
    case abortTask = 1, abortTaskSet = 2, clearACA = 3, clearTaskSet = 4
    case logicalUnitReset = 5, targetWarmReset = 6, targetColdReset = 7, taskReassign = 8

    public var description: String {
        switch self {
        case .abortTask: return "ABORT TASK"
        case .abortTaskSet: return "ABORT TASK SET"
        case .clearACA: return "CLEAR ACA"
        case .clearTaskSet: return "CLEAR TASK SET"
        case .logicalUnitReset: return "LOGICAL UNIT RESET"
        case .targetWarmReset: return "TARGET WARM RESET"
        case .targetColdReset: return "TARGET COLD RESET"
        case .taskReassign: return "TASK REASSIGN"
        }
    }
}

/// Task Management Function Request (0x02).
public struct TaskManagementRequestPDU: PDUConvertible, Equatable {
    public static let opcode = Opcode.taskManagementRequest
    public var immediate = true
    public var function = TaskManagementFunction.abortTask
    public var lun: UInt64 = 0
    public var initiatorTaskTag: UInt32 = 0
    public var referencedTaskTag: UInt32 = reservedTag
    public var cmdSN: UInt32 = 0
    public var expStatSN: UInt32 = 0
    public var refCmdSN: UInt32 = 0
    public var expDataSN: UInt32 = 0

    public init() {}

    public init(header h: BasicHeaderSegment, data: ByteBuffer) throws {
        immediate = h.immediate
        guard let f = TaskManagementFunction(rawValue: h.flags & 0x7f) else {
            throw PDUError.invalidField(opcode: .taskManagementRequest, field: "function", reason: "has unknown value \(h.flags & 0x7f)")
        }
        function = f
        lun = h.lunField
        initiatorTaskTag = h.initiatorTaskTag
        referencedTaskTag = h.word20
        cmdSN = h.word24
        expStatSN = h.word28
        refCmdSN = h.word32
        expDataSN = h.word36
    }

    public func pdu() -> PDU {
        var h = BasicHeaderSegment(opcode: .taskManagementRequest, immediate: immediate, flags: 0x80 | function.rawValue)
        h.lunField = lun
        h.initiatorTaskTag = initiatorTaskTag
        h.word20 = referencedTaskTag
        h.word24 = cmdSN
        h.word28 = expStatSN
        h.word32 = refCmdSN
        h.word36 = expDataSN
        return PDU(header: h)
    }
}

/// Task Management Function Response (0x22).
public struct TaskManagementResponsePDU: PDUConvertible, Equatable {
    public static let opcode = Opcode.taskManagementResponse
    public var response: UInt8 = 0
    public var initiatorTaskTag: UInt32 = 0
    public var statSN: UInt32 = 0
    public var expCmdSN: UInt32 = 0
    public var maxCmdSN: UInt32 = 0

    public init() {}

    public init(header h: BasicHeaderSegment, data: ByteBuffer) throws {
        response = h.byte2
        initiatorTaskTag = h.initiatorTaskTag
        statSN = h.word24
        expCmdSN = h.word28
        maxCmdSN = h.word32
    }

    public func pdu() -> PDU {
        var h = BasicHeaderSegment(opcode: .taskManagementResponse, flags: 0x80)
        h.byte2 = response
        h.initiatorTaskTag = initiatorTaskTag
        h.word24 = statSN
        h.word28 = expCmdSN
        h.word32 = maxCmdSN
        return PDU(header: h)
    }

    /// RFC 7143 §11.6.1 response names.
    public static func describe(_ response: UInt8) -> String {
        switch response {
        case 0: return "function complete"
        case 1: return "task does not exist"
        case 2: return "LUN does not exist"
        case 3: return "task still allegiant"
        case 4: return "task allegiance reassignment not supported"
        case 5: return "task management function not supported"
        case 6: return "function authorization failed"
        case 255: return "function rejected"
        default: return "unknown response \(response)"
        }
    }
}

/// Async Message (0x32).
public struct AsyncMessagePDU: PDUConvertible, Equatable {
    public static let opcode = Opcode.asyncMessage
    public enum Event: UInt8, Sendable {
        case scsiAsyncEvent = 0, logoutRequested = 1, connectionWillDrop = 2
        case allConnectionsWillDrop = 3, renegotiationRequested = 4, vendorSpecific = 255
    }
    public var lun: UInt64 = 0
    public var statSN: UInt32 = 0
    public var expCmdSN: UInt32 = 0
    public var maxCmdSN: UInt32 = 0
    public var asyncEvent: UInt8 = 0
    public var asyncVCode: UInt8 = 0
    public var parameter1: UInt16 = 0
    public var parameter2: UInt16 = 0
    public var parameter3: UInt16 = 0
    /// SenseLength (2 bytes) + sense data + iSCSI event data.
    public var data = ByteBuffer()

    public init() {}

    public init(header h: BasicHeaderSegment, data: ByteBuffer) throws {
        lun = h.lunField
        statSN = h.word24
        expCmdSN = h.word28
        maxCmdSN = h.word32
        asyncEvent = UInt8(h.word36 >> 24)
        asyncVCode = UInt8(truncatingIfNeeded: h.word36 >> 16)
        parameter1 = low16(h.word36)
        parameter2 = high16(h.word40)
        parameter3 = low16(h.word40)
        self.data = data
    }

    public func pdu() -> PDU {
        var h = BasicHeaderSegment(opcode: .asyncMessage, flags: 0x80)
        h.lunField = lun
        h.initiatorTaskTag = reservedTag
        h.word20 = reservedTag
        h.word24 = statSN
        h.word28 = expCmdSN
        h.word32 = maxCmdSN
        h.word36 = UInt32(asyncEvent) << 24 | UInt32(asyncVCode) << 16 | UInt32(parameter1)
        h.word40 = words(parameter2, parameter3)
        return PDU(header: h, data: data)
    }

    public var event: Event? { Event(rawValue: asyncEvent) }

    /// Sense bytes of a SCSI async event (event 0).
    public var senseBytes: [UInt8]? {
        guard data.readableBytes >= 2, let length = data.getInteger(at: data.readerIndex, as: UInt16.self), length > 0
        else { return nil }
        return data.getBytes(at: data.readerIndex + 2, length: Int(length))
    }
}

/// Reject (0x3f). `data` is the header of the rejected PDU.
public struct RejectPDU: PDUConvertible, Equatable {
    public static let opcode = Opcode.reject
    public var reason: UInt8 = 0
    public var statSN: UInt32 = 0
    public var expCmdSN: UInt32 = 0
    public var maxCmdSN: UInt32 = 0
    public var dataSNOrR2TSN: UInt32 = 0
    public var data = ByteBuffer()

    public init() {}

    public init(header h: BasicHeaderSegment, data: ByteBuffer) throws {
        reason = h.byte2
        statSN = h.word24
        expCmdSN = h.word28
        maxCmdSN = h.word32
        dataSNOrR2TSN = h.word36
        self.data = data
    }

    public func pdu() -> PDU {
        var h = BasicHeaderSegment(opcode: .reject, flags: 0x80)
        h.byte2 = reason
        h.initiatorTaskTag = reservedTag
        h.word24 = statSN
        h.word28 = expCmdSN
        h.word32 = maxCmdSN
        h.word36 = dataSNOrR2TSN
        return PDU(header: h, data: data)
    }

    /// The header of the PDU the target rejected, when it sent one back.
    public var rejectedHeader: BasicHeaderSegment? {
        var copy = data
        return BasicHeaderSegment.read(from: &copy)
    }

    /// RFC 7143 §11.17.1 reason names.
    public static func describe(_ reason: UInt8) -> String {
        switch reason {
        case 0x02: return "data (payload) digest error"
        case 0x03: return "SNACK reject"
        case 0x04: return "protocol error"
        case 0x05: return "command not supported"
        case 0x06: return "immediate command reject (too many immediate commands)"
        case 0x07: return "task in progress"
        case 0x08: return "invalid data ACK"
        case 0x09: return "invalid PDU field"
        case 0x0a: return "long operation reject (out of resources)"
        case 0x0b: return "negotiation reset"
        case 0x0c: return "waiting for logout"
        default: return "reason 0x\(String(reason, radix: 16))"
        }
    }
}

/// SNACK Request (0x10). Only meaningful at ErrorRecoveryLevel > 0; encoded for completeness.
public struct SNACKRequestPDU: PDUConvertible, Equatable {
    public static let opcode = Opcode.snackRequest
    public var type: UInt8 = 0
    public var lun: UInt64 = 0
    public var initiatorTaskTag: UInt32 = reservedTag
    public var targetTransferTag: UInt32 = reservedTag
    public var expStatSN: UInt32 = 0
    public var begRun: UInt32 = 0
    public var runLength: UInt32 = 0

    public init() {}

    public init(header h: BasicHeaderSegment, data: ByteBuffer) throws {
        type = h.flags & 0x0f
        lun = h.lunField
        initiatorTaskTag = h.initiatorTaskTag
        targetTransferTag = h.word20
        expStatSN = h.word28
        begRun = h.word40
        runLength = h.word44
    }

    public func pdu() -> PDU {
        var h = BasicHeaderSegment(opcode: .snackRequest, flags: 0x80 | (type & 0x0f))
        h.lunField = lun
        h.initiatorTaskTag = initiatorTaskTag
        h.word20 = targetTransferTag
        h.word28 = expStatSN
        h.word40 = begRun
        h.word44 = runLength
        return PDU(header: h)
    }
}
