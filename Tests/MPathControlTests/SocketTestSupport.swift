import Foundation
import MPathControl
#if canImport(Glibc)
import Glibc
#endif

/// Runs blocking socket code on its own thread, so the Swift concurrency pool (two threads on
/// a two-core machine) stays free for the server under test.
func onThread<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        let thread = Thread { continuation.resume(returning: body()) }
        thread.start()
    }
}

/// A fresh private directory under /tmp (short, so socket paths fit sun_path).
func makeTemporaryDirectory() throws -> String {
    var template = Array("/tmp/mpc-test.XXXXXX".utf8CString)
    guard let result = mkdtemp(&template) else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
    return String(cString: result)
}

func removeTree(_ path: String) {
    try? FileManager.default.removeItem(atPath: path)
}

/// sockaddr_un for a path that is known to fit.
func withUnixAddress<T>(_ path: String, _ body: (UnsafePointer<sockaddr>, socklen_t) -> T) -> T {
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    withUnsafeMutableBytes(of: &address.sun_path) { raw in
        let bytes = Array(path.utf8)
        raw.copyBytes(from: bytes)
        raw[bytes.count] = 0
    }
    return withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
    }
}

/// A plain blocking client connection for tests that need more than one line per connection,
/// partial writes or garbage.
final class RawConnection: @unchecked Sendable {
    let fd: Int32

    init?(path: String) {
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return nil }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        guard withUnixAddress(path, { connect(fd, $0, $1) }) == 0 else {
            close(fd)
            return nil
        }
    }

    deinit { close(fd) }

    /// Writes everything; stops quietly when the server has closed (EPIPE/ECONNRESET).
    @discardableResult
    func write(_ text: String) -> Bool { write(Array(text.utf8)) }

    @discardableResult
    func write(_ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)) }
            if sent < 0 {
                if errno == EINTR { continue }
                return false
            }
            offset += sent
        }
        return true
    }

    /// Lines until `count` were read or the server closed; `closed` tells whether EOF was seen.
    func readLines(upTo count: Int) -> (lines: [String], closed: Bool) {
        var lines: [String] = []
        var pending: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while lines.count < count {
            let got = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, $0.count, 0) }
            if got < 0 && errno == EINTR { continue }
            if got <= 0 { return (lines, got == 0) }
            pending.append(contentsOf: buffer[0..<got])
            while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                lines.append(String(decoding: pending[..<newline], as: UTF8.self))
                pending.removeSubrange(...newline)
            }
        }
        return (lines, false)
    }

    /// True when the server closes without sending anything more.
    func readsEOF() -> Bool {
        let result = readLines(upTo: 1)
        return result.lines.isEmpty && result.closed
    }
}

/// A socket file with nobody listening, as a crashed daemon leaves it.
func makeStaleSocket(at path: String) -> Bool {
    let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    return withUnixAddress(path) { bind(fd, $0, $1) } == 0
}

/// A fake daemon that accepts one connection, reads the request line, answers `reply` verbatim
/// (nothing when nil) and closes.
func serveOnce(at path: String, reply: String?) -> Thread? {
    let listener = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
    guard listener >= 0,
          withUnixAddress(path, { bind(listener, $0, $1) }) == 0,
          listen(listener, 4) == 0
    else { return nil }
    let thread = Thread {
        defer { close(listener) }
        let connection = accept(listener, nil, nil)
        guard connection >= 0 else { return }
        defer { close(connection) }
        var byte: UInt8 = 0
        while recv(connection, &byte, 1, 0) == 1 && byte != UInt8(ascii: "\n") {}
        if let reply { _ = reply.withCString { send(connection, $0, strlen($0), Int32(MSG_NOSIGNAL)) } }
    }
    thread.start()
    return thread
}

/// The handler double: answers from the request, records peers and how many requests ran at
/// once. `failPath("N")` waits (4 - N) × 40 ms so out-of-order handling would show; `rescan`
/// of "sleep" waits 300 ms; `resize` of "hang" waits 10 s (until cancelled).
final class RecordingHandler: ControlHandler, @unchecked Sendable {
    private let lock = NSLock()
    private var running = 0
    private var _maxRunning = 0
    private var _peers: [PeerCredentials] = []
    private var _requests: [ControlRequest] = []

    var maxRunning: Int { lock.withLock { _maxRunning } }
    var peers: [PeerCredentials] { lock.withLock { _peers } }
    var requests: [ControlRequest] { lock.withLock { _requests } }

    func handle(_ request: ControlRequest, peer: PeerCredentials) async -> ControlResponse {
        lock.withLock {
            running += 1
            _maxRunning = max(_maxRunning, running)
            _peers.append(peer)
            _requests.append(request)
        }
        defer { lock.withLock { running -= 1 } }
        switch request {
        case .ping:
            return .pong(version: "test", pid: peer.pid)
        case .failPath(let path):
            let index = Int(path) ?? 0
            try? await Task.sleep(nanoseconds: UInt64(max(0, 4 - index)) * 40_000_000)
            return .ok(message: path)
        case .rescan(map: "sleep"):
            try? await Task.sleep(nanoseconds: 300_000_000)
            return .ok(message: "rescanned")
        case .resize(map: "hang", _):
            try? await Task.sleep(nanoseconds: 10_000_000_000)
            return .ok(message: "woke")
        default:
            return .error(message: "unsupported in test", code: 1)
        }
    }
}
