/// The SENSE KEY SPECIFIC field (SPC-4 4.5.2.4), present when its SKSV bit is set.
/// Its meaning depends on the sense key.
public enum SenseKeySpecific: Equatable, Sendable {
    /// ILLEGAL REQUEST: which byte (and optionally bit) of the CDB (`inCDB`) or of the parameter
    /// list was wrong.
    case fieldPointer(inCDB: Bool, bitPointer: UInt8?, byteOffset: UInt16)
    /// NOT READY or NO SENSE: progress of a long operation as a fraction of 65536.
    case progress(UInt16)
    /// RECOVERED ERROR, MEDIUM ERROR, HARDWARE ERROR: retries the device performed.
    case actualRetryCount(UInt16)
    /// Any other key: the three bytes as sent, SKSV bit included.
    case raw([UInt8])

    /// Decodes the three SKS bytes for `key`; nil when the SKSV bit is clear or bytes are missing.
    init?(bytes: [UInt8], key: SenseKey) {
        guard bytes.count == 3, bytes[0] & 0x80 != 0 else { return nil }
        let value = UInt16(bytes[1]) << 8 | UInt16(bytes[2])
        switch key {
        case .illegalRequest:
            let bitPointer: UInt8? = bytes[0] & 0x08 != 0 ? bytes[0] & 0x07 : nil
            self = .fieldPointer(inCDB: bytes[0] & 0x40 != 0, bitPointer: bitPointer, byteOffset: value)
        case .notReady, .noSense:
            self = .progress(value)
        case .recoveredError, .mediumError, .hardwareError:
            self = .actualRetryCount(value)
        default:
            self = .raw(bytes)
        }
    }
}
