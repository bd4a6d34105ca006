#if canImport(Glibc)
import Glibc
private let systemClose = Glibc.close
private let systemSend = Glibc.send
#elseif canImport(Darwin)
import Darwin
private let systemClose = Darwin.close
private let systemSend = Darwin.send
#endif

/// A blocking TCP client speaking just enough HTTP/1.1 to check the endpoint byte for byte,
/// independent of the NIO code under test.
struct RawHTTPClient {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    struct Response {
        var statusLine: String
        /// Header names lowercased.
        var headers: [String: String]
        var body: String
    }

    let fd: Int32
    private var pending: [UInt8] = []

    /// Connects to an IPv4 `host:port` with a 5 s receive timeout so a bug cannot hang the test.
    init(host: String = "127.0.0.1", port: Int) throws {
        #if canImport(Glibc)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { throw Failure(description: "socket: errno \(errno)") }
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else {
            _ = systemClose(fd)
            throw Failure(description: "bad address \(host)")
        }
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard rc == 0 else {
            let code = errno
            _ = systemClose(fd)
            throw Failure(description: "connect: errno \(code)")
        }
        self.fd = fd
    }

    func send(_ text: String) throws {
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let sent = bytes.withUnsafeBytes { systemSend(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard sent > 0 else { throw Failure(description: "send: errno \(errno)") }
            bytes = bytes.dropFirst(sent)
        }
    }

    /// Reads until the peer closes; throws on timeout.
    mutating func readToEOF() throws -> String {
        while try fill() {}
        defer { pending.removeAll() }
        return String(decoding: pending, as: UTF8.self)
    }

    /// True once the peer has closed (after any bytes it still had to send).
    mutating func peerClosed() throws -> Bool {
        while try fill() {}
        return true
    }

    /// Reads one response using Content-Length, leaving later bytes buffered. A response to
    /// HEAD carries Content-Length but no body: pass `hasBody: false`.
    mutating func readResponse(hasBody: Bool = true) throws -> Response {
        let separator: [UInt8] = Array("\r\n\r\n".utf8)
        var headerEnd: Int?
        while headerEnd == nil {
            headerEnd = find(separator, in: pending)
            if headerEnd == nil, !(try fill()) { throw Failure(description: "closed before headers") }
        }
        let end = headerEnd!
        let headText = String(decoding: pending[..<end], as: UTF8.self)
        var lines = headText.components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst()
        var headers: [String: String] = [:]
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        guard let length = headers["content-length"].flatMap(Int.init) else {
            throw Failure(description: "no Content-Length in \(headText)")
        }
        let bodyStart = end + separator.count
        guard hasBody else {
            pending.removeFirst(bodyStart)
            return Response(statusLine: statusLine, headers: headers, body: "")
        }
        while pending.count < bodyStart + length {
            if !(try fill()) { throw Failure(description: "closed inside body") }
        }
        let body = String(decoding: pending[bodyStart..<(bodyStart + length)], as: UTF8.self)
        pending.removeFirst(bodyStart + length)
        return Response(statusLine: statusLine, headers: headers, body: body)
    }

    func close() {
        _ = systemClose(fd)
    }

    /// Appends what recv returns; false at EOF.
    private mutating func fill() throws -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65_536)
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n < 0 { throw Failure(description: "recv: errno \(errno) (timeout?)") }
        if n == 0 { return false }
        pending.append(contentsOf: chunk[..<n])
        return true
    }

    private func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        for start in 0...(haystack.count - needle.count) where haystack[start..<(start + needle.count)].elementsEqual(needle) {
            return start
        }
        return nil
    }
}
