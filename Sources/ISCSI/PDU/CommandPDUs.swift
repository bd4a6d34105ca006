import NIOCore

/// Task attributes (byte 1, bits 0–2 of a SCSI Command).
public enum TaskAttribute: UInt8, Sendable {
    case untagged = 0, simple = 1, ordered = 2, headOfQueue = 3, aca = 4
}

/// SCSI Command (0x01). Immediate data travels in `data`.
public struct SCSICommandPDU: PDUConvertible, Equatable {
    public static let opcode = Opcode.scsiCommand
    public var immediate = false
    public var final = true
    public var read = false
    public var write = false
    public var attribute = TaskAttribute.simple
    public var lun: UInt64 = 0
    public var initiatorTaskTag: UInt32 = 0
    public var expectedDataTransferLength: UInt32 = 0
    public var cmdSN: UInt32 = 0
    public var expStatSN: UInt32 = 0
    /// Up to 16 bytes; longer CDBs need an extended-CDB AHS, which no command here uses.
    public var cdb: [UInt8] = []
    public var data = ByteBuffer()

    public init() {}

    public init(header h: BasicHeaderSegment, data: ByteBuffer) throws {
        immediate = h.immediate
        final = h.flags & 0x80 != 0
        read = h.flags & 0x40 != 0
        write = h.flags & 0x20 != 0
        guard let attr = TaskAttribute(rawValue: h.flags & 0x07) else {
            throw PDUError.invalidField(opcode: .scsiCommand, field: "ATTR", reason: "has reserved value \(h.flags & 0x07)")
        }
        attribute = attr
        lun = h.lunField
        initiatorTaskTag = h.initiatorTaskTag
        expectedDataTransferLength = h.word20
        cmdSN = h.word24
        expStatSN = h.word28
        cdb = h.cdbBytes
        self.data = data
    }

    public func pdu() -> PDU {
        var h = BasicHeaderSegment(opcode: .scsiCommand, immediate: immediate,
                                   flags: (final ? 0x80 : 0) | (read ? 0x40 : 0) | (write ? 0x20 : 0) | attribute.rawValue)
        h.lunField = lun
        h.initiatorTaskTag = initiatorTaskTag
        h.word20 = expectedDataTransferLength
        h.word24 = cmdSN
        h.word28 = expStatSN
        h.setCDB(cdb)
        return PDU(header: h, data: data)
    }
}

/// Residual flags shared by SCSI Response and Data-In.
public struct ResidualFlags: OptionSet, Sendable, Equatable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let bidiOverflow = ResidualFlags(rawValue: 0x10)
    public static let bidiUnderflow = ResidualFlags(rawValue: 0x08)
    public static let overflow = ResidualFlags(rawValue: 0x04)
    public static let underflow = ResidualFlags(rawValue: 0x02)
}

/// SCSI Response (0x21). `data` holds SenseLength (2 bytes) + sense + response data.
public struct SCSIResponsePDU: PDUConvertible, Equatable {
    public static let opcode = Opcode.scsiResponse
    public var residualFlags: ResidualFlags = []
    /// 0x00 command completed at target, 0x01 target failure.
    public var response: UInt8 = 0
    public var status: UInt8 = 0
    public var initiatorTaskTag: UInt32 = 0
    public var snackTag: UInt32 = 0
    public var statSN: UInt32 = 0
    public var expCmdSN: UInt32 = 0
    public var maxCmdSN: UInt32 = 0
    public var expDataSN: UInt32 = 0
    public var bidiReadResidualCount: UInt32 = 0
    public var residualCount: UInt32 = 0
    public var data = ByteBuffer()

    public init() {}

    public init(header h: BasicHeaderSegment, data: ByteBuffer) throws {
        residualFlags = ResidualFlags(rawValue: h.flags & 0x1e)
        if residualFlags.contains(.overflow) && residualFlags.contains(.underflow) {
            throw PDUError.invalidField(opcode: .scsiResponse, field: "flags", reason: "have both O and U set")
        }
        response = h.byte2
        status = h.byte3
        initiatorTaskTag = h.initiatorTaskTag
        snackTag = h.word20
        statSN = h.word24
        expCmdSN = h.word28
        maxCmdSN = h.word32
        expDataSN = h.word36
        bidiReadResidualCount = h.word40
        residualCount = h.word44
        self.data = data
    }

    public func pdu() -> PDU {
        var h = BasicHeaderSegment(opcode: .scsiResponse, flags: 0x80 | residualFlags.rawValue)
        h.byte2 = response
        h.byte3 = status
        h.initiatorTaskTag = initiatorTaskTag
        h.word20 = snackTag
        h.word24 = statSN
        h.word28 = expCmdSN
        h.word32 = maxCmdSN
        h.word36 = expDataSN
        h.word40 = bidiReadResidualCount
        h.word44 = residualCount
        return PDU(header: h, data: data)
    }

    /// The sense bytes carried in the data segment, if any.
    public func senseBytes() throws -> [UInt8]? {
        guard data.readableBytes >= 2 else { return nil }
        let length = Int(data.getInteger(at: data.readerIndex, as: UInt16.self)!)
        guard length > 0 else { return nil }
        guard let bytes = data.getBytes(at: data.readerIndex + 2, length: length) else {
            throw PDUError.invalidField(opcode: .scsiResponse, field: "SenseLength",
                                        reason: "is \(length) but only \(data.readableBytes - 2) bytes follow")
        }
        return bytes
    }
}

