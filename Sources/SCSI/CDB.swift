/// Builders for the command descriptor blocks this initiator sends.
///
/// Every builder returns the exact CDB bytes (6, 10, 12 or 16 long) with the CONTROL byte zero
/// (no NACA, no linked commands). Layouts follow SPC-4 (primary commands) and SBC-3 (block
/// commands); the block commands live in `BlockCDB.swift`.
public enum CDB {
    /// TEST UNIT READY (SPC-4 6.47): the path checker's probe. No data.
    public static func testUnitReady() -> [UInt8] {
        [SCSIOpcode.testUnitReady.rawValue, 0, 0, 0, 0, 0]
    }

    /// REQUEST SENSE (SPC-4 6.39) with DESC = 0, i.e. fixed-format sense data. Data-in.
    /// 252 bytes is the largest sense SPC-4 allows and what sg3_utils asks for.
    public static func requestSense(allocationLength: UInt8 = 252) -> [UInt8] {
        [SCSIOpcode.requestSense.rawValue, 0, 0, 0, allocationLength, 0]
    }

    /// INQUIRY (SPC-4 6.6). With `evpd` false the standard data is returned and `page` is not sent
    /// (SPC-4 requires PAGE CODE zero then); with `evpd` true the VPD page `page`. Data-in.
    public static func inquiry(evpd: Bool = false, page: UInt8 = 0, allocationLength: UInt16) -> [UInt8] {
        [SCSIOpcode.inquiry.rawValue, evpd ? 0x01 : 0x00, evpd ? page : 0]
            + bigEndianBytes(allocationLength)
            + [0]
    }

    /// REPORT LUNS (SPC-4 6.33). `selectReport` 0 = all LUNs except well-known ones. Data-in.
    /// SPC requires an allocation length of at least 16.
    public static func reportLuns(selectReport: UInt8 = 0, allocationLength: UInt32) -> [UInt8] {
        [SCSIOpcode.reportLuns.rawValue, 0, selectReport, 0, 0, 0]
            + bigEndianBytes(allocationLength)
            + [0, 0]
    }

    /// READ CAPACITY(10) (SBC-3 5.15). Returns 8 bytes. Data-in.
    public static func readCapacity10() -> [UInt8] {
        [SCSIOpcode.readCapacity10.rawValue, 0, 0, 0, 0, 0, 0, 0, 0, 0]
    }

    /// READ CAPACITY(16) (SBC-3 5.16): SERVICE ACTION IN(16) with service action 0x10. Data-in.
    public static func readCapacity16(allocationLength: UInt32 = 32) -> [UInt8] {
        [SCSIOpcode.serviceActionIn16.rawValue, SCSIServiceAction.readCapacity16]
            + [UInt8](repeating: 0, count: 8)  // LOGICAL BLOCK ADDRESS, zero without PMI
            + bigEndianBytes(allocationLength)
            + [0, 0]  // PMI = 0, CONTROL
    }

    /// REPORT TARGET PORT GROUPS (SPC-4 6.36): MAINTENANCE IN with service action 0x0A.
    /// `extended` asks for PARAMETER DATA FORMAT 001b (extended header with implicit transition time).
    public static func reportTargetPortGroups(allocationLength: UInt32, extended: Bool = false) -> [UInt8] {
        let format: UInt8 = extended ? 0x20 : 0x00
        return [SCSIOpcode.maintenanceIn.rawValue, format | SCSIServiceAction.reportTargetPortGroups, 0, 0, 0, 0]
            + bigEndianBytes(allocationLength)
            + [0, 0]
    }

    /// A short name of the command in `cdb` for logs, resolving service actions where they matter
    /// ("READ CAPACITY(16)", "REPORT TARGET PORT GROUPS"); "OPCODE 0xNN" for unknown opcodes.
    public static func name(ofCDB cdb: some Collection<UInt8>) -> String {
        let bytes = Array(cdb.prefix(2))
        guard let first = bytes.first else { return "EMPTY CDB" }
        guard let opcode = SCSIOpcode(rawValue: first) else { return "OPCODE \(hexByte(first))" }
        let serviceAction = bytes.count > 1 ? bytes[1] & 0x1F : nil
        switch (opcode, serviceAction) {
        case (.serviceActionIn16, SCSIServiceAction.readCapacity16): return "READ CAPACITY(16)"
        case (.serviceActionIn16, SCSIServiceAction.getLBAStatus): return "GET LBA STATUS"
        case (.maintenanceIn, SCSIServiceAction.reportTargetPortGroups): return "REPORT TARGET PORT GROUPS"
        case (.maintenanceIn, SCSIServiceAction.reportSupportedOperationCodes):
            return "REPORT SUPPORTED OPERATION CODES"
        case (.maintenanceOut, SCSIServiceAction.setTargetPortGroups): return "SET TARGET PORT GROUPS"
        default: return opcode.name
        }
    }
}
