import NIOCore
import SCSI

/// A SCSI command that ended with a status other than GOOD.
public struct SCSICommandError: Error, CustomStringConvertible {
    public var command: String
    public var status: SCSIStatus
    public var sense: SenseData?

    public var description: String {
        var text = "\(command) failed with \(status)"
        if let sense { text += ": \(sense)" }
        return text
    }

    /// What the multipath layer should do about it.
    public var disposition: SCSIDisposition { SCSIDisposition.classify(status: status, sense: sense) }
}

/// One LUN reached over one connection: the SCSI commands the initiator itself needs
/// (identification, capacity, limits, IO, path checking).
public struct LogicalUnit: Sendable {
    public let connection: ISCSIConnection
    public let lun: UInt64

    public init(connection: ISCSIConnection, lun: UInt64) {
        self.connection = connection
        self.lun = lun
    }

    /// The 8-byte SAM LUN as the PDU carries it (peripheral or flat addressing).
    public var samLUN: UInt64 {
        let bytes = SCSILUN.encodeLUN(lun) ?? [0, 0, 0, 0, 0, 0, 0, 0]
        return bytes.reduce(0) { $0 << 8 | UInt64($1) }
    }

    public struct Capacity: Sendable, Equatable {
        public var blockCount: UInt64
        public var blockLength: Int
        /// Thin provisioning (LBPME): UNMAP may be sent.
        public var thinProvisioned: Bool
        public var sizeBytes: UInt64 { blockCount * UInt64(blockLength) }

        public init(blockCount: UInt64, blockLength: Int, thinProvisioned: Bool) {
            self.blockCount = blockCount
            self.blockLength = blockLength
            self.thinProvisioned = thinProvisioned
        }
    }

    /// Identity and limits, read once per path.
    public struct Identity: Sendable, Equatable {
        public var inquiry: StandardInquiryData
        public var wwid: String?
        public var serialNumber: String?
        public var blockLimits: BlockLimitsPage?
        public var provisioning: LogicalBlockProvisioningPage?
    }

    // MARK: Commands

    /// Runs a command and requires GOOD status.
    public func run(_ cdb: [UInt8], name: String, readLength: Int = 0, dataOut: ByteBuffer? = nil) async throws -> ByteBuffer {
        let direction: DataDirection = dataOut != nil ? .write : (readLength > 0 ? .read : .none)
        let request = SCSITaskRequest(lun: samLUN, cdb: cdb, direction: direction, expectedReadLength: readLength, dataOut: dataOut)
        let response = try await connection.execute(request)
        guard response.isGood else {
            let sense = response.sense.flatMap { try? SenseData(bytes: $0) }
            throw SCSICommandError(command: name, status: SCSIStatus(rawValue: response.status), sense: sense)
        }
        return response.data
    }

    public func testUnitReady() async throws {
        _ = try await run(CDB.testUnitReady(), name: "TEST UNIT READY")
    }

    /// TEST UNIT READY that consumes the unit attentions a fresh login produces (power on,
    /// reset, LUN inventory changed), up to a few times.
    public func clearUnitAttentions(limit: Int = 5) async throws {
        for attempt in 0..<limit {
            do { return try await testUnitReady() } catch let error as SCSICommandError
                where error.sense?.senseKey == .unitAttention && attempt < limit - 1 {
                continue
            }
        }
    }

    public func inquiry() async throws -> StandardInquiryData {
        let data = try await run(CDB.inquiry(allocationLength: 96), name: "INQUIRY", readLength: 96)
        return try StandardInquiryData(bytes: data.readableBytesView)
    }

    /// A VPD page, re-read with the page's own length when 255 bytes were not enough.
    public func vpd(_ page: UInt8) async throws -> [UInt8] {
        var length = 255
        for _ in 0..<2 {
            let data = try await run(CDB.inquiry(evpd: true, page: page, allocationLength: UInt16(length)),
                                     name: "INQUIRY VPD 0x\(String(page, radix: 16))", readLength: length)
            let bytes = Array(data.readableBytesView)
            if let needed = VPD.requiredLength(ofPage: bytes), needed > bytes.count, needed <= 65535, needed > length {
                length = needed
                continue
            }
            return bytes
        }
        throw SCSIParseError.truncated(what: "VPD page 0x\(String(page, radix: 16))", needed: length, got: length)
    }

