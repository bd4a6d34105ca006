/// Why a SCSI response (INQUIRY data, a VPD page, REPORT LUNS, READ CAPACITY, RTPG) could not be decoded.
///
/// Every case names the structure and, where it applies, the field, so a log line is enough to see
/// what the target sent wrong.
public enum SCSIParseError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The data ended before `needed` bytes; `got` bytes were available.
    /// For VPD pages and standard INQUIRY data this usually means the allocation length was too small:
    /// re-issue the command with at least `needed` bytes.
    case truncated(what: String, needed: Int, got: Int)
    /// A VPD page came back with another page code than the one asked for.
    case wrongPageCode(what: String, expected: UInt8, got: UInt8)
    /// A field holds a value the structure does not allow.
    case invalidField(what: String, reason: String)

    public var description: String {
        switch self {
        case let .truncated(what, needed, got):
            return "\(what) truncated: need \(needed) bytes, got \(got)"
        case let .wrongPageCode(what, expected, got):
            return "\(what): wrong page code \(hexByte(got)), expected \(hexByte(expected))"
        case let .invalidField(what, reason):
            return "\(what) invalid: \(reason)"
        }
    }
}
