import NIOCore

/// Login Request (0x03). Always immediate.
public struct LoginRequestPDU: PDUConvertible, Equatable {
    public static let opcode = Opcode.loginRequest
    public var transit = false
    public var continueFlag = false
    public var currentStage: UInt8 = 0
    public var nextStage: UInt8 = 0
    public var versionMax: UInt8 = 0
    public var versionMin: UInt8 = 0
    /// 48-bit ISID (T/A, B, C, D).
    public var isid: UInt64 = 0
    public var tsih: UInt16 = 0
    public var initiatorTaskTag: UInt32 = 0
    public var cid: UInt16 = 0
    public var cmdSN: UInt32 = 0
    public var expStatSN: UInt32 = 0
    public var data = ByteBuffer()

    public init() {}

    public init(header h: BasicHeaderSegment, data: ByteBuffer) throws {
        transit = h.flags & 0x80 != 0
        continueFlag = h.flags & 0x40 != 0
        currentStage = (h.flags >> 2) & 0x03
        nextStage = h.flags & 0x03
        if transit && continueFlag {
            throw PDUError.invalidField(opcode: .loginRequest, field: "flags", reason: "have both T and C set")
        }
        versionMax = h.byte2
        versionMin = h.byte3
        isid = h.lunField >> 16
        tsih = UInt16(truncatingIfNeeded: h.lunField)
        initiatorTaskTag = h.initiatorTaskTag
        cid = high16(h.word20)
        cmdSN = h.word24
        expStatSN = h.word28
        self.data = data
    }

    public func pdu() -> PDU {
        let flags = (transit ? 0x80 : 0) | (continueFlag ? 0x40 : 0) | (currentStage & 3) << 2 | (nextStage & 3)
        var h = BasicHeaderSegment(opcode: .loginRequest, immediate: true, flags: UInt8(flags))
        h.byte2 = versionMax
        h.byte3 = versionMin
        h.lunField = (isid & 0xffff_ffff_ffff) << 16 | UInt64(tsih)
        h.initiatorTaskTag = initiatorTaskTag
        h.word20 = words(cid, 0)
        h.word24 = cmdSN
        h.word28 = expStatSN
        return PDU(header: h, data: data)
    }
}

/// Login Response (0x23).
public struct LoginResponsePDU: PDUConvertible, Equatable {
    public static let opcode = Opcode.loginResponse
    public var transit = false
    public var continueFlag = false
    public var currentStage: UInt8 = 0
    public var nextStage: UInt8 = 0
    public var versionMax: UInt8 = 0
    public var versionActive: UInt8 = 0
    public var isid: UInt64 = 0
    public var tsih: UInt16 = 0
    public var initiatorTaskTag: UInt32 = 0
    public var statSN: UInt32 = 0
    public var expCmdSN: UInt32 = 0
    public var maxCmdSN: UInt32 = 0
    public var statusClass: UInt8 = 0
    public var statusDetail: UInt8 = 0
    public var data = ByteBuffer()

    public init() {}

    public init(header h: BasicHeaderSegment, data: ByteBuffer) throws {
        transit = h.flags & 0x80 != 0
        continueFlag = h.flags & 0x40 != 0
        currentStage = (h.flags >> 2) & 0x03
        nextStage = h.flags & 0x03
        if transit && continueFlag {
            throw PDUError.invalidField(opcode: .loginResponse, field: "flags", reason: "have both T and C set")
        }
        versionMax = h.byte2
        versionActive = h.byte3
        isid = h.lunField >> 16
        tsih = UInt16(truncatingIfNeeded: h.lunField)
        initiatorTaskTag = h.initiatorTaskTag
        statSN = h.word24
        expCmdSN = h.word28
        maxCmdSN = h.word32
        statusClass = UInt8(h.word36 >> 24)
        statusDetail = UInt8(truncatingIfNeeded: h.word36 >> 16)
        self.data = data
    }

    public func pdu() -> PDU {
        let flags = (transit ? 0x80 : 0) | (continueFlag ? 0x40 : 0) | (currentStage & 3) << 2 | (nextStage & 3)
        var h = BasicHeaderSegment(opcode: .loginResponse, flags: UInt8(flags))
        h.byte2 = versionMax
        h.byte3 = versionActive
        h.lunField = (isid & 0xffff_ffff_ffff) << 16 | UInt64(tsih)
        h.initiatorTaskTag = initiatorTaskTag
        h.word24 = statSN
        h.word28 = expCmdSN
        h.word32 = maxCmdSN
        h.word36 = UInt32(statusClass) << 24 | UInt32(statusDetail) << 16
        return PDU(header: h, data: data)
    }
}

/// Text Request (0x04).
public struct TextRequestPDU: PDUConvertible, Equatable {
    public static let opcode = Opcode.textRequest
    public var immediate = true
    public var final = true
    public var continueFlag = false
    public var lun: UInt64 = 0
    public var initiatorTaskTag: UInt32 = 0
    public var targetTransferTag: UInt32 = reservedTag
    public var cmdSN: UInt32 = 0
    public var expStatSN: UInt32 = 0
    public var data = ByteBuffer()

    public init() {}

