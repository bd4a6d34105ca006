/// Why sense bytes could not be decoded.
public enum SenseError: Error, Equatable, Sendable, CustomStringConvertible {
    /// No sense bytes at all.
    case empty
    /// Fewer bytes than the format's mandatory header (`format` is "fixed" or "descriptor").
    case truncated(format: String, needed: Int, got: Int)
    /// RESPONSE CODE other than 0x70-0x73 (0x7F is vendor specific, anything else is not sense data).
    case unsupportedResponseCode(UInt8)

    public var description: String {
        switch self {
        case .empty:
            return "sense data empty"
        case let .truncated(format, needed, got):
            return "\(format)-format sense data truncated: need \(needed) bytes, got \(got)"
        case let .unsupportedResponseCode(code):
            return "sense data has unsupported response code \(hexByte(code)) (expected 0x70-0x73)"
        }
    }
}

/// Decoded sense data (SPC-4 4.5), from either the fixed (0x70/0x71) or the descriptor
/// (0x72/0x73) format.
///
/// Decoding is lenient about length in the way sg3_utils' `sg_scsi_normalize_sense` is: sense can
/// be cut short by an allocation length, so a field that is not present reads as zero (ASC/ASCQ)
/// or nil (INFORMATION, sense-key specific). Only a missing sense key is an error. In the
/// descriptor format, a descriptor that does not fit entirely is ignored.
public struct SenseData: Equatable, Sendable, CustomStringConvertible {
    /// The two sense data formats.
    public enum Format: Sendable, Equatable {
        case fixed
        case descriptor
    }

    /// RESPONSE CODE, 0x70-0x73.
    public let responseCode: UInt8
    public let senseKey: SenseKey
    public let asc: UInt8
    public let ascq: UInt8
    /// INFORMATION: the fixed-format field when VALID is set, or the descriptor-format Information
    /// descriptor (type 0x00) when its VALID bit is set. For reads/writes, usually the first bad LBA.
    public let information: UInt64?
    /// COMMAND-SPECIFIC INFORMATION (fixed bytes 8-11 when nonzero, or descriptor type 0x01).
    public let commandSpecificInformation: UInt64?
    /// SENSE KEY SPECIFIC, when its SKSV bit is set.
    public let senseKeySpecific: SenseKeySpecific?
    /// FIELD REPLACEABLE UNIT CODE (fixed format byte 14), 0 when absent.
    public let fieldReplaceableUnitCode: UInt8
    /// FILEMARK, EOM and ILI flags (fixed byte 2, or the stream/block command descriptors).
    public let filemark: Bool
    public let endOfMedium: Bool
    public let incorrectLengthIndicator: Bool

    /// Decodes sense bytes as carried (after the 2-byte SenseLength) in an iSCSI SCSI Response.
    public init(bytes: some Collection<UInt8>) throws(SenseError) {
        let data = Array(bytes)
        guard let first = data.first else { throw .empty }
        let code = first & 0x7F
        switch code {
        case 0x70, 0x71:
            self = try Self.decodeFixed(data)
        case 0x72, 0x73:
            self = try Self.decodeDescriptor(data)
        default:
            throw .unsupportedResponseCode(code)
        }
    }

    /// Builds sense data, e.g. for a test target or for logging a synthesized error.
    public init(
        senseKey: SenseKey,
        asc: UInt8,
        ascq: UInt8,
        information: UInt64? = nil,
        isDeferred: Bool = false,
        format: Format = .fixed,
        senseKeySpecific: SenseKeySpecific? = nil
    ) {
        switch format {
        case .fixed: responseCode = isDeferred ? 0x71 : 0x70
        case .descriptor: responseCode = isDeferred ? 0x73 : 0x72
        }
        self.senseKey = senseKey
        self.asc = asc
        self.ascq = ascq
        self.information = information
        self.commandSpecificInformation = nil
        self.senseKeySpecific = senseKeySpecific
        self.fieldReplaceableUnitCode = 0
        self.filemark = false
        self.endOfMedium = false
        self.incorrectLengthIndicator = false
    }

