import Foundation

/// A multipath.conf regular expression: unanchored, case-sensitive; a leading '!' inverts it
/// (multipath-tools' `devnode "!^sd[a-z]"` idiom).
public struct ConfRegex: Equatable, @unchecked Sendable, CustomStringConvertible {
    // NSRegularExpression is immutable and documented thread-safe, hence @unchecked Sendable.
    private let regex: NSRegularExpression
    /// The pattern as written, including any leading '!'.
    public let pattern: String
    /// True when the pattern started with '!'.
    public let isInverted: Bool

    /// Compiles `pattern`; an invalid expression throws a `ConfigError` without location.
    public init(_ pattern: String) throws {
        self.pattern = pattern
        isInverted = pattern.hasPrefix("!")
        let body = isInverted ? String(pattern.dropFirst()) : pattern
        do {
            regex = try NSRegularExpression(pattern: body)
        } catch {
            throw ConfigError(message: "invalid regular expression '\(ISCSIName.printable(pattern))'")
        }
    }

    /// True when the expression is found anywhere in `text` (inverted for '!' patterns).
    public func matches(_ text: String) -> Bool {
        let range = NSRange(text.startIndex..<text.endIndex, in: text)
        let found = regex.firstMatch(in: text, options: [], range: range) != nil
        return found != isInverted
    }

    public static func == (lhs: ConfRegex, rhs: ConfRegex) -> Bool { lhs.pattern == rhs.pattern }

    public var description: String { pattern }
}

/// A `device { vendor … product … }` matcher; an absent field matches anything.
public struct DeviceMatch: Equatable, Sendable {
    /// SCSI INQUIRY vendor expression.
    public var vendor: ConfRegex?
    /// SCSI INQUIRY product expression.
    public var product: ConfRegex?

    public init(vendor: ConfRegex? = nil, product: ConfRegex? = nil) {
        self.vendor = vendor
        self.product = product
    }

    /// True when both given expressions match the SCSI INQUIRY vendor and product.
    public func matches(vendor: String, product: String) -> Bool {
        (self.vendor?.matches(vendor) ?? true) && (self.product?.matches(product) ?? true)
    }
}

/// The contents of a `blacklist` or `blacklist_exceptions` section.
public struct BlacklistRules: Equatable, Sendable {
    /// `wwid` expressions.
    public var wwids: [ConfRegex] = []
    /// `devnode` expressions (device node names such as sda).
    public var devnodes: [ConfRegex] = []
    /// `device { vendor product }` entries.
    public var devices: [DeviceMatch] = []
    /// udev property name patterns.
    public var properties: [ConfRegex] = []
    /// Protocol patterns such as "scsi:iscsi".
    public var protocols: [ConfRegex] = []

    public init() {}

    /// True when the section lists nothing.
    public var isEmpty: Bool {
        wwids.isEmpty && devnodes.isEmpty && devices.isEmpty && properties.isEmpty && protocols.isEmpty
    }
}

extension MultipathConfiguration {
    /// The protocol string of every path mpath-iscsi manages.
    public static let iscsiProtocol = "scsi:iscsi"

    /// Whether a device is excluded from multipathing.
    ///
    /// Criteria are checked in multipath-tools' order (property, devnode, device, protocol,
    /// wwid); within each criterion an exception match wins over a blacklist match, but an
    /// exception for one criterion does not cancel a blacklist match of another. As in
    /// multipath-tools, when exception properties exist and `properties` is given, a device
    /// with none of them is excluded. Criteria whose input is nil are skipped.
    public func isBlacklisted(
        wwid: String, vendor: String, product: String, devnode: String? = nil, properties: [String]? = nil,
        protocol protocolName: String? = nil
    ) -> Bool {
        let deny = blacklist, allow = blacklistExceptions
        func criterion(_ denied: [ConfRegex], _ allowed: [ConfRegex], _ value: String?) -> Bool {
            guard let value else { return false }
            if allowed.contains(where: { $0.matches(value) }) { return false }
            return denied.contains(where: { $0.matches(value) })
        }
        if let properties {
            let excepted = properties.contains { name in allow.properties.contains { $0.matches(name) } }
            if !excepted {
                if !allow.properties.isEmpty { return true }
                let denied = properties.contains { name in deny.properties.contains { $0.matches(name) } }
                if denied { return true }
            }
        }
        if criterion(deny.devnodes, allow.devnodes, devnode) { return true }
        if !allow.devices.contains(where: { $0.matches(vendor: vendor, product: product) })
            && deny.devices.contains(where: { $0.matches(vendor: vendor, product: product) })
        {
            return true
        }
        if criterion(deny.protocols, allow.protocols, protocolName) { return true }
        return criterion(deny.wwids, allow.wwids, wwid)
    }
}
