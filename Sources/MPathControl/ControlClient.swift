#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `mpathctl`'s end of the control socket: one blocking request/response exchange per call over
/// a fresh connection, with a deadline covering connect, send and receive.
public struct ControlClient: Sendable {
    /// The daemon's socket, normally `ControlWire.socketPath(runDir:)`.
    public let socketPath: String

    public init(socketPath: String) {
        self.socketPath = socketPath
    }

    /// Sends `request` and waits up to `timeout` seconds for the answer.
    /// Throws `ControlError.daemonNotRunning` when nobody listens on the socket, `.timedOut`,
    /// `.protocolError` for an answer that is not one `ControlResponse` line, `.system` otherwise.
    public func send(_ request: ControlRequest, timeout: Double = 30) throws -> ControlResponse {
        let deadline = Deadline(seconds: timeout)
        let line = try ControlWire.encodeLine(request)
        let fd = try openConnection(deadline: deadline)
        defer { close(fd) }
        try sendAll(line, to: fd, deadline: deadline)
        let answer = try readLine(from: fd, deadline: deadline)
        return try ControlWire.decode(ControlResponse.self, line: answer)
    }

    private func openConnection(deadline: Deadline) throws -> Int32 {
        let fd = try SocketFile.makeSocket(path: socketPath, nonBlocking: true)
        var connected = false
        defer { if !connected { close(fd) } }
        while true {
            let code = try SocketFile.withAddress(socketPath, operation: "connect to") { address, length in
                systemConnect(fd, address, length) == 0 ? 0 : errno
            }
            switch code {
            case 0:
                connected = true
                return fd
            case EINTR:
                continue
            case EAGAIN:
                // The daemon's accept backlog is full: it is alive, so wait a little and retry.
                if deadline.expired { throw ControlError.timedOut }
                usleep(10_000)
            case ENOENT, ECONNREFUSED:
                throw ControlError.daemonNotRunning(socketPath)
            default:
                throw ControlError.system(operation: "connect to", path: socketPath, errno: code)
            }
        }
    }

    private func sendAll(_ bytes: [UInt8], to fd: Int32, deadline: Deadline) throws {
        var offset = 0
        while offset < bytes.count {
            try wait(fd, for: Int16(POLLOUT), deadline: deadline)
            let sent = bytes.withUnsafeBytes { raw in
                systemSend(fd, raw.baseAddress! + offset, raw.count - offset)
            }
            if sent >= 0 {
                offset += sent
                continue
            }
            switch errno {
            case EINTR, EAGAIN:
                continue
            case EPIPE, ECONNRESET:
                // The daemon may have refused us and closed; its answer is still readable.
                return
            case let code:
                throw ControlError.system(operation: "send to", path: socketPath, errno: code)
            }
        }
    }

    private func readLine(from fd: Int32, deadline: Deadline) throws -> [UInt8] {
        var line: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            try wait(fd, for: Int16(POLLIN), deadline: deadline)
            let count = chunk.withUnsafeMutableBytes { raw in
                recv(fd, raw.baseAddress!, raw.count, Int32(MSG_DONTWAIT))
            }
            if count < 0 {
                switch errno {
                case EINTR, EAGAIN: continue
                case let code: throw ControlError.system(operation: "receive from", path: socketPath, errno: code)
                }
            }
            if count == 0 {
                throw ControlError.protocolError(
                    line.isEmpty ? "mpathd closed the connection without answering"
                        : "mpathd closed the connection in the middle of its answer")
            }
            let received = chunk[0..<count]
            if let newline = received.firstIndex(of: UInt8(ascii: "\n")) {
                line.append(contentsOf: received[..<newline])
                guard line.count + 1 <= ControlWire.maximumLineBytes else { throw Self.tooLong }
                return line
            }
            line.append(contentsOf: received)
            guard line.count < ControlWire.maximumLineBytes else { throw Self.tooLong }
        }
    }

    private static let tooLong = ControlError.protocolError("answer longer than \(ControlWire.maximumLineBytes) bytes")

    /// Blocks until `fd` is ready for `events` or the deadline passes.
    private func wait(_ fd: Int32, for events: Int16, deadline: Deadline) throws {
        while true {
            var entry = pollfd(fd: fd, events: events, revents: 0)
            let ready = poll(&entry, 1, deadline.remainingMilliseconds)
            if ready > 0 { return }
            if ready == 0 { throw ControlError.timedOut }
            if errno != EINTR {
                throw ControlError.system(operation: "poll", path: socketPath, errno: errno)
            }
        }
    }
}

// File-scope wrappers: inside ControlClient the names `connect` and `send` would resolve to
// its own methods.
private func systemConnect(_ fd: Int32, _ address: UnsafePointer<sockaddr>, _ length: socklen_t) -> Int32 {
    connect(fd, address, length)
}

/// send(2) that neither blocks nor raises SIGPIPE.
private func systemSend(_ fd: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int {
    send(fd, bytes, count, Int32(MSG_NOSIGNAL) | Int32(MSG_DONTWAIT))
}

/// A point in monotonic time after which the exchange gives up.
struct Deadline {
    private let end: ContinuousClock.Instant

    /// `seconds` from now; NaN and negatives mean "now", infinity means a year.
    init(seconds: Double) {
        let bounded = seconds.isNaN ? 0 : min(max(seconds, 0), 365 * 86_400)
        end = ContinuousClock.now.advanced(by: .milliseconds(Int64((bounded * 1000).rounded(.up))))
    }

    var expired: Bool { ContinuousClock.now >= end }

    /// What is left, for poll(2): at least 0, at most Int32.max.
    var remainingMilliseconds: Int32 {
        let left = ContinuousClock.now.duration(to: end)
        if left <= .zero { return 0 }
        let (seconds, attoseconds) = left.components
        let milliseconds = seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
        return Int32(clamping: milliseconds)
    }
}
