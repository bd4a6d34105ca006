/// Vital product data page codes and the common 4-byte page header (SPC-4 7.8).
public enum VPD {
    public static let supportedPages: UInt8 = 0x00
    public static let unitSerialNumber: UInt8 = 0x80
    public static let deviceIdentification: UInt8 = 0x83
    public static let blockLimits: UInt8 = 0xB0
    public static let blockDeviceCharacteristics: UInt8 = 0xB1
    public static let logicalBlockProvisioning: UInt8 = 0xB2

    /// Total bytes of the page whose first bytes are `header` (4 + PAGE LENGTH), or nil when fewer
    /// than 4 bytes came back. Use it to re-issue INQUIRY with a large enough allocation length.
    public static func requiredLength(ofPage header: some Collection<UInt8>) -> Int? {
        let bytes = Array(header.prefix(4))
        guard let length = bigEndianValue(UInt16.self, in: bytes, at: 2) else { return nil }
        return 4 + Int(length)
    }

    /// Human name used in errors, e.g. "VPD page 0x83 (device identification)".
    static func name(of page: UInt8) -> String {
        let title: String
        switch page {
        case supportedPages: title = "supported VPD pages"
        case unitSerialNumber: title = "unit serial number"
        case deviceIdentification: title = "device identification"
        case blockLimits: title = "block limits"
        case blockDeviceCharacteristics: title = "block device characteristics"
        case logicalBlockProvisioning: title = "logical block provisioning"
        default: title = "vendor or unknown"
        }
        return "VPD page \(hexByte(page)) (\(title))"
    }

    /// Checks the header of a VPD page and returns a reader over exactly 4 + PAGE LENGTH bytes,
    /// so offsets match the SPC/SBC tables. PAGE LENGTH is read as 16 bits: SPC-4 made every page
    /// use bytes 2-3, and older 1-byte pages keep byte 2 zero, so both read the same.
    static func page(_ bytes: some Collection<UInt8>, code: UInt8) throws(SCSIParseError) -> FieldReader {
        let name = name(of: code)
        let all = FieldReader(bytes, structure: name)
        let pageCode = try all.uint8(at: 1, "page code")
        guard pageCode == code else {
            throw .wrongPageCode(what: name, expected: code, got: pageCode)
        }
        let pageLength = Int(try all.uint16(at: 2, "page length"))
        try all.require(4 + pageLength, for: "(page length \(pageLength))")
        return FieldReader(all.bytes.prefix(4 + pageLength), structure: name)
    }
}

/// VPD page 0x00: the VPD pages the device server supports.
public struct SupportedVPDPages: Equatable, Sendable {
    public let peripheralDeviceType: PeripheralDeviceType
    /// Page codes in the order listed (ascending per SPC).
    public let pageCodes: [UInt8]

    public init(bytes: some Collection<UInt8>) throws(SCSIParseError) {
        let reader = try VPD.page(bytes, code: VPD.supportedPages)
        peripheralDeviceType = PeripheralDeviceType(rawValue: try reader.uint8(at: 0, "peripheral byte"))
        pageCodes = Array(reader.bytes.dropFirst(4))
    }

    public func supports(_ page: UInt8) -> Bool {
        pageCodes.contains(page)
    }
}

/// VPD page 0x80: PRODUCT SERIAL NUMBER.
public struct UnitSerialNumberPage: Equatable, Sendable {
    public let peripheralDeviceType: PeripheralDeviceType
    /// The serial as sent (ASCII, often space padded on the left, e.g. tgt right-adjusts it).
    public let rawSerialNumber: [UInt8]

    public init(bytes: some Collection<UInt8>) throws(SCSIParseError) {
        let reader = try VPD.page(bytes, code: VPD.unitSerialNumber)
        peripheralDeviceType = PeripheralDeviceType(rawValue: try reader.uint8(at: 0, "peripheral byte"))
        rawSerialNumber = Array(reader.bytes.dropFirst(4))
    }

    /// The serial with leading and trailing spaces removed, as multipath-tools' `parse_vpd_pg80`
    /// and udev's SCSI_IDENT_SERIAL present it.
    public var serialNumber: String {
        asciiField(rawSerialNumber, trimLeading: true)
    }
}
