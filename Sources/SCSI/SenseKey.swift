/// The 4-bit SENSE KEY (SPC-4 4.5.6), all sixteen values.
public enum SenseKey: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    case noSense = 0x0
    case recoveredError = 0x1
    case notReady = 0x2
    case mediumError = 0x3
    case hardwareError = 0x4
    case illegalRequest = 0x5
    case unitAttention = 0x6
    case dataProtect = 0x7
    case blankCheck = 0x8
    case vendorSpecific = 0x9
    case copyAborted = 0xA
    case abortedCommand = 0xB
    /// Formerly EQUAL; reserved since SPC-3.
    case reserved = 0xC
    case volumeOverflow = 0xD
    case miscompare = 0xE
    case completed = 0xF

    /// The key for the low nibble of `byte`; total because all sixteen values are defined.
    init(nibble byte: UInt8) {
        self = SenseKey(rawValue: byte & 0x0F) ?? .reserved
    }

    /// The T10 name, e.g. "NOT READY".
    public var name: String {
        switch self {
        case .noSense: return "NO SENSE"
        case .recoveredError: return "RECOVERED ERROR"
        case .notReady: return "NOT READY"
        case .mediumError: return "MEDIUM ERROR"
        case .hardwareError: return "HARDWARE ERROR"
        case .illegalRequest: return "ILLEGAL REQUEST"
        case .unitAttention: return "UNIT ATTENTION"
        case .dataProtect: return "DATA PROTECT"
        case .blankCheck: return "BLANK CHECK"
        case .vendorSpecific: return "VENDOR SPECIFIC"
        case .copyAborted: return "COPY ABORTED"
        case .abortedCommand: return "ABORTED COMMAND"
        case .reserved: return "RESERVED (0x0C)"
        case .volumeOverflow: return "VOLUME OVERFLOW"
        case .miscompare: return "MISCOMPARE"
        case .completed: return "COMPLETED"
        }
    }

    public var description: String { name }
}
