/// An 8-byte SAM logical unit number, as REPORT LUNS lists it and as the iSCSI BHS carries it.
public struct SCSILUN: Hashable, Sendable, CustomStringConvertible {
    /// ADDRESS METHOD: bits 7-6 of byte 0 (SAM-5 4.7).
    public enum AddressMethod: UInt8, Sendable {
        case peripheral = 0
        case flat = 1
        case logicalUnit = 2
        case extended = 3
    }

    /// The eight bytes as sent.
    public let raw: [UInt8]

    /// Wraps 8 raw LUN bytes; nil unless exactly 8 bytes are given.
    public init?(raw: some Collection<UInt8>) {
        let bytes = Array(raw)
        guard bytes.count == 8 else { return nil }
        self.raw = bytes
    }

    /// The SAM encoding of `number`: peripheral device addressing below 256, flat space below 16384,
    /// extended flat space (3-byte, 0xD2) below 2^24; nil above that.
    public init?(number: UInt64) {
        guard let bytes = SCSILUN.encodeLUN(number) else { return nil }
        self.raw = bytes
    }

    public var addressMethod: AddressMethod {
        AddressMethod(rawValue: (raw.first ?? 0) >> 6) ?? .peripheral
    }

    /// The LUN number for single-level addressing: peripheral with bus 0 (00 nn), flat space
    /// (01 + 14 bits) and 3-byte extended flat space (D2 nn nn nn), with the rest of the 8 bytes zero.
    /// Nil for hierarchical or other methods, which this initiator does not use.
    public var number: UInt64? {
        guard raw.count == 8 else { return nil }
        if raw[0] == 0xD2 {
            // Extended flat space, 3-byte form: D2 nn nn nn 00 00 00 00.
            guard raw[4...].allSatisfy({ $0 == 0 }) else { return nil }
            return UInt64(raw[1]) << 16 | UInt64(raw[2]) << 8 | UInt64(raw[3])
        }
        // A nonzero second level means hierarchical addressing.
        guard raw[2...].allSatisfy({ $0 == 0 }) else { return nil }
        switch addressMethod {
        case .peripheral:
            // Bits 5-0 of byte 0 are a BUS IDENTIFIER; nonzero names another bus level.
            return raw[0] == 0 ? UInt64(raw[1]) : nil
        case .flat:
            return UInt64(raw[0] & 0x3F) << 8 | UInt64(raw[1])
        case .logicalUnit, .extended:
            return nil
        }
    }

    /// The number Linux shows for this LUN (`scsilun_to_int`: 16-bit levels folded little end first,
    /// address method bits kept), e.g. flat LUN 256 is 16640 there. For matching sysfs names.
    public var linuxNumber: UInt64 {
        var value: UInt64 = 0
        for level in 0..<4 {
            let index = level * 2
            guard index + 1 < raw.count else { break }
            let word = UInt64(raw[index]) << 8 | UInt64(raw[index + 1])
            value |= word << (UInt64(level) * 16)
        }
        return value
    }

    /// The number when decodable, else the raw bytes in hex.
    public var description: String {
        if let number { return String(number) }
        return lowercaseHex(raw)
    }

    /// The 8-byte SAM encoding of LUN `n` (see `init(number:)`), or nil when n >= 2^24.
    public static func encodeLUN(_ n: UInt64) -> [UInt8]? {
        let padding = [UInt8](repeating: 0, count: 6)
        switch n {
        case 0..<256:
            return [0x00, UInt8(n)] + padding
        case 256..<16384:
            return [0x40 | UInt8(n >> 8), UInt8(n & 0xFF)] + padding
        case 16384..<(1 << 24):
            return [0xD2, UInt8(n >> 16), UInt8((n >> 8) & 0xFF), UInt8(n & 0xFF), 0, 0, 0, 0]
        default:
            return nil
        }
    }
}

/// REPORT LUNS parameter data (SPC-4 6.33).
///
/// A list longer than the allocation length arrives cut short; that is not an error here:
/// `luns` holds the entries that arrived and `requiredAllocationLength` tells what to ask for.
public struct ReportLunsData: Equatable, Sendable {
    /// LUN LIST LENGTH: bytes of LUN entries the target has (8 per LUN).
    public let lunListLength: UInt32
    /// The LUNs that arrived, in the target's order.
    public let luns: [SCSILUN]

    public init(bytes: some Collection<UInt8>) throws(SCSIParseError) {
        let reader = FieldReader(bytes, structure: "REPORT LUNS data")
        lunListLength = try reader.uint32(at: 0, "LUN list length")
        try reader.require(8, for: "header")
        let available = min(Int(lunListLength), reader.count - 8) / 8
        var parsed: [SCSILUN] = []
        parsed.reserveCapacity(available)
        for index in 0..<available {
            let entry = try reader.slice(at: 8 + index * 8, length: 8, "LUN entry \(index)")
            if let lun = SCSILUN(raw: entry) {
                parsed.append(lun)
            }
        }
        luns = parsed
    }

    /// True when the target has more LUNs than arrived.
    public var isTruncated: Bool { luns.count < Int(lunListLength) / 8 }

    /// The allocation length that returns the whole list (capped at UInt32.max).
    public var requiredAllocationLength: UInt32 {
        lunListLength > UInt32.max - 8 ? UInt32.max : lunListLength + 8
    }

    /// LUN numbers of the entries with single-level addressing (see `SCSILUN.number`).
    public var lunNumbers: [UInt64] { luns.compactMap(\.number) }
}
