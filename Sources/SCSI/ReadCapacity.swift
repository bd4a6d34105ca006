/// READ CAPACITY(10) parameter data (SBC-3 5.15.2): 8 bytes.
public struct ReadCapacity10Data: Equatable, Sendable {
    /// RETURNED LOGICAL BLOCK ADDRESS: the last LBA, 0xFFFFFFFF when the device is too large.
    public let lastLBA: UInt32
    /// LOGICAL BLOCK LENGTH IN BYTES.
    public let blockLength: UInt32

    /// Throws when shorter than 8 bytes or when the block length is zero.
    public init(bytes: some Collection<UInt8>) throws(SCSIParseError) {
        let reader = FieldReader(bytes, structure: "READ CAPACITY(10) data")
        lastLBA = try reader.uint32(at: 0, "returned logical block address")
        blockLength = try reader.uint32(at: 4, "logical block length")
        guard blockLength > 0 else {
            throw .invalidField(what: "READ CAPACITY(10) data logical block length", reason: "zero")
        }
    }

    /// The device has 2^32 blocks or more: ask READ CAPACITY(16) for the real size.
    public var needsReadCapacity16: Bool { lastLBA == UInt32.max }

    /// Number of logical blocks (lastLBA + 1); a lower bound when `needsReadCapacity16`.
    public var blockCount: UInt64 { UInt64(lastLBA) + 1 }

    /// Capacity in bytes; cannot overflow (at most 2^32 * (2^32 - 1)).
    public var sizeBytes: UInt64 { blockCount * UInt64(blockLength) }
}

/// READ CAPACITY(16) parameter data (SBC-3 5.16.2), normally 32 bytes.
///
/// Only the first 12 bytes (last LBA and block length) are mandatory here; if the allocation length
/// cut the data shorter than 16 bytes, the protection and provisioning fields read as zero.
public struct ReadCapacity16Data: Equatable, Sendable {
    public let lastLBA: UInt64
    public let blockLength: UInt32
    /// PROT_EN: the LU is formatted with protection information.
    public let protectionEnabled: Bool
    /// P_TYPE: protection type minus one (0 = type 1), meaningful when `protectionEnabled`.
    public let protectionType: UInt8
    /// P_I_EXPONENT.
    public let protectionIntervalExponent: UInt8
    /// LOGICAL BLOCKS PER PHYSICAL BLOCK EXPONENT: physical block = blockLength << this.
    public let logicalBlocksPerPhysicalBlockExponent: UInt8
    /// LBPME: logical block provisioning (thin provisioning, UNMAP) is enabled.
    public let lbpme: Bool
    /// LBPRZ: deallocated blocks read back as zeroes.
    public let lbprz: Bool
    /// LOWEST ALIGNED LOGICAL BLOCK ADDRESS (14 bits).
    public let lowestAlignedLBA: UInt16
    /// Number of logical blocks, lastLBA + 1 (checked at parse time not to overflow).
    public let blockCount: UInt64
    /// Capacity in bytes (checked at parse time not to overflow).
    public let sizeBytes: UInt64

    /// Throws when shorter than 12 bytes, when the block length is zero, or when the capacity does
    /// not fit in 64 bits of bytes (a corrupt answer: no such device exists).
    public init(bytes: some Collection<UInt8>) throws(SCSIParseError) {
        let structure = "READ CAPACITY(16) data"
        let reader = FieldReader(bytes, structure: structure)
        lastLBA = try reader.uint64(at: 0, "returned logical block address")
        blockLength = try reader.uint32(at: 8, "logical block length")
        guard blockLength > 0 else {
            throw .invalidField(what: "\(structure) logical block length", reason: "zero")
        }
        let protection = reader.optionalInteger(UInt8.self, at: 12) ?? 0
        let exponents = reader.optionalInteger(UInt8.self, at: 13) ?? 0
        let provisioning = reader.optionalInteger(UInt16.self, at: 14) ?? 0
        protectionEnabled = protection & 0x01 != 0
        protectionType = (protection >> 1) & 0x07
        protectionIntervalExponent = exponents >> 4
        logicalBlocksPerPhysicalBlockExponent = exponents & 0x0F
        lbpme = provisioning & 0x8000 != 0
        lbprz = provisioning & 0x4000 != 0
        lowestAlignedLBA = provisioning & 0x3FFF
        let (count, countOverflow) = lastLBA.addingReportingOverflow(1)
        let (size, sizeOverflow) = count.multipliedReportingOverflow(by: UInt64(blockLength))
        guard !countOverflow, !sizeOverflow else {
            throw .invalidField(
                what: "\(structure) returned logical block address",
                reason: "last LBA \(lastLBA) with \(blockLength)-byte blocks exceeds 2^64 bytes")
        }
        blockCount = count
        sizeBytes = size
    }

    /// Physical block size in bytes, nil when the exponent would overflow 32 bits.
    public var physicalBlockLength: UInt32? {
        let shifted = UInt64(blockLength) << UInt64(logicalBlocksPerPhysicalBlockExponent)
        return shifted <= UInt64(UInt32.max) ? UInt32(shifted) : nil
    }
}
