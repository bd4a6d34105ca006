/// VPD page 0x83: the designation descriptors that name the LU, the target port and the target
/// device (SPC-4 7.8.6). The source of the WWID and of the ALUA port/group numbers.
public struct DeviceIdentificationPage: Equatable, Sendable {
    public let peripheralDeviceType: PeripheralDeviceType
    /// Designators in the order the target listed them.
    public let designators: [Designator]

    /// A page holding `designators`, e.g. for tests of code that consumes the page.
    public init(peripheralDeviceType: PeripheralDeviceType = .directAccess, designators: [Designator]) {
        self.peripheralDeviceType = peripheralDeviceType
        self.designators = designators
    }

    /// Parses the page. Throws when the page is shorter than its PAGE LENGTH, or when a designator
    /// header or body runs past the end of the page (a target bug, reported with its offset).
    public init(bytes: some Collection<UInt8>) throws(SCSIParseError) {
        let reader = try VPD.page(bytes, code: VPD.deviceIdentification)
        peripheralDeviceType = PeripheralDeviceType(rawValue: try reader.uint8(at: 0, "peripheral byte"))
        var found: [Designator] = []
        var offset = 4
        while offset < reader.count {
            let field = "designator at offset \(offset)"
            let byte0 = try reader.uint8(at: offset, field)
            let byte1 = try reader.uint8(at: offset + 1, field)
            let length = Int(try reader.uint8(at: offset + 3, field + " length"))
            let identifier = try reader.slice(at: offset + 4, length: length, field + " identifier")
            found.append(Designator(byte0: byte0, byte1: byte1, identifier: identifier))
            offset += 4 + length
        }
        designators = found
    }

    /// Designators associated with the addressed logical unit (the ones a WWID may come from).
    public var logicalUnitDesignators: [Designator] {
        designators.filter { $0.association == .logicalUnit }
    }

    /// RELATIVE TARGET PORT IDENTIFIER of the port this page was read through (designator type 4,
    /// association target port), the port RTPG lists under its group.
    public var relativeTargetPortID: UInt16? {
        designators.first { $0.type == .relativeTargetPort && $0.association == .targetPort }?.lowSixteenBits
    }

    /// TARGET PORT GROUP of the port this page was read through (designator type 5).
    public var targetPortGroupID: UInt16? {
        designators.first { $0.type == .targetPortGroup && $0.association == .targetPort }?.lowSixteenBits
    }

    /// LOGICAL UNIT GROUP (designator type 6), when the LU reports one.
    public var logicalUnitGroupID: UInt16? {
        designators.first { $0.type == .logicalUnitGroup }?.lowSixteenBits
    }
}

/// One designation descriptor of VPD page 0x83.
public struct Designator: Equatable, Sendable {
    /// CODE SET: how to read `identifier`.
    public struct CodeSet: RawRepresentable, Hashable, Sendable {
        public let rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }
        public static let binary = CodeSet(rawValue: 1)
        public static let ascii = CodeSet(rawValue: 2)
        public static let utf8 = CodeSet(rawValue: 3)
    }

    /// ASSOCIATION: what the designator names.
    public struct Association: RawRepresentable, Hashable, Sendable {
        public let rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }
        /// The addressed logical unit.
        public static let logicalUnit = Association(rawValue: 0)
        /// The target port the command came through.
        public static let targetPort = Association(rawValue: 1)
        /// The SCSI target device containing the LU.
        public static let targetDevice = Association(rawValue: 2)
    }

    /// DESIGNATOR TYPE.
    public struct DesignatorType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public let rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }
        public static let vendorSpecific = DesignatorType(rawValue: 0)
        public static let t10VendorID = DesignatorType(rawValue: 1)
        public static let eui64 = DesignatorType(rawValue: 2)
        public static let naa = DesignatorType(rawValue: 3)
        public static let relativeTargetPort = DesignatorType(rawValue: 4)
        public static let targetPortGroup = DesignatorType(rawValue: 5)
        public static let logicalUnitGroup = DesignatorType(rawValue: 6)
        public static let md5LogicalUnit = DesignatorType(rawValue: 7)
        public static let scsiNameString = DesignatorType(rawValue: 8)
        public static let protocolSpecificPort = DesignatorType(rawValue: 9)
        public static let uuid = DesignatorType(rawValue: 0xA)

        public var description: String {
            switch self {
            case .vendorSpecific: return "vendor specific"
            case .t10VendorID: return "T10 vendor ID"
            case .eui64: return "EUI-64"
            case .naa: return "NAA"
            case .relativeTargetPort: return "relative target port"
            case .targetPortGroup: return "target port group"
            case .logicalUnitGroup: return "logical unit group"
            case .md5LogicalUnit: return "MD5 logical unit"
            case .scsiNameString: return "SCSI name string"
            case .protocolSpecificPort: return "protocol specific port"
            case .uuid: return "UUID"
            default: return "designator type \(hexByte(rawValue))"
            }
        }
    }

    /// PROTOCOL IDENTIFIER of this designator; iSCSI is 5.
    public static let iscsiProtocolIdentifier: UInt8 = 5

    public let codeSet: CodeSet
    public let association: Association
    public let type: DesignatorType
    /// PROTOCOL IDENTIFIER, only meaningful (and only set) when PIV is one and the association is
    /// target port or target device.
    public let protocolIdentifier: UInt8?
    /// The DESIGNATOR bytes.
    public let identifier: [UInt8]

    public init(
        codeSet: CodeSet, association: Association, type: DesignatorType,
        protocolIdentifier: UInt8? = nil, identifier: [UInt8]
    ) {
        self.codeSet = codeSet
        self.association = association
        self.type = type
        self.protocolIdentifier = protocolIdentifier
        self.identifier = identifier
    }

    init(byte0: UInt8, byte1: UInt8, identifier: [UInt8]) {
        let association = Association(rawValue: (byte1 >> 4) & 0x03)
        let piv = byte1 & 0x80 != 0
        let scoped = association == .targetPort || association == .targetDevice
        self.init(
            codeSet: CodeSet(rawValue: byte0 & 0x0F),
            association: association,
            type: DesignatorType(rawValue: byte1 & 0x0F),
            protocolIdentifier: piv && scoped ? byte0 >> 4 : nil,
            identifier: identifier)
    }

    /// The 4-byte header plus identifier, as the designator appears in the page.
    public var encoded: [UInt8] {
        let piv: UInt8 = protocolIdentifier != nil ? 0x80 : 0
        let byte0 = ((protocolIdentifier ?? 0) << 4) | (codeSet.rawValue & 0x0F)
        let byte1 = piv | ((association.rawValue & 0x03) << 4) | (type.rawValue & 0x0F)
        return [byte0, byte1, 0, UInt8(truncatingIfNeeded: identifier.count)] + identifier
    }

    /// NAA field (high nibble of the first byte) of an NAA designator: 2 IEEE extended, 3 locally
    /// assigned, 5 IEEE registered, 6 IEEE registered extended.
    public var naaType: UInt8? {
        guard type == .naa, let first = identifier.first else { return nil }
        return first >> 4
    }

    /// The identifier as text for ASCII/UTF-8 code sets (NUL padding stripped), nil for binary.
    public var text: String? {
        guard codeSet == .ascii || codeSet == .utf8 else { return nil }
        let bytes = identifier.prefix { $0 != 0 }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Bytes 2-3 of a 4-byte identifier: where relative port, port group and LU group numbers live.
    var lowSixteenBits: UInt16? {
        guard identifier.count == 4 else { return nil }
        return bigEndianValue(UInt16.self, in: identifier, at: 2)
    }
}
