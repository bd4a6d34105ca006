import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Loopback-only address checks: integration tests never send traffic outside 127.0.0.0/8.
enum LoopbackAddress {
    /// Throws unless `address` is a dotted-quad IPv4 address in 127.0.0.0/8.
    static func validate(_ address: String) throws {
        let parts = address.split(separator: ".", omittingEmptySubsequences: false)
        let octets = parts.compactMap { part -> Int? in
            guard (1...3).contains(part.count), part.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
            return Int(part)
        }
        guard parts.count == 4, octets.count == 4, octets.allSatisfy({ (0...255).contains($0) }),
              octets[0] == 127 else {
            throw TestSupportError("'\(address)' is not a loopback IPv4 address (127.0.0.0/8); tests touch no other address")
        }
    }
}

/// TCP reachability of a loopback portal ("127.0.0.2:3260").
enum LoopbackPortal {
    /// How a connection attempt ended.
    enum Outcome: Equatable, CustomStringConvertible {
        case connected
        /// The peer answered with a reset (nothing listening, or an iptables tcp-reset rule).
        case refused
        /// No answer within the timeout (for example an iptables DROP rule).
        case timedOut
        case failed(errno: Int32)

        var description: String {
            switch self {
            case .connected: return "connected"
            case .refused: return "refused"
            case .timedOut: return "timed out"
            case .failed(let code): return "failed (\(String(cString: strerror(code))))"
            }
        }
    }

    /// Splits "ADDRESS:PORT", requiring a loopback address and a port in 1...65535.
    static func parse(_ portal: String) throws -> (address: String, port: UInt16) {
        guard let colon = portal.lastIndex(of: ":") else {
            throw TestSupportError("portal '\(portal)' is not ADDRESS:PORT")
        }
        let address = String(portal[..<colon])
        let portText = portal[portal.index(after: colon)...]
        guard let port = UInt16(portText), port > 0 else {
            throw TestSupportError("portal '\(portal)' has no valid port (1-65535)")
        }
        try LoopbackAddress.validate(address)
        return (address, port)
    }

    /// Tries one TCP connect to `portal`, giving up after `timeout` seconds; closes the socket.
    static func connect(to portal: String, timeout: Double) throws -> Outcome {
        let (address, port) = try parse(portal)
        let type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        let fd = socket(AF_INET, type, 0)
        guard fd >= 0 else { return .failed(errno: errno) }
        defer { close(fd) }

        var sin = sockaddr_in()
        sin.sin_family = sa_family_t(AF_INET)
        sin.sin_port = port.bigEndian
        guard inet_pton(AF_INET, address, &sin.sin_addr) == 1 else {
            throw TestSupportError("cannot parse address '\(address)'")
        }
        let started = withUnsafePointer(to: &sin) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        if started == 0 { return .connected }
        guard errno == EINPROGRESS else { return outcome(for: errno) }

        var pfd = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            let remainingMs = Int32(max(0, deadline.timeIntervalSinceNow * 1000).rounded(.up))
            let ready = poll(&pfd, 1, remainingMs)
            if ready > 0 { break }
            if ready == 0 { return .timedOut }
            if errno != EINTR { return .failed(errno: errno) }
        }
        var soError: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_ERROR, &soError, &length) == 0 else { return .failed(errno: errno) }
        return soError == 0 ? .connected : outcome(for: soError)
    }

    /// True when a TCP connect to `portal` succeeds within `timeout` seconds.
    static func canConnect(_ portal: String, timeout: Double = 1) throws -> Bool {
        try connect(to: portal, timeout: timeout) == .connected
    }

    private static func outcome(for code: Int32) -> Outcome {
        switch code {
        case ECONNREFUSED, ECONNRESET: return .refused
        case ETIMEDOUT: return .timedOut
        default: return .failed(errno: code)
        }
    }
}