    private init(
        responseCode: UInt8, senseKey: SenseKey, asc: UInt8, ascq: UInt8, information: UInt64?,
        commandSpecificInformation: UInt64?, senseKeySpecific: SenseKeySpecific?,
        fieldReplaceableUnitCode: UInt8, filemark: Bool, endOfMedium: Bool, incorrectLengthIndicator: Bool
    ) {
        self.responseCode = responseCode
        self.senseKey = senseKey
        self.asc = asc
        self.ascq = ascq
        self.information = information
        self.commandSpecificInformation = commandSpecificInformation
        self.senseKeySpecific = senseKeySpecific
        self.fieldReplaceableUnitCode = fieldReplaceableUnitCode
        self.filemark = filemark
        self.endOfMedium = endOfMedium
        self.incorrectLengthIndicator = incorrectLengthIndicator
    }

    public var format: Format {
        responseCode == 0x72 || responseCode == 0x73 ? .descriptor : .fixed
    }

    /// The sense describes the command it came with (response code 0x70/0x72).
    public var isCurrent: Bool { responseCode == 0x70 || responseCode == 0x72 }

    /// The sense reports an error of an earlier command that already returned GOOD (0x71/0x73);
    /// the command it came with was not executed.
    public var isDeferred: Bool { !isCurrent }

    /// ASC and ASCQ as one value, with its T10 name where known.
    public var additionalSenseCode: AdditionalSenseCode {
        AdditionalSenseCode(asc: asc, ascq: ascq)
    }

    /// "NOT READY, ASC/ASCQ 04/0A (LOGICAL UNIT NOT ACCESSIBLE, ASYMMETRIC ACCESS STATE TRANSITION)",
    /// with " [deferred]" appended for deferred errors.
    public var description: String {
        let code = additionalSenseCode
        var text = "\(senseKey.name), ASC/ASCQ \(code)"
        if let name = code.name {
            text += " (\(name))"
        }
        if isDeferred {
            text += " [deferred]"
        }
        return text
    }

