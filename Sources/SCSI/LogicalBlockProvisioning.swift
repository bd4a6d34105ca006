/// VPD page 0xB2, Logical Block Provisioning (SBC-3 6.5.4): whether and how the LU can
/// deallocate blocks (UNMAP, WRITE SAME with UNMAP).
public struct LogicalBlockProvisioningPage: Equatable, Sendable {
    /// PROVISIONING TYPE (byte 6 bits 2-0).
    public enum ProvisioningType: Equatable, Sendable {
        /// 0: fully provisioned, or not reported.
        case full
        /// 1: resource provisioned.
        case resource
        /// 2: thin provisioned.
        case thin
        case reserved(UInt8)
    }

    public let peripheralDeviceType: PeripheralDeviceType
    /// THRESHOLD EXPONENT.
    public let thresholdExponent: UInt8
    /// LBPU: UNMAP is supported.
    public let lbpu: Bool
    /// LBPWS: WRITE SAME(16) with UNMAP is supported.
    public let lbpws: Bool
    /// LBPWS10: WRITE SAME(10) with UNMAP is supported.
    public let lbpws10: Bool
    /// LBPRZ field (3 bits in SBC-4, 1 bit in SBC-3): nonzero means deallocated blocks read as zeroes
    /// (or as a provisioning initialization pattern).
    public let lbprzField: UInt8
    /// ANC_SUP: ANCHOR supported.
    public let anchorSupported: Bool
    /// DP: a provisioning group descriptor follows.
    public let descriptorPresent: Bool
    /// MINIMUM PERCENTAGE (byte 6 bits 7-3).
    public let minimumPercentage: UInt8
    public let provisioningType: ProvisioningType
    /// THRESHOLD PERCENTAGE.
    public let thresholdPercentage: UInt8

    public init(bytes: some Collection<UInt8>) throws(SCSIParseError) {
        let reader = try VPD.page(bytes, code: VPD.logicalBlockProvisioning)
        peripheralDeviceType = PeripheralDeviceType(rawValue: try reader.uint8(at: 0, "peripheral byte"))
        try reader.require(8, for: "(page length 0x04)")
        thresholdExponent = try reader.uint8(at: 4, "threshold exponent")
        let flags = try reader.uint8(at: 5, "LBPU byte")
        lbpu = flags & 0x80 != 0
        lbpws = flags & 0x40 != 0
        lbpws10 = flags & 0x20 != 0
        lbprzField = (flags >> 2) & 0x07
        anchorSupported = flags & 0x02 != 0
        descriptorPresent = flags & 0x01 != 0
        let byte6 = try reader.uint8(at: 6, "provisioning type byte")
        minimumPercentage = byte6 >> 3
        switch byte6 & 0x07 {
        case 0: provisioningType = .full
        case 1: provisioningType = .resource
        case 2: provisioningType = .thin
        case let other: provisioningType = .reserved(other)
        }
        thresholdPercentage = try reader.uint8(at: 7, "threshold percentage")
    }

    /// LBPRZ: deallocated blocks read back as zeroes.
    public var lbprz: Bool { lbprzField != 0 }

    /// True when some form of deallocation command is available.
    public var supportsDeallocation: Bool { lbpu || lbpws || lbpws10 }
}
