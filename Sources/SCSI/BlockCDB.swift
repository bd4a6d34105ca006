/// Why a CDB or parameter list could not be built from the given arguments.
public enum CDBError: Error, Equatable, Sendable, CustomStringConvertible {
    /// An UNMAP parameter list holds at most `maximum` block descriptors (its length fields are 16 bits).
    case tooManyUnmapDescriptors(count: Int, maximum: Int)

    public var description: String {
        switch self {
        case let .tooManyUnmapDescriptors(count, maximum):
            return "UNMAP parameter list: \(count) block descriptors, at most \(maximum) fit"
        }
    }
}

// SBC-3 block commands. Byte 1 of READ/WRITE carries RDPROTECT/WRPROTECT (bits 7-5), DPO (bit 4)
// and FUA (bit 3); we never send protection information, so only FUA is exposed.
extension CDB {
    /// Largest number of block descriptors one UNMAP parameter list can carry:
    /// (65535 - 8 header bytes) / 16 bytes per descriptor.
    public static let maximumUnmapDescriptors = (Int(UInt16.max) - 8) / 16

    /// READ(10) (SBC-3 5.11). Data-in of `blocks` logical blocks; 0 blocks transfers nothing.
    public static func read10(lba: UInt32, blocks: UInt16, fua: Bool = false) -> [UInt8] {
        rw10(.read10, lba: lba, blocks: blocks, fua: fua)
    }

    /// READ(16) (SBC-3 5.13). Data-in.
    public static func read16(lba: UInt64, blocks: UInt32, fua: Bool = false) -> [UInt8] {
        rw16(.read16, lba: lba, blocks: blocks, fua: fua)
    }

    /// WRITE(10) (SBC-3 5.35). Data-out of `blocks` logical blocks.
    public static func write10(lba: UInt32, blocks: UInt16, fua: Bool = false) -> [UInt8] {
        rw10(.write10, lba: lba, blocks: blocks, fua: fua)
    }

    /// WRITE(16) (SBC-3 5.37). Data-out.
    public static func write16(lba: UInt64, blocks: UInt32, fua: Bool = false) -> [UInt8] {
        rw16(.write16, lba: lba, blocks: blocks, fua: fua)
    }

    /// READ(10) when the whole range lies below 2^32 blocks and the count fits 16 bits, else READ(16);
    /// the same rule Linux sd uses, so small devices that lack the 16-byte commands keep working.
    public static func read(lba: UInt64, blocks: UInt32, fua: Bool = false) -> [UInt8] {
        if let (lba10, blocks10) = fitsTenByteCommand(lba: lba, blocks: blocks) {
            return read10(lba: lba10, blocks: blocks10, fua: fua)
        }
        return read16(lba: lba, blocks: blocks, fua: fua)
    }

    /// WRITE(10) or WRITE(16), chosen like `read(lba:blocks:fua:)`.
    public static func write(lba: UInt64, blocks: UInt32, fua: Bool = false) -> [UInt8] {
        if let (lba10, blocks10) = fitsTenByteCommand(lba: lba, blocks: blocks) {
            return write10(lba: lba10, blocks: blocks10, fua: fua)
        }
        return write16(lba: lba, blocks: blocks, fua: fua)
    }

    /// SYNCHRONIZE CACHE(10) (SBC-3 5.22). `blocks` 0 means "from `lba` to the end". `immed` returns
    /// status before the flush completes. No data.
    public static func synchronizeCache10(lba: UInt32 = 0, blocks: UInt16 = 0, immed: Bool = false) -> [UInt8] {
        [SCSIOpcode.synchronizeCache10.rawValue, immed ? 0x02 : 0x00]
            + bigEndianBytes(lba)
            + [0]  // GROUP NUMBER
            + bigEndianBytes(blocks)
            + [0]
    }

