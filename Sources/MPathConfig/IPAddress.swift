#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// IP literal checks and canonical forms, via inet_pton/inet_ntop so they agree with the
/// socket layer that will later use the same strings.
enum IPAddress {
    enum Family { case v4, v6 }

    /// The family and raw bytes of an IP literal (IPv6 may carry a `%zone` suffix), or nil.
    static func parse(_ text: String) -> (family: Family, bytes: [UInt8], zone: String?)? {
        if text.isEmpty || text.utf8.count > 100 { return nil }
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            return (.v4, withUnsafeBytes(of: &v4) { Array($0) }, nil)
        }
        var address = text
        var zone: String?
        if let percent = text.firstIndex(of: "%") {
            address = String(text[..<percent])
            zone = String(text[text.index(after: percent)...])
            guard let zone, isValidZone(zone) else { return nil }
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, address, &v6) == 1 {
            return (.v6, withUnsafeBytes(of: &v6) { Array($0) }, zone)
        }
        return nil
    }

    static func isLiteral(_ text: String) -> Bool { parse(text) != nil }

    /// The canonical spelling (e.g. "0:0::1" → "::1"), or nil when `text` is not a literal.
    static func canonical(_ text: String) -> String? {
        guard let parsed = parse(text) else { return nil }
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        let ok: Bool = parsed.bytes.withUnsafeBytes { raw in
            switch parsed.family {
            case .v4: return inet_ntop(AF_INET, raw.baseAddress, &buffer, socklen_t(buffer.count)) != nil
            case .v6: return inet_ntop(AF_INET6, raw.baseAddress, &buffer, socklen_t(buffer.count)) != nil
            }
        }
        guard ok else { return nil }
        let base = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        if let zone = parsed.zone { return base + "%" + zone }
        return base
    }

    /// Interface names as the kernel allows them (IFNAMSIZ 16 including NUL).
    static func isValidZone(_ zone: String) -> Bool {
        !zone.isEmpty && zone.utf8.count < 16
            && zone.unicodeScalars.allSatisfy { $0.value > 0x20 && $0.value < 0x7f && $0 != "/" && $0 != "%" }
    }
}

/// DNS host names: letters, digits, '-', '_' and dots, labels of 1...63 characters.
func isValidHostName(_ text: String) -> Bool {
    if text.isEmpty || text.utf8.count > 253 { return false }
    for label in text.split(separator: ".", omittingEmptySubsequences: false) {
        if label.isEmpty || label.utf8.count > 63 { return false }
        let ok = label.unicodeScalars.allSatisfy {
            ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "-"
                || $0 == "_"
        }
        if !ok || label.hasPrefix("-") { return false }
    }
    return true
}