/// SCSI Data-In (0x25).
public struct DataInPDU: PDUConvertible, Equatable {
    public static let opcode = Opcode.dataIn
    public var final = false
    public var acknowledge = false
    public var residualFlags: ResidualFlags = []
    /// Status present (S bit): `status` and the residual are valid; implies final.
    public var statusPresent = false
    public var status: UInt8 = 0
    public var lun: UInt64 = 0
    public var initiatorTaskTag: UInt32 = 0
    public var targetTransferTag: UInt32 = reservedTag
    public var statSN: UInt32 = 0
    public var expCmdSN: UInt32 = 0
    public var maxCmdSN: UInt32 = 0
    public var dataSN: UInt32 = 0
    public var bufferOffset: UInt32 = 0
    public var residualCount: UInt32 = 0
    public var data = ByteBuffer()

    public init() {}

    public init(header h: BasicHeaderSegment, data: ByteBuffer) throws {
        final = h.flags & 0x80 != 0
        acknowledge = h.flags & 0x40 != 0
        residualFlags = ResidualFlags(rawValue: h.flags & 0x06)
        statusPresent = h.flags & 0x01 != 0
        if statusPresent && !final {
            throw PDUError.invalidField(opcode: .dataIn, field: "flags", reason: "have S set without F")
        }
        status = h.byte3
        lun = h.lunField
        initiatorTaskTag = h.initiatorTaskTag
        targetTransferTag = h.word20
        statSN = h.word24
        expCmdSN = h.word28
        maxCmdSN = h.word32
        dataSN = h.word36
        bufferOffset = h.word40
        residualCount = h.word44
        self.data = data
    }

    public func pdu() -> PDU {
        var h = BasicHeaderSegment(opcode: .dataIn, flags: (final ? 0x80 : 0) | (acknowledge ? 0x40 : 0)
                                   | residualFlags.rawValue & 0x06 | (statusPresent ? 0x01 : 0))
        h.byte3 = status
        h.lunField = lun
        h.initiatorTaskTag = initiatorTaskTag
        h.word20 = targetTransferTag
        h.word24 = statSN
        h.word28 = expCmdSN
        h.word32 = maxCmdSN
        h.word36 = dataSN
        h.word40 = bufferOffset
        h.word44 = residualCount
        return PDU(header: h, data: data)
    }
}

/// SCSI Data-Out (0x05).
public struct DataOutPDU: PDUConvertible, Equatable {
    public static let opcode = Opcode.dataOut
    public var final = false
    public var lun: UInt64 = 0
    public var initiatorTaskTag: UInt32 = 0
    /// Copied from the R2T, or 0xffffffff for unsolicited data.
    public var targetTransferTag: UInt32 = reservedTag
    public var expStatSN: UInt32 = 0
    public var dataSN: UInt32 = 0
    public var bufferOffset: UInt32 = 0
    public var data = ByteBuffer()

    public init() {}

    public init(header h: BasicHeaderSegment, data: ByteBuffer) throws {
        final = h.flags & 0x80 != 0
        lun = h.lunField
        initiatorTaskTag = h.initiatorTaskTag
        targetTransferTag = h.word20
        expStatSN = h.word28
        dataSN = h.word36
        bufferOffset = h.word40
        self.data = data
    }

    public func pdu() -> PDU {
        var h = BasicHeaderSegment(opcode: .dataOut, flags: final ? 0x80 : 0)
        h.lunField = lun
        h.initiatorTaskTag = initiatorTaskTag
        h.word20 = targetTransferTag
        h.word28 = expStatSN
        h.word36 = dataSN
        h.word40 = bufferOffset
        return PDU(header: h, data: data)
    }
}

/// Ready To Transfer (0x31).
public struct R2TPDU: PDUConvertible, Equatable {
    public static let opcode = Opcode.readyToTransfer
    public var lun: UInt64 = 0
    public var initiatorTaskTag: UInt32 = 0
    public var targetTransferTag: UInt32 = 0
    public var statSN: UInt32 = 0
    public var expCmdSN: UInt32 = 0
    public var maxCmdSN: UInt32 = 0
    public var r2tSN: UInt32 = 0
    public var bufferOffset: UInt32 = 0
    public var desiredDataTransferLength: UInt32 = 0

    public init() {}

    public init(header h: BasicHeaderSegment, data: ByteBuffer) throws {
        lun = h.lunField
        initiatorTaskTag = h.initiatorTaskTag
        targetTransferTag = h.word20
        statSN = h.word24
        expCmdSN = h.word28
        maxCmdSN = h.word32
        r2tSN = h.word36
        bufferOffset = h.word40
        desiredDataTransferLength = h.word44
        if targetTransferTag == reservedTag {
            throw PDUError.invalidField(opcode: .readyToTransfer, field: "TTT", reason: "is the reserved value 0xffffffff")
        }
        if desiredDataTransferLength == 0 {
            throw PDUError.invalidField(opcode: .readyToTransfer, field: "Desired Data Transfer Length", reason: "is 0")
        }
    }

    public func pdu() -> PDU {
        var h = BasicHeaderSegment(opcode: .readyToTransfer, flags: 0x80)
        h.lunField = lun
        h.initiatorTaskTag = initiatorTaskTag
        h.word20 = targetTransferTag
        h.word24 = statSN
        h.word28 = expCmdSN
        h.word32 = maxCmdSN
        h.word36 = r2tSN
        h.word40 = bufferOffset
        h.word44 = desiredDataTransferLength
        return PDU(header: h)
    }
}