    /// SYNCHRONIZE CACHE(16) (SBC-3 5.23). No data.
    public static func synchronizeCache16(lba: UInt64 = 0, blocks: UInt32 = 0, immed: Bool = false) -> [UInt8] {
        [SCSIOpcode.synchronizeCache16.rawValue, immed ? 0x02 : 0x00]
            + bigEndianBytes(lba)
            + bigEndianBytes(blocks)
            + [0, 0]  // GROUP NUMBER, CONTROL
    }

    /// UNMAP (SBC-3 5.28). Data-out: the parameter list from `unmapParameterList(_:)`,
    /// whose byte count is `parameterListLength`.
    public static func unmap(parameterListLength: UInt16, anchor: Bool = false) -> [UInt8] {
        [SCSIOpcode.unmap.rawValue, anchor ? 0x01 : 0x00, 0, 0, 0, 0, 0]
            + bigEndianBytes(parameterListLength)
            + [0]
    }

    /// The UNMAP parameter list (SBC-3 5.28.2): an 8-byte header then one 16-byte block
    /// descriptor per range (LBA, block count, 4 reserved bytes).
    public static func unmapParameterList(
        _ ranges: [(lba: UInt64, blocks: UInt32)]
    ) throws(CDBError) -> [UInt8] {
        guard ranges.count <= maximumUnmapDescriptors else {
            throw .tooManyUnmapDescriptors(count: ranges.count, maximum: maximumUnmapDescriptors)
        }
        let descriptorBytes = UInt16(ranges.count * 16)
        var list = bigEndianBytes(descriptorBytes + 6)  // UNMAP DATA LENGTH: bytes after this field
        list += bigEndianBytes(descriptorBytes)  // UNMAP BLOCK DESCRIPTOR DATA LENGTH
        list += [0, 0, 0, 0]
        for range in ranges {
            list += bigEndianBytes(range.lba)
            list += bigEndianBytes(range.blocks)
            list += [0, 0, 0, 0]
        }
        return list
    }

    /// WRITE SAME(16) (SBC-3 5.42). With `unmap` the target may deallocate the blocks (thin
    /// provisioning, see `LogicalBlockProvisioningPage.lbpws`). Data-out of one logical block unless
    /// `noDataOut` (NDOB, SBC-4) is set, in which case zeroes are written and no data is sent.
    public static func writeSame16(
        lba: UInt64, blocks: UInt32, unmap: Bool = false, anchor: Bool = false, noDataOut: Bool = false
    ) -> [UInt8] {
        var flags: UInt8 = 0
        if anchor { flags |= 0x10 }
        if unmap { flags |= 0x08 }
        if noDataOut { flags |= 0x01 }
        return [SCSIOpcode.writeSame16.rawValue, flags]
            + bigEndianBytes(lba)
            + bigEndianBytes(blocks)
            + [0, 0]
    }

    private static func rw10(_ opcode: SCSIOpcode, lba: UInt32, blocks: UInt16, fua: Bool) -> [UInt8] {
        [opcode.rawValue, fua ? 0x08 : 0x00]
            + bigEndianBytes(lba)
            + [0]  // GROUP NUMBER
            + bigEndianBytes(blocks)
            + [0]
    }

    private static func rw16(_ opcode: SCSIOpcode, lba: UInt64, blocks: UInt32, fua: Bool) -> [UInt8] {
        [opcode.rawValue, fua ? 0x08 : 0x00]
            + bigEndianBytes(lba)
            + bigEndianBytes(blocks)
            + [0, 0]  // GROUP NUMBER, CONTROL
    }

    private static func fitsTenByteCommand(lba: UInt64, blocks: UInt32) -> (UInt32, UInt16)? {
        guard blocks <= UInt32(UInt16.max) else { return nil }
        let (end, overflow) = lba.addingReportingOverflow(UInt64(blocks))
        guard !overflow, end <= UInt64(UInt32.max) else { return nil }
        return (UInt32(lba), UInt16(blocks))
    }
}
