import NIOCore
import SCSI

/// One SCSI command to carry over iSCSI.
public struct SCSITaskRequest: Sendable {
    public var lun: UInt64
    public var cdb: [UInt8]
    public var direction: DataDirection
    /// Bytes expected from the target (reads).
    public var expectedReadLength: Int
    /// Bytes to send (writes).
    public var dataOut: ByteBuffer?
    public var attribute: TaskAttribute

    public init(lun: UInt64, cdb: [UInt8], direction: DataDirection = .none,
                expectedReadLength: Int = 0, dataOut: ByteBuffer? = nil, attribute: TaskAttribute = .simple) {
        self.lun = lun
        self.cdb = cdb
        self.direction = direction
        self.expectedReadLength = expectedReadLength
        self.dataOut = dataOut
        self.attribute = attribute
    }

    var expectedDataTransferLength: Int {
        direction == .write ? (dataOut?.readableBytes ?? 0) : (direction == .read ? expectedReadLength : 0)
    }
}

/// What came back for a SCSI command.
public struct SCSITaskResponse: Sendable {
    /// SCSI status byte (0 GOOD, 2 CHECK CONDITION, …).
    public var status: UInt8
    /// Sense bytes of a CHECK CONDITION.
    public var sense: [UInt8]?
    /// Data-In payload, `expectedReadLength - residual` bytes.
    public var data: ByteBuffer
    public var residualFlags: ResidualFlags
    public var residualCount: UInt32

    public var isGood: Bool { status == 0 }
}

/// Why a task ended without a SCSI status.
public enum ISCSITaskError: Error, Equatable, CustomStringConvertible {
    /// The target answered with iSCSI response 0x01 (target failure) or another non-zero code.
    case targetFailure(response: UInt8)
    case rejected(reason: UInt8)
    case aborted(String)
    case connectionLost(String)
    case protocolError(String)
    case timedOut

    public var description: String {
        switch self {
        case .targetFailure(let r): return "target failure (iSCSI response 0x\(String(r, radix: 16)))"
        case .rejected(let r): return "command rejected by target: \(RejectPDU.describe(r))"
        case .aborted(let why): return "task aborted: \(why)"
        case .connectionLost(let why): return "connection lost: \(why)"
        case .protocolError(let why): return "iSCSI protocol error: \(why)"
        case .timedOut: return "task timed out"
        }
    }
}

/// The negotiated values that shape data transfer (a projection of the login result).
public struct TransferLimits: Sendable, Equatable {
    public var immediateData: Bool
    public var initialR2T: Bool
    public var firstBurstLength: Int
    public var maxBurstLength: Int
    /// The target's MaxRecvDataSegmentLength: our largest outgoing data segment.
    public var maxXmitDataSegmentLength: Int

    public init(immediateData: Bool = true, initialR2T: Bool = true, firstBurstLength: Int = 65536,
                maxBurstLength: Int = 262144, maxXmitDataSegmentLength: Int = 8192) {
        self.immediateData = immediateData
        self.initialR2T = initialR2T
        self.firstBurstLength = firstBurstLength
        self.maxBurstLength = maxBurstLength
        self.maxXmitDataSegmentLength = maxXmitDataSegmentLength
    }
}
