/// The stable name of a logical unit, spelled the way `multipath -ll` shows it
/// (e.g. "360000000000000000000a000e0000001" for tgt's LU), so our maps and bindings match the
/// reference stack's.
///
/// Precedence, from multipath-tools `libmultipath/discovery.c` `parse_vpd_pg83` (which matches the
/// ID_SERIAL order of sg3_utils' `55-scsi-sg3_id.rules`). Only designators associated with the
/// logical unit count, designators with a length their type does not allow are skipped, and among
/// equals the first listed wins:
///
/// 1. NAA IEEE Registered Extended (NAA 6, 16 bytes)  -> "3" + lowercase hex
/// 2. NAA IEEE Registered (NAA 5, 8 bytes)            -> "3" + lowercase hex
/// 3. NAA IEEE Extended (NAA 2, 8 bytes)              -> "3" + lowercase hex
/// 4. EUI-64 (8, 12 or 16 bytes)                      -> "2" + lowercase hex
/// 5. SCSI name string starting "eui.", "naa." or "iqn." -> "2"/"3" + rest lowercased, or
///    "8" + rest as sent for iqn (the prefix itself is dropped; NUL padding is cut)
/// 6. T10 vendor ID (at least 8 bytes)                -> "1" + text, each run of spaces becomes one
///    "_", trailing spaces dropped, cut at the first NUL
/// 7. NAA Locally Assigned (NAA 3, 8 bytes)           -> "3" + lowercase hex
/// 8. No usable designator: VPD 0x80 serial, as 55-scsi-sg3_id.rules' last ID_SERIAL rule builds it:
///    "S" + vendor + "_" + product + "_" + serial (spaces in each part replaced by "_").
///    multipath-tools' own VPD parser stops at step 7; udev (its default uid_attribute) goes on.
public struct WWID: Hashable, Sendable, CustomStringConvertible {
    /// Which designator (or fallback) the name came from.
    public enum Source: Hashable, Sendable {
        /// NAA designator with its NAA field (6, 5, 2 or 3).
        case naa(UInt8)
        case eui64
        case scsiNameString
        case t10VendorID
        case unitSerialNumber
    }

    /// The name, e.g. "360000000000000000000a000e0000001".
    public let value: String
    public let source: Source

    public init(value: String, source: Source) {
        self.value = value
        self.source = source
    }

    public var description: String { value }

    /// The WWID multipath would use for the LU, or nil when neither page yields one.
    /// `serialNumber` and `inquiry` only matter for the step-8 fallback.
    public static func wwid(
        deviceIdentification: DeviceIdentificationPage?,
        serialNumber: UnitSerialNumberPage? = nil,
        inquiry: StandardInquiryData? = nil
    ) -> String? {
        make(deviceIdentification: deviceIdentification, serialNumber: serialNumber, inquiry: inquiry)?.value
    }

    /// Like `wwid(deviceIdentification:serialNumber:inquiry:)`, also telling where the name came from.
    public static func make(
        deviceIdentification: DeviceIdentificationPage?,
        serialNumber: UnitSerialNumberPage? = nil,
        inquiry: StandardInquiryData? = nil
    ) -> WWID? {
        var best: (priority: Int, designator: Designator)?
        for designator in deviceIdentification?.logicalUnitDesignators ?? [] {
            guard let priority = priority(of: designator) else { continue }
            if priority > (best?.priority ?? 0) {
                best = (priority, designator)
            }
        }
        if let designator = best?.designator, let wwid = format(designator) {
            return wwid
        }
        return serialFallback(serialNumber: serialNumber, inquiry: inquiry)
    }

    /// multipath-tools' priority of a designator, nil when it may not be used.
    private static func priority(of designator: Designator) -> Int? {
        let length = designator.identifier.count
        switch designator.type {
        case .naa:
            switch designator.naaType {
            case 6: return length == 16 ? 8 : nil
            case 5: return length == 8 ? 7 : nil
            case 2: return length == 8 ? 6 : nil
            case 3: return length == 8 ? 1 : nil
            default: return nil
            }
        case .eui64:
            return [8, 12, 16].contains(length) ? 4 : nil
        case .scsiNameString:
            return nameStringPrefix(designator.identifier) != nil ? 3 : nil
        case .t10VendorID:
            return length >= 8 ? 2 : nil
        default:
            return nil
        }
    }

    private static func format(_ designator: Designator) -> WWID? {
        let identifier = designator.identifier
        switch designator.type {
        case .naa:
            return WWID(value: "3" + lowercaseHex(identifier), source: .naa(designator.naaType ?? 0))
        case .eui64:
            return WWID(value: "2" + lowercaseHex(identifier), source: .eui64)
        case .scsiNameString:
            guard let prefix = nameStringPrefix(identifier) else { return nil }
            let rest = String(decoding: identifier.dropFirst(4).prefix { $0 != 0 }, as: UTF8.self)
            switch prefix {
            case "eui.": return WWID(value: "2" + rest.lowercased(), source: .scsiNameString)
            case "naa.": return WWID(value: "3" + rest.lowercased(), source: .scsiNameString)
            default: return WWID(value: "8" + rest, source: .scsiNameString)
            }
        case .t10VendorID:
            let text = identifier.prefix { $0 != 0 }
            return WWID(value: "1" + underscoreSpaces(text), source: .t10VendorID)
        default:
            return nil
        }
    }

    /// "eui.", "naa." or "iqn." when the SCSI name string starts with one of them.
    private static func nameStringPrefix(_ identifier: [UInt8]) -> String? {
        guard identifier.count >= 4 else { return nil }
        let prefix = String(decoding: identifier.prefix(4), as: UTF8.self)
        return ["eui.", "naa.", "iqn."].contains(prefix) ? prefix : nil
    }

    /// Each run of spaces becomes a single "_"; trailing spaces vanish (multipath-tools' T10 rule).
    private static func underscoreSpaces(_ bytes: some Collection<UInt8>) -> String {
        var out: [UInt8] = []
        var pendingSpace = false
        for byte in bytes {
            if byte == UInt8(ascii: " ") {
                pendingSpace = true
                continue
            }
            if pendingSpace {
                out.append(UInt8(ascii: "_"))
                pendingSpace = false
            }
            out.append(byte)
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func serialFallback(serialNumber: UnitSerialNumberPage?, inquiry: StandardInquiryData?) -> WWID? {
        guard let serial = serialNumber?.serialNumber, !serial.isEmpty else { return nil }
        let vendor = inquiry?.vendor ?? ""
        let product = inquiry?.product ?? ""
        let parts = [vendor, product, serial].map { $0.replacingSpaces(with: "_") }
        return WWID(value: "S" + parts.joined(separator: "_"), source: .unitSerialNumber)
    }
}

extension String {
    fileprivate func replacingSpaces(with replacement: Character) -> String {
        String(map { $0 == " " ? replacement : $0 })
    }
}
