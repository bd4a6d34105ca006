#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Why talking over the control socket failed. Descriptions are one line, for `mpathctl` to print.
public enum ControlError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A live mpathd already answers on this socket path.
    case alreadyRunning(String)
    /// No control socket at this path, or nobody listening on it.
    case daemonNotRunning(String)
    /// mpathd did not answer before the deadline.
    case timedOut
    /// The other side sent something that is not a valid control message.
    case protocolError(String)
    /// Something that is not a socket sits where the control socket belongs; it is left alone.
    case notASocket(String)
    /// A system call on the control socket failed: what was attempted, on which path, errno.
    case system(operation: String, path: String, errno: Int32)

    public var description: String {
        switch self {
        case .alreadyRunning(let socketPath):
            return "another mpathd is already running on \(Self.directory(of: socketPath)) "
                + "(socket \(socketPath) answers)"
        case .daemonNotRunning(let socketPath):
            return "mpathd is not running (no control socket at \(socketPath))"
        case .timedOut:
            return "mpathd did not answer in time"
        case .protocolError(let detail):
            return "control protocol error: \(detail)"
        case .notASocket(let path):
            return "\(path) exists and is not a socket (remove it, or use another --run-dir)"
        case .system(let operation, let path, let code):
            return "\(operation) \(path): \(String(cString: strerror(code)))"
        }
    }

    /// The directory part of a path ("." when there is none).
    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        if slash == path.startIndex { return "/" }
        return String(path[..<slash])
    }
}
