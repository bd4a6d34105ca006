#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A failed setup or management operation of the block export layer
/// (mounting, loop device ioctls, device registry).
public struct BlockExportError: Error, Equatable, CustomStringConvertible {
    /// What was being done, e.g. "attach /run/mpathd/dev/mpatha to a loop device".
    public var operation: String
    /// The step that failed and why, e.g. "LOOP_CONFIGURE failed: Device or resource busy".
    public var reason: String
    /// The errno behind the failure, when there is one.
    public var errno: Int32?

    /// Creates an error from its parts.
    public init(operation: String, reason: String, errno: Int32? = nil) {
        self.operation = operation
        self.reason = reason
        self.errno = errno
    }

    /// An error for a system call that returned `-errno` or set `errno`.
    static func system(_ operation: String, _ call: String, errno code: Int32) -> BlockExportError {
        BlockExportError(operation: operation, reason: "\(call) failed: \(errnoName(code))", errno: code)
    }

    public var description: String { "\(operation): \(reason)" }
}

/// The strerror text of an errno value.
func errnoName(_ code: Int32) -> String {
    guard let text = strerror(code) else { return "errno \(code)" }
    return String(cString: text)
}