    public func identify() async throws -> Identity {
        let inquiry = try await inquiry()
        let supported = (try? SupportedVPDPages(bytes: try await vpd(0x00)))?.pageCodes ?? []
        let deviceID = supported.contains(0x83) ? try? DeviceIdentificationPage(bytes: try await vpd(0x83)) : nil
        let serial = supported.contains(0x80) ? try? UnitSerialNumberPage(bytes: try await vpd(0x80)) : nil
        let limits = supported.contains(0xb0) ? try? BlockLimitsPage(bytes: try await vpd(0xb0)) : nil
        let provisioning = supported.contains(0xb2) ? try? LogicalBlockProvisioningPage(bytes: try await vpd(0xb2)) : nil
        return Identity(inquiry: inquiry, wwid: WWID.wwid(deviceIdentification: deviceID, serialNumber: serial, inquiry: inquiry),
                        serialNumber: serial?.serialNumber, blockLimits: limits, provisioning: provisioning)
    }

    /// READ CAPACITY(16), falling back to (10) for devices that do not know it.
    public func readCapacity() async throws -> Capacity {
        do {
            let data = try await run(CDB.readCapacity16(), name: "READ CAPACITY(16)", readLength: 32)
            let rc = try ReadCapacity16Data(bytes: data.readableBytesView)
            return Capacity(blockCount: rc.blockCount, blockLength: Int(rc.blockLength), thinProvisioned: rc.lbpme)
        } catch let error as SCSICommandError where error.sense?.senseKey == .illegalRequest {
            let data = try await run(CDB.readCapacity10(), name: "READ CAPACITY(10)", readLength: 8)
            let rc = try ReadCapacity10Data(bytes: data.readableBytesView)
            return Capacity(blockCount: rc.blockCount, blockLength: Int(rc.blockLength), thinProvisioned: false)
        }
    }

    /// REPORT LUNS on this connection (sent to this LUN's address, usually 0).
    public func reportLuns() async throws -> [UInt64] {
        var length: UInt32 = 4096
        for _ in 0..<2 {
            let data = try await run(CDB.reportLuns(allocationLength: length), name: "REPORT LUNS", readLength: Int(length))
            let report = try ReportLunsData(bytes: data.readableBytesView)
            if report.isTruncated && report.requiredAllocationLength > length {
                length = report.requiredAllocationLength
                continue
            }
            return report.lunNumbers
        }
        throw SCSIParseError.truncated(what: "REPORT LUNS", needed: Int(length), got: Int(length))
    }

    /// Fails with a clear message when the target does not present this LUN.
    public func requirePresent(targetName: String) async throws {
        let luns = try await LogicalUnit(connection: connection, lun: 0).reportLuns()
        guard luns.contains(lun) else {
            throw LogicalUnitError.noSuchLUN(lun: lun, target: targetName, available: luns)
        }
    }

    public func read(lba: UInt64, blocks: UInt32, blockLength: Int) async throws -> ByteBuffer {
        try await run(CDB.read(lba: lba, blocks: blocks), name: "READ", readLength: Int(blocks) * blockLength)
    }

    public func write(lba: UInt64, blocks: UInt32, data: ByteBuffer) async throws {
        _ = try await run(CDB.write(lba: lba, blocks: blocks), name: "WRITE", dataOut: data)
    }

    public func synchronizeCache() async throws {
        _ = try await run(CDB.synchronizeCache10(), name: "SYNCHRONIZE CACHE")
    }

    public func unmap(_ ranges: [(lba: UInt64, blocks: UInt32)]) async throws {
        let list = try CDB.unmapParameterList(ranges)
        _ = try await run(CDB.unmap(parameterListLength: UInt16(list.count)), name: "UNMAP",
                          dataOut: ByteBuffer(bytes: list))
    }
}

public enum LogicalUnitError: Error, CustomStringConvertible {
    case noSuchLUN(lun: UInt64, target: String, available: [UInt64])

    public var description: String {
        switch self {
        case .noSuchLUN(let lun, let target, let available):
            return "no such LUN \(lun) on \(target) (it presents LUN \(available.map(String.init).joined(separator: ", ")))"
        }
    }
}