    public init(header h: BasicHeaderSegment, data: ByteBuffer) throws {
        immediate = h.immediate
        final = h.flags & 0x80 != 0
        continueFlag = h.flags & 0x40 != 0
        if final && continueFlag {
            throw PDUError.invalidField(opcode: .textRequest, field: "flags", reason: "have both F and C set")
        }
        lun = h.lunField
        initiatorTaskTag = h.initiatorTaskTag
        targetTransferTag = h.word20
        cmdSN = h.word24
        expStatSN = h.word28
        self.data = data
    }

    public func pdu() -> PDU {
        var h = BasicHeaderSegment(opcode: .textRequest, immediate: immediate,
                                   flags: (final ? 0x80 : 0) | (continueFlag ? 0x40 : 0))
        h.lunField = lun
        h.initiatorTaskTag = initiatorTaskTag
        h.word20 = targetTransferTag
        h.word24 = cmdSN
        h.word28 = expStatSN
        return PDU(header: h, data: data)
    }
}

/// Text Response (0x24).
public struct TextResponsePDU: PDUConvertible, Equatable {
    public static let opcode = Opcode.textResponse
    public var final = true
    public var continueFlag = false
    public var lun: UInt64 = 0
    public var initiatorTaskTag: UInt32 = 0
    public var targetTransferTag: UInt32 = reservedTag
    public var statSN: UInt32 = 0
    public var expCmdSN: UInt32 = 0
    public var maxCmdSN: UInt32 = 0
    public var data = ByteBuffer()

    public init() {}

    public init(header h: BasicHeaderSegment, data: ByteBuffer) throws {
        final = h.flags & 0x80 != 0
        continueFlag = h.flags & 0x40 != 0
        if final && continueFlag {
            throw PDUError.invalidField(opcode: .textResponse, field: "flags", reason: "have both F and C set")
        }
        lun = h.lunField
        initiatorTaskTag = h.initiatorTaskTag
        targetTransferTag = h.word20
        statSN = h.word24
        expCmdSN = h.word28
        maxCmdSN = h.word32
        self.data = data
    }

    public func pdu() -> PDU {
        var h = BasicHeaderSegment(opcode: .textResponse, flags: (final ? 0x80 : 0) | (continueFlag ? 0x40 : 0))
        h.lunField = lun
        h.initiatorTaskTag = initiatorTaskTag
        h.word20 = targetTransferTag
        h.word24 = statSN
        h.word28 = expCmdSN
        h.word32 = maxCmdSN
        return PDU(header: h, data: data)
    }
}

/// Logout reason codes.
public enum LogoutReason: UInt8, Sendable {
    case closeSession = 0, closeConnection = 1, removeConnectionForRecovery = 2
}

/// Logout Request (0x06).
public struct LogoutRequestPDU: PDUConvertible, Equatable {
    public static let opcode = Opcode.logoutRequest
    public var immediate = true
    public var reason = LogoutReason.closeSession
    public var initiatorTaskTag: UInt32 = 0
    public var cid: UInt16 = 0
    public var cmdSN: UInt32 = 0
    public var expStatSN: UInt32 = 0

    public init() {}

    public init(header h: BasicHeaderSegment, data: ByteBuffer) throws {
        immediate = h.immediate
        guard let r = LogoutReason(rawValue: h.flags & 0x7f) else {
            throw PDUError.invalidField(opcode: .logoutRequest, field: "reason code", reason: "has unknown value \(h.flags & 0x7f)")
        }
        reason = r
        initiatorTaskTag = h.initiatorTaskTag
        cid = high16(h.word20)
        cmdSN = h.word24
        expStatSN = h.word28
    }

    public func pdu() -> PDU {
        var h = BasicHeaderSegment(opcode: .logoutRequest, immediate: immediate, flags: 0x80 | reason.rawValue)
        h.initiatorTaskTag = initiatorTaskTag
        h.word20 = words(cid, 0)
        h.word24 = cmdSN
        h.word28 = expStatSN
        return PDU(header: h)
    }
}

/// Logout Response (0x26).
public struct LogoutResponsePDU: PDUConvertible, Equatable {
    public static let opcode = Opcode.logoutResponse
    /// 0 closed, 1 CID not found, 2 recovery not supported, 3 cleanup failed.
    public var response: UInt8 = 0
    public var initiatorTaskTag: UInt32 = 0
    public var statSN: UInt32 = 0
    public var expCmdSN: UInt32 = 0
    public var maxCmdSN: UInt32 = 0
    public var time2Wait: UInt16 = 0
    public var time2Retain: UInt16 = 0

    public init() {}

    public init(header h: BasicHeaderSegment, data: ByteBuffer) throws {
        response = h.byte2
        initiatorTaskTag = h.initiatorTaskTag
        statSN = h.word24
        expCmdSN = h.word28
        maxCmdSN = h.word32
        time2Wait = high16(h.word40)
        time2Retain = low16(h.word40)
    }

    public func pdu() -> PDU {
        var h = BasicHeaderSegment(opcode: .logoutResponse, flags: 0x80)
        h.byte2 = response
        h.initiatorTaskTag = initiatorTaskTag
        h.word24 = statSN
        h.word28 = expCmdSN
        h.word32 = maxCmdSN
        h.word40 = words(time2Wait, time2Retain)
        return PDU(header: h)
    }
}