    /// Fixed-format encoding (18 bytes, ADDITIONAL SENSE LENGTH 10), as tgt and most targets send it.
    public func fixedFormatBytes() -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: 18)
        bytes[0] = (isDeferred ? 0x71 : 0x70) | (information != nil ? 0x80 : 0)
        bytes[2] = senseKey.rawValue
            | (filemark ? 0x80 : 0) | (endOfMedium ? 0x40 : 0) | (incorrectLengthIndicator ? 0x20 : 0)
        if let information {
            // The fixed field is 32 bits; larger values only fit the descriptor format.
            bytes.replaceSubrange(3..<7, with: bigEndianBytes(UInt32(truncatingIfNeeded: information)))
        }
        bytes[7] = 10
        if let commandSpecificInformation {
            bytes.replaceSubrange(8..<12, with: bigEndianBytes(UInt32(truncatingIfNeeded: commandSpecificInformation)))
        }
        bytes[12] = asc
        bytes[13] = ascq
        bytes[14] = fieldReplaceableUnitCode
        bytes.replaceSubrange(15..<18, with: Self.encode(senseKeySpecific))
        return bytes
    }

    /// Descriptor-format encoding: the 8-byte header, then an Information descriptor when
    /// `information` is set and a sense-key-specific descriptor when `senseKeySpecific` is set.
    public func descriptorFormatBytes() -> [UInt8] {
        var descriptors: [UInt8] = []
        if let information {
            descriptors += [0x00, 0x0A, 0x80, 0x00] + bigEndianBytes(information)
        }
        if let commandSpecificInformation {
            descriptors += [0x01, 0x0A, 0x00, 0x00] + bigEndianBytes(commandSpecificInformation)
        }
        if senseKeySpecific != nil {
            descriptors += [0x02, 0x06, 0x00, 0x00] + Self.encode(senseKeySpecific) + [0x00]
        }
        let header: [UInt8] = [
            isDeferred ? 0x73 : 0x72, senseKey.rawValue, asc, ascq, 0, 0, 0, UInt8(descriptors.count),
        ]
        return header + descriptors
    }

    // MARK: - Decoding

    private static func decodeFixed(_ data: [UInt8]) throws(SenseError) -> SenseData {
        guard data.count >= 3 else { throw .truncated(format: "fixed", needed: 3, got: data.count) }
        // Bytes past 8 + ADDITIONAL SENSE LENGTH are padding, not sense.
        let usable = data.count >= 8 ? min(data.count, 8 + Int(data[7])) : data.count
        let valid = data[0] & 0x80 != 0
        let key = SenseKey(nibble: data[2])
        let information: UInt64? = valid && usable >= 7
            ? bigEndianValue(UInt32.self, in: data, at: 3).map(UInt64.init) : nil
        // SPC: zero COMMAND-SPECIFIC INFORMATION means there is none.
        let commandSpecific: UInt64? = usable >= 12
            ? bigEndianValue(UInt32.self, in: data, at: 8).flatMap { $0 == 0 ? nil : UInt64($0) } : nil
        let sks = usable >= 18 ? SenseKeySpecific(bytes: Array(data[15..<18]), key: key) : nil
        return SenseData(
            responseCode: data[0] & 0x7F,
            senseKey: key,
            asc: usable > 12 ? data[12] : 0,
            ascq: usable > 13 ? data[13] : 0,
            information: information,
            commandSpecificInformation: commandSpecific,
            senseKeySpecific: sks,
            fieldReplaceableUnitCode: usable > 14 ? data[14] : 0,
            filemark: data[2] & 0x80 != 0,
            endOfMedium: data[2] & 0x40 != 0,
            incorrectLengthIndicator: data[2] & 0x20 != 0)
    }

    private static func decodeDescriptor(_ data: [UInt8]) throws(SenseError) -> SenseData {
        guard data.count >= 4 else { throw .truncated(format: "descriptor", needed: 4, got: data.count) }
        let key = SenseKey(nibble: data[1])
        let usable = data.count >= 8 ? min(data.count, 8 + Int(data[7])) : data.count
        var information: UInt64?
        var commandSpecific: UInt64?
        var sks: SenseKeySpecific?
        var filemark = false
        var endOfMedium = false
        var ili = false
        var offset = 8
        while offset + 2 <= usable {
            let type = data[offset]
            let length = Int(data[offset + 1])
            let end = offset + 2 + length
            guard end <= usable else { break }  // cut short by the allocation length
            let descriptor = Array(data[offset..<end])
            switch type {
            case 0x00 where length >= 0x0A:
                if descriptor[2] & 0x80 != 0 {
                    information = bigEndianValue(UInt64.self, in: descriptor, at: 4)
                }
            case 0x01 where length >= 0x0A:
                commandSpecific = bigEndianValue(UInt64.self, in: descriptor, at: 4)
            case 0x02 where length >= 0x06:
                sks = SenseKeySpecific(bytes: Array(descriptor[4..<7]), key: key)
            case 0x04 where length >= 0x02:
                filemark = descriptor[3] & 0x80 != 0
                endOfMedium = descriptor[3] & 0x40 != 0
                ili = descriptor[3] & 0x20 != 0
            case 0x05 where length >= 0x02:
                ili = descriptor[3] & 0x20 != 0
            default:
                break
            }
            offset = end
        }
        return SenseData(
            responseCode: data[0] & 0x7F,
            senseKey: key,
            asc: data[2],
            ascq: data[3],
            information: information,
            commandSpecificInformation: commandSpecific,
            senseKeySpecific: sks,
            fieldReplaceableUnitCode: 0,
            filemark: filemark,
            endOfMedium: endOfMedium,
            incorrectLengthIndicator: ili)
    }

    private static func encode(_ sks: SenseKeySpecific?) -> [UInt8] {
        switch sks {
        case .none:
            return [0, 0, 0]
        case let .fieldPointer(inCDB, bitPointer, byteOffset)?:
            var first: UInt8 = 0x80 | (inCDB ? 0x40 : 0)
            if let bitPointer { first |= 0x08 | (bitPointer & 0x07) }
            return [first] + bigEndianBytes(byteOffset)
        case let .progress(value)?, let .actualRetryCount(value)?:
            return [0x80] + bigEndianBytes(value)
        case let .raw(bytes)?:
            let padded = Array(bytes.prefix(3)) + [UInt8](repeating: 0, count: max(0, 3 - bytes.count))
            return [padded[0] | 0x80, padded[1], padded[2]]
        }
    }
}
