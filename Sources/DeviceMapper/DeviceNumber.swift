import Foundation

/// A Linux device number (`dev_t`) split into major and minor, as `major:minor` appears in
/// device-mapper tables.
public struct DeviceNumber: Equatable, Hashable, Sendable, CustomStringConvertible {
    public var major: UInt32
    public var minor: UInt32

    public init(major: UInt32, minor: UInt32) {
        self.major = major
        self.minor = minor
    }

    /// Splits a `dev_t` with glibc's encoding (`gnu_dev_major`/`gnu_dev_minor`): the minor's low
    /// 8 bits sit in bits 0-7 and its high bits from bit 20; the major's low 12 bits in bits
    /// 8-19 and its high bits from bit 32.
    public init(rawValue: UInt64) {
        major = UInt32(truncatingIfNeeded: ((rawValue >> 8) & 0xfff) | ((rawValue >> 32) & 0xffff_f000))
        minor = UInt32(truncatingIfNeeded: (rawValue & 0xff) | ((rawValue >> 12) & 0xffff_ff00))
    }

    /// The `dev_t` for this number (glibc's `gnu_dev_makedev`).
    public var rawValue: UInt64 {
        let major = UInt64(self.major), minor = UInt64(self.minor)
        return (minor & 0xff) | ((major & 0xfff) << 8) | ((minor & ~0xff) << 12) | ((major & ~0xfff) << 32)
    }

    /// "major:minor", e.g. "7:3".
    public var description: String { "\(major):\(minor)" }
}
