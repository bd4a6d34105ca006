/// An ALUA asymmetric access state (SPC-4 5.16.2.3).
public enum AsymmetricAccessState: Equatable, Hashable, Sendable, CustomStringConvertible {
    case activeOptimized
    case activeNonOptimized
    case standby
    case unavailable
    case lbaDependent
    case offline
    case transitioning
    /// A value SPC reserves.
    case reserved(UInt8)

    /// Decodes the 4-bit state field.
    public init(rawValue: UInt8) {
        switch rawValue & 0x0F {
        case 0x0: self = .activeOptimized
        case 0x1: self = .activeNonOptimized
        case 0x2: self = .standby
        case 0x3: self = .unavailable
        case 0x4: self = .lbaDependent
        case 0xE: self = .offline
        case 0xF: self = .transitioning
        case let other: self = .reserved(other)
        }
    }

    public var rawValue: UInt8 {
        switch self {
        case .activeOptimized: return 0x0
        case .activeNonOptimized: return 0x1
        case .standby: return 0x2
        case .unavailable: return 0x3
        case .lbaDependent: return 0x4
        case .offline: return 0xE
        case .transitioning: return 0xF
        case let .reserved(value): return value
        }
    }

    /// Reads and writes are served in this state (active/optimized or active/non-optimized).
    public var isActive: Bool { self == .activeOptimized || self == .activeNonOptimized }

    /// The names multipath-tools' alua prioritizer logs.
    public var description: String {
        switch self {
        case .activeOptimized: return "active/optimized"
        case .activeNonOptimized: return "active/non-optimized"
        case .standby: return "standby"
        case .unavailable: return "unavailable"
        case .lbaDependent: return "logical block dependent"
        case .offline: return "offline"
        case .transitioning: return "transitioning"
        case let .reserved(value): return "reserved state \(hexByte(value))"
        }
    }
}

/// The states a target port group supports (T_SUP .. AO_SUP of RTPG byte 1).
public struct SupportedAccessStates: OptionSet, Hashable, Sendable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let transitioning = SupportedAccessStates(rawValue: 0x80)
    public static let offline = SupportedAccessStates(rawValue: 0x40)
    public static let lbaDependent = SupportedAccessStates(rawValue: 0x10)
    public static let unavailable = SupportedAccessStates(rawValue: 0x08)
    public static let standby = SupportedAccessStates(rawValue: 0x04)
    public static let activeNonOptimized = SupportedAccessStates(rawValue: 0x02)
    public static let activeOptimized = SupportedAccessStates(rawValue: 0x01)
}

/// STATUS CODE of a target port group descriptor: why the group is in its state.
public enum TargetPortGroupStatusCode: Equatable, Hashable, Sendable {
    /// 0: no status available.
    case noStatus
    /// 1: state altered by a SET TARGET PORT GROUPS command.
    case alteredBySetTargetPortGroups
    /// 2: state altered by implicit asymmetric logical unit access behavior.
    case alteredImplicitly
    case reserved(UInt8)

    public init(rawValue: UInt8) {
        switch rawValue {
        case 0: self = .noStatus
        case 1: self = .alteredBySetTargetPortGroups
        case 2: self = .alteredImplicitly
        default: self = .reserved(rawValue)
        }
    }
}

/// One target port group descriptor of REPORT TARGET PORT GROUPS data.
public struct TargetPortGroup: Equatable, Hashable, Sendable {
    /// TARGET PORT GROUP: matches `DeviceIdentificationPage.targetPortGroupID`.
    public let id: UInt16
    public let asymmetricAccessState: AsymmetricAccessState
    /// PREF: this group is preferred for I/O (multipath-tools' alua prio adds 20 for it).
    public let preferred: Bool
    public let supportedStates: SupportedAccessStates
    public let statusCode: TargetPortGroupStatusCode
    /// VENDOR SPECIFIC byte.
    public let vendorSpecific: UInt8
    /// RELATIVE TARGET PORT IDENTIFIERs of the ports in the group.
    public let relativeTargetPortIDs: [UInt16]

