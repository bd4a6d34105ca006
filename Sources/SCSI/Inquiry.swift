/// PERIPHERAL DEVICE TYPE (SPC-4 6.6.2, 5 bits). A struct so vendor/reserved types round-trip.
public struct PeripheralDeviceType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt8

    public init(rawValue: UInt8) {
        self.rawValue = rawValue & 0x1F
    }

    public static let directAccess = PeripheralDeviceType(rawValue: 0x00)
    public static let sequentialAccess = PeripheralDeviceType(rawValue: 0x01)
    public static let processor = PeripheralDeviceType(rawValue: 0x03)
    public static let writeOnce = PeripheralDeviceType(rawValue: 0x04)
    public static let cdDvd = PeripheralDeviceType(rawValue: 0x05)
    public static let opticalMemory = PeripheralDeviceType(rawValue: 0x07)
    public static let mediumChanger = PeripheralDeviceType(rawValue: 0x08)
    public static let storageArrayController = PeripheralDeviceType(rawValue: 0x0C)
    public static let enclosureServices = PeripheralDeviceType(rawValue: 0x0D)
    public static let simplifiedDirectAccess = PeripheralDeviceType(rawValue: 0x0E)
    public static let zonedBlock = PeripheralDeviceType(rawValue: 0x14)
    public static let wellKnownLogicalUnit = PeripheralDeviceType(rawValue: 0x1E)
    /// 0x1F: unknown or no device type (tgt answers 0x7F = qualifier 3 + type 0x1F for a missing LUN).
    public static let unknown = PeripheralDeviceType(rawValue: 0x1F)

    /// A block device multipath can map: direct access (0x00) or simplified direct access / RBC (0x0E).
    public var isDisk: Bool { self == .directAccess || self == .simplifiedDirectAccess }

    public var description: String {
        switch self {
        case .directAccess: return "direct-access block device"
        case .sequentialAccess: return "sequential-access device"
        case .processor: return "processor"
        case .writeOnce: return "write-once device"
        case .cdDvd: return "CD/DVD device"
        case .opticalMemory: return "optical memory device"
        case .mediumChanger: return "medium changer"
        case .storageArrayController: return "storage array controller"
        case .enclosureServices: return "enclosure services device"
        case .simplifiedDirectAccess: return "simplified direct-access device"
        case .zonedBlock: return "host-managed zoned block device"
        case .wellKnownLogicalUnit: return "well known logical unit"
        case .unknown: return "unknown or no device type"
        default: return "device type \(hexByte(rawValue))"
        }
    }
}

/// TPGS field of standard INQUIRY byte 5 (SPC-4 6.6.2): how the LU supports ALUA.
public enum TargetPortGroupSupport: UInt8, Sendable {
    /// No asymmetric logical unit access.
    case none = 0
    /// Implicit ALUA only: the target changes states itself (no SET TARGET PORT GROUPS).
    case implicit = 1
    /// Explicit ALUA only: states change through SET TARGET PORT GROUPS.
    case explicit = 2
    /// Both.
    case implicitAndExplicit = 3
}

/// Standard INQUIRY data (SPC-4 6.6.2).
public struct StandardInquiryData: Equatable, Sendable {
    /// Bytes the fields below need: through PRODUCT REVISION LEVEL.
    public static let minimumLength = 36

    /// PERIPHERAL QUALIFIER: 0 = LU present, 1 = supported but not connected, 3 = no LU at this LUN.
    public let peripheralQualifier: UInt8
    public let peripheralDeviceType: PeripheralDeviceType
    /// RMB.
    public let removable: Bool
    /// VERSION: 5 = SPC-3, 6 = SPC-4, 7 = SPC-5.
    public let version: UInt8
    /// RESPONSE DATA FORMAT, 2 for every current device.
    public let responseDataFormat: UInt8
    /// HISUP: hierarchical LUN addressing supported.
    public let hierarchicalSupport: Bool
    /// ADDITIONAL LENGTH: the target has `5 + additionalLength` bytes of standard data.
    public let additionalLength: UInt8
    /// TPGS.
    public let targetPortGroupSupport: TargetPortGroupSupport
    /// 3PC: third-party copy (EXTENDED COPY) supported.
    public let thirdPartyCopy: Bool
    /// PROTECT: protection information supported.
    public let protect: Bool
    /// MULTIP: the device has more than one port.
    public let multiPort: Bool
    /// CMDQUE: full task management / command queuing.
    public let commandQueuing: Bool
    /// T10 VENDOR IDENTIFICATION, trailing spaces removed ("IET", "LIO-ORG").
    public let vendor: String
    /// PRODUCT IDENTIFICATION, trailing spaces removed ("VIRTUAL-DISK").
    public let product: String
    /// PRODUCT REVISION LEVEL, trailing spaces removed.
    public let revision: String

    /// Parses standard INQUIRY data; throws when shorter than 36 bytes.
    public init(bytes: some Collection<UInt8>) throws(SCSIParseError) {
        let reader = FieldReader(bytes, structure: "standard INQUIRY data")
        try reader.require(Self.minimumLength, for: "(vendor, product and revision)")
        let byte0 = try reader.uint8(at: 0, "peripheral byte")
        let byte3 = try reader.uint8(at: 3, "response data format")
        let byte5 = try reader.uint8(at: 5, "TPGS byte")
        let byte6 = try reader.uint8(at: 6, "MULTIP byte")
        let byte7 = try reader.uint8(at: 7, "CMDQUE byte")
        peripheralQualifier = byte0 >> 5
        peripheralDeviceType = PeripheralDeviceType(rawValue: byte0)
        removable = try reader.uint8(at: 1, "RMB byte") & 0x80 != 0
        version = try reader.uint8(at: 2, "version")
        responseDataFormat = byte3 & 0x0F
        hierarchicalSupport = byte3 & 0x10 != 0
        additionalLength = try reader.uint8(at: 4, "additional length")
        targetPortGroupSupport = TargetPortGroupSupport(rawValue: (byte5 >> 4) & 0x03) ?? .none
        thirdPartyCopy = byte5 & 0x08 != 0
        protect = byte5 & 0x01 != 0
        multiPort = byte6 & 0x10 != 0
        commandQueuing = byte7 & 0x02 != 0
        vendor = asciiField(try reader.slice(at: 8, length: 8, "vendor identification"))
        product = asciiField(try reader.slice(at: 16, length: 16, "product identification"))
        revision = asciiField(try reader.slice(at: 32, length: 4, "product revision level"))
    }

    /// True when an LU is attached at this LUN (qualifier 0).
    public var isLogicalUnitPresent: Bool { peripheralQualifier == 0 }

    /// The raw TPGS field (byte 5 bits 5-4).
    public var tpgs: UInt8 { targetPortGroupSupport.rawValue }

    /// Any ALUA support (TPGS != 0): RTPG is worth asking for.
    public var supportsALUA: Bool { targetPortGroupSupport != .none }

    public var supportsImplicitALUA: Bool {
        targetPortGroupSupport == .implicit || targetPortGroupSupport == .implicitAndExplicit
    }

    public var supportsExplicitALUA: Bool {
        targetPortGroupSupport == .explicit || targetPortGroupSupport == .implicitAndExplicit
    }

    /// Bytes of standard data the target holds (5 + ADDITIONAL LENGTH) — the allocation length that
    /// returns all of it.
    public var availableLength: Int { 5 + Int(additionalLength) }
}
