/// A target portal: address, TCP port and target portal group tag, written like iscsiadm
/// (`10.0.0.1:3260,1`, `[fd00::1]:3260,1`).
public struct Portal: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// IP literal (canonical form, IPv6 without brackets) or DNS name.
    public var host: String
    /// TCP port, 3260 by default.
    public var port: Int
    /// Target portal group tag; nil when not known (matches any tag).
    public var tpgt: Int?

    /// The iSCSI well-known port.
    public static let defaultPort = 3260

    public init(host: String, port: Int = Portal.defaultPort, tpgt: Int? = 1) {
        self.host = IPAddress.canonical(host) ?? host
        self.port = port
        self.tpgt = tpgt
    }

    /// Parses `host`, `host:port`, `host:port,tpgt`, `[v6]`, `[v6]:port,tpgt` or a bare IPv6
    /// literal. The tag is nil when not written, so lookups ignore it.
    public init(parsing text: String) throws {
        let input = text.trimmed
        func fail(_ reason: String) -> ConfigError {
            ConfigError(message: "invalid portal '\(ISCSIName.printable(text))': \(reason)")
        }
        if input.isEmpty { throw fail("empty") }

        var addressPart = Substring(input)
        var tpgt: Int?
        if let comma = input.lastIndex(of: ",") {
            let tagText = input[input.index(after: comma)...]
            guard let tag = Int(tagText), (0...65535).contains(tag) else {
                throw fail("target portal group tag must be a number 0-65535")
            }
            tpgt = tag
            addressPart = input[..<comma]
        }

        var host: Substring
        var portText: Substring?
        if addressPart.hasPrefix("[") {
            guard let close = addressPart.firstIndex(of: "]") else { throw fail("missing ']' after IPv6 address") }
            host = addressPart[addressPart.index(after: addressPart.startIndex)..<close]
            let rest = addressPart[addressPart.index(after: close)...]
            if !rest.isEmpty {
                guard rest.hasPrefix(":") else { throw fail("expected ':port' after ']'") }
                portText = rest.dropFirst()
            }
            guard let parsed = IPAddress.parse(String(host)), parsed.family == .v6 else {
                throw fail("'\(host)' in brackets is not an IPv6 address")
            }
        } else {
            let colons = addressPart.filter { $0 == ":" }.count
            if colons > 1 {
                // A bare IPv6 literal cannot carry a port; brackets are needed for that.
                guard IPAddress.parse(String(addressPart))?.family == .v6 else {
                    throw fail("not an IPv6 address (write IPv6 with a port as [address]:port)")
                }
                host = addressPart
            } else if colons == 1, let colon = addressPart.firstIndex(of: ":") {
                host = addressPart[..<colon]
                portText = addressPart[addressPart.index(after: colon)...]
            } else {
                host = addressPart
            }
            if host.isEmpty { throw fail("missing address") }
            if !IPAddress.isLiteral(String(host)) && !isValidHostName(String(host)) {
                throw fail("'\(ISCSIName.printable(String(host)))' is neither an IP address nor a host name")
            }
        }

        var port = Portal.defaultPort
        if let portText {
            guard let value = Int(portText), (1...65535).contains(value) else {
                throw fail("port must be a number 1-65535")
            }
            port = value
        }
        self.init(host: String(host), port: port, tpgt: tpgt)
    }

    /// True for IPv6 literals, which need brackets in `host:port` text.
    public var isIPv6: Bool { IPAddress.parse(host)?.family == .v6 }

    /// `host:port` with IPv6 in brackets, without the tag.
    public var address: String {
        isIPv6 ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    /// iscsiadm form: `host:port,tpgt` (tag left out when unknown).
    public var description: String {
        if let tpgt { return "\(address),\(tpgt)" }
        return address
    }

    /// True when `other` names the same portal; a nil tag on either side matches any tag.
    public func matches(_ other: Portal) -> Bool {
        guard host == other.host, port == other.port else { return false }
        guard let mine = tpgt, let theirs = other.tpgt else { return true }
        return mine == theirs
    }

    /// Orders IPv4 before IPv6 before names, addresses numerically, then port, then tag.
    public static func < (lhs: Portal, rhs: Portal) -> Bool {
        let left = lhs.sortKey, right = rhs.sortKey
        if left.rank != right.rank { return left.rank < right.rank }
        if left.bytes != right.bytes { return left.bytes.lexicographicallyPrecedes(right.bytes) }
        if lhs.host != rhs.host { return lhs.host < rhs.host }
        if lhs.port != rhs.port { return lhs.port < rhs.port }
        return (lhs.tpgt ?? -1) < (rhs.tpgt ?? -1)
    }

    private var sortKey: (rank: Int, bytes: [UInt8]) {
        guard let parsed = IPAddress.parse(host) else { return (2, []) }
        return (parsed.family == .v4 ? 0 : 1, parsed.bytes)
    }
}