    public init(
        id: UInt16,
        asymmetricAccessState: AsymmetricAccessState,
        preferred: Bool = false,
        supportedStates: SupportedAccessStates = [],
        statusCode: TargetPortGroupStatusCode = .noStatus,
        vendorSpecific: UInt8 = 0,
        relativeTargetPortIDs: [UInt16]
    ) {
        self.id = id
        self.asymmetricAccessState = asymmetricAccessState
        self.preferred = preferred
        self.supportedStates = supportedStates
        self.statusCode = statusCode
        self.vendorSpecific = vendorSpecific
        self.relativeTargetPortIDs = relativeTargetPortIDs
    }
}

/// REPORT TARGET PORT GROUPS parameter data (SPC-4 6.36), length-only or extended header.
///
/// The format is recognised from the data as Linux scsi_dh_alua does: in the extended header the
/// FORMAT TYPE (byte 4 bits 6-4) is 001b, bits a length-only response keeps reserved (zero) in its
/// first descriptor.
public struct ReportTargetPortGroupsData: Equatable, Sendable {
    /// RETURN DATA LENGTH: bytes following the 4-byte length field that the target has.
    public let returnDataLength: UInt32
    /// True for the extended header (PARAMETER DATA FORMAT 001b).
    public let isExtendedFormat: Bool
    /// IMPLICIT TRANSITION TIME in seconds (extended header only; 0 = unspecified).
    public let implicitTransitionTime: UInt8?
    public let groups: [TargetPortGroup]

    /// Throws when the data is shorter than RETURN DATA LENGTH says (re-issue with
    /// `4 + returnDataLength` bytes), or when a descriptor overruns it.
    public init(bytes: some Collection<UInt8>) throws(SCSIParseError) {
        let structure = "REPORT TARGET PORT GROUPS data"
        let all = FieldReader(bytes, structure: structure)
        returnDataLength = try all.uint32(at: 0, "return data length")
        let total = 4 + Int(returnDataLength)
        try all.require(total, for: "(return data length \(returnDataLength))")
        let reader = FieldReader(all.bytes.prefix(total), structure: structure)
        let formatByte = reader.optionalInteger(UInt8.self, at: 4) ?? 0
        isExtendedFormat = (formatByte >> 4) & 0x07 == 0x01
        var offset: Int
        if isExtendedFormat {
            implicitTransitionTime = try reader.uint8(at: 5, "implicit transition time")
            offset = 8
        } else {
            implicitTransitionTime = nil
            offset = 4
        }
        var parsed: [TargetPortGroup] = []
        while offset < reader.count {
            let field = "target port group descriptor at offset \(offset)"
            let stateByte = try reader.uint8(at: offset, field)
            let supportByte = try reader.uint8(at: offset + 1, field)
            let id = try reader.uint16(at: offset + 2, field + " group id")
            let status = try reader.uint8(at: offset + 5, field + " status code")
            let vendor = try reader.uint8(at: offset + 6, field + " vendor byte")
            let portCount = Int(try reader.uint8(at: offset + 7, field + " port count"))
            var ports: [UInt16] = []
            ports.reserveCapacity(portCount)
            for index in 0..<portCount {
                ports.append(try reader.uint16(at: offset + 8 + index * 4 + 2, field + " port \(index)"))
            }
            parsed.append(TargetPortGroup(
                id: id,
                asymmetricAccessState: AsymmetricAccessState(rawValue: stateByte),
                preferred: stateByte & 0x80 != 0,
                supportedStates: SupportedAccessStates(rawValue: supportByte),
                statusCode: TargetPortGroupStatusCode(rawValue: status),
                vendorSpecific: vendor,
                relativeTargetPortIDs: ports))
            offset += 8 + portCount * 4
        }
        groups = parsed
    }

    /// The group that holds relative target port `portID`.
    public func group(containingPort portID: UInt16) -> TargetPortGroup? {
        groups.first { $0.relativeTargetPortIDs.contains(portID) }
    }

    /// The group with TARGET PORT GROUP `id`.
    public func group(withID id: UInt16) -> TargetPortGroup? {
        groups.first { $0.id == id }
    }

    /// Total bytes of RTPG data the target has: the allocation length that returns all of it.
    public static func requiredLength(ofResponse header: some Collection<UInt8>) -> Int? {
        let bytes = Array(header.prefix(4))
        return bigEndianValue(UInt32.self, in: bytes, at: 0).map { 4 + Int($0) }
    }
}
