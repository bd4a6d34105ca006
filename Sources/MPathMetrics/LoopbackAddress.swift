import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Why the metrics endpoint did not start.
public enum MetricsEndpointError: Error, Equatable, CustomStringConvertible {
    /// The host is not a numeric loopback address (127.0.0.0/8 or ::1).
    case notLoopback(host: String)
    /// The port is outside 0…65535.
    case invalidPort(Int)
    /// The address was valid but the socket could not be bound (port in use, …).
    case bindFailed(address: String, reason: String)

    public var description: String {
        switch self {
        case .notLoopback(let host):
            return "metrics endpoint must listen on loopback, not \(host) (use 127.0.0.1 or ::1)"
        case .invalidPort(let port):
            return "metrics port must be 0…65535, not \(port)"
        case .bindFailed(let address, let reason):
            return "metrics endpoint cannot listen on \(address): \(reason)"
        }
    }
}

/// The loopback-only policy: metrics name every path, map and portal of the SAN, and the
/// endpoint has no authentication, so it is reachable from this host only. Exposing it
/// further is a job for a reverse proxy or a node exporter the site controls.
enum LoopbackAddress {
    /// The socket address for `host:port`, or an error if `host` is not a numeric loopback
    /// address. Names are refused too: "localhost" may resolve to anything /etc/hosts says.
    static func socketAddress(host: String, port: Int) throws -> SocketAddress {
        guard (0...65_535).contains(port) else { throw MetricsEndpointError.invalidPort(port) }
        var literal = Substring(host)
        if literal.hasPrefix("["), literal.hasSuffix("]"), literal.count >= 2 {
            literal = literal.dropFirst().dropLast()
        }
        guard let address = try? SocketAddress(ipAddress: String(literal), port: port), isLoopback(address) else {
            throw MetricsEndpointError.notLoopback(host: host)
        }
        return address
    }

    /// 127.0.0.0/8 or ::1 exactly (an IPv4-mapped ::ffff:127.x is refused: it only works on
    /// dual-stack sockets and there is no reason to spell loopback that way).
    static func isLoopback(_ address: SocketAddress) -> Bool {
        switch address {
        case .v4(let v4):
            var sin = v4.address
            return withUnsafeBytes(of: &sin.sin_addr) { $0.first == 127 }
        case .v6(let v6):
            var sin6 = v6.address
            return withUnsafeBytes(of: &sin6.sin6_addr) { bytes in
                bytes.count == 16 && bytes.prefix(15).allSatisfy { $0 == 0 } && bytes.last == 1
            }
        default:
            return false
        }
    }
}
