/// VPD page 0xB0, Block Limits (SBC-3 6.5.3). Values are in logical blocks; 0 means the device
/// reports no limit or preference for that field.
///
/// SBC-2 devices send a 16-byte page (PAGE LENGTH 0x0C) that stops after OPTIMAL TRANSFER LENGTH;
/// SBC-3 devices (tgt among them) send 64 bytes (PAGE LENGTH 0x3C). Fields the page is too short
/// to hold are nil.
public struct BlockLimitsPage: Equatable, Sendable {
    public let peripheralDeviceType: PeripheralDeviceType
    /// WSNZ: WRITE SAME with 0 blocks is rejected.
    public let writeSameNonZero: Bool
    /// MAXIMUM COMPARE AND WRITE LENGTH.
    public let maximumCompareAndWriteLength: UInt8
    /// OPTIMAL TRANSFER LENGTH GRANULARITY.
    public let optimalTransferLengthGranularity: UInt16
    /// MAXIMUM TRANSFER LENGTH: the largest READ/WRITE the device accepts.
    public let maximumTransferLength: UInt32
    /// OPTIMAL TRANSFER LENGTH.
    public let optimalTransferLength: UInt32
    /// MAXIMUM PREFETCH LENGTH (SBC-3 r25 "maximum prefetch xdread xdwrite transfer length").
    public let maximumPrefetchLength: UInt32?
    /// MAXIMUM UNMAP LBA COUNT: blocks one UNMAP command may cover in total.
    public let maximumUnmapLBACount: UInt32?
    /// MAXIMUM UNMAP BLOCK DESCRIPTOR COUNT: descriptors per UNMAP parameter list.
    public let maximumUnmapBlockDescriptorCount: UInt32?
    /// OPTIMAL UNMAP GRANULARITY.
    public let optimalUnmapGranularity: UInt32?
    /// UNMAP GRANULARITY ALIGNMENT, only when UGAVALID is set.
    public let unmapGranularityAlignment: UInt32?
    /// MAXIMUM WRITE SAME LENGTH.
    public let maximumWriteSameLength: UInt64?

    public init(bytes: some Collection<UInt8>) throws(SCSIParseError) {
        let reader = try VPD.page(bytes, code: VPD.blockLimits)
        peripheralDeviceType = PeripheralDeviceType(rawValue: try reader.uint8(at: 0, "peripheral byte"))
        // The SBC-2 page is the minimum: everything through OPTIMAL TRANSFER LENGTH.
        try reader.require(16, for: "(SBC-2 minimum, page length 0x0C)")
        writeSameNonZero = try reader.uint8(at: 4, "WSNZ byte") & 0x01 != 0
        maximumCompareAndWriteLength = try reader.uint8(at: 5, "maximum compare and write length")
        optimalTransferLengthGranularity = try reader.uint16(at: 6, "optimal transfer length granularity")
        maximumTransferLength = try reader.uint32(at: 8, "maximum transfer length")
        optimalTransferLength = try reader.uint32(at: 12, "optimal transfer length")
        maximumPrefetchLength = reader.optionalInteger(UInt32.self, at: 16)
        maximumUnmapLBACount = reader.optionalInteger(UInt32.self, at: 20)
        maximumUnmapBlockDescriptorCount = reader.optionalInteger(UInt32.self, at: 24)
        optimalUnmapGranularity = reader.optionalInteger(UInt32.self, at: 28)
        let alignment = reader.optionalInteger(UInt32.self, at: 32)
        unmapGranularityAlignment = alignment.flatMap { $0 & 0x8000_0000 != 0 ? $0 & 0x7FFF_FFFF : nil }
        maximumWriteSameLength = reader.optionalInteger(UInt64.self, at: 36)
    }
}
