#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import NIOCore

/// A block device that `FUSEExport` serves as a file. Implementations are
/// asynchronous: each call returns at once and invokes its completion exactly
/// once, from any thread, when the IO is done. Calls arrive on FUSE receive
/// threads, so blocking in them stalls all IO of the mount.
///
/// `FUSEExport` only issues requests whose offset and length are multiples of
/// `blockSize` and that lie inside `sizeBytes`; unaligned IO from the kernel
/// is turned into aligned requests (read-modify-write) before it gets here.
public protocol BlockBackend: AnyObject, Sendable {
    /// Logical block size in bytes (512 or 4096 for SCSI LUNs).
    var blockSize: Int { get }
    /// Current capacity in bytes; may grow (call `FUSEExport.sizeChanged`).
    var sizeBytes: UInt64 { get }
    /// True when a completed `discard` makes the range read back as zeros
    /// (e.g. UNMAP on an LBPRZ=1 LUN, or WRITE SAME with UNMAP). When false,
    /// `FUSEExport` follows a hole punch with explicit zero writes, because
    /// the loop driver turns both discard and write-zeroes into hole punches.
    var discardZeroesData: Bool { get }
    /// Reads `length` bytes at `offset`; the buffer must hold exactly `length` bytes.
    func read(offset: UInt64, length: Int, completion: @escaping @Sendable (Result<ByteBuffer, BlockIOError>) -> Void)
    /// Writes all readable bytes of `data` at `offset`.
    func write(offset: UInt64, data: ByteBuffer, completion: @escaping @Sendable (Result<Void, BlockIOError>) -> Void)
    /// Makes completed writes durable (SYNCHRONIZE CACHE upstream).
    func flush(completion: @escaping @Sendable (Result<Void, BlockIOError>) -> Void)
    /// Deallocates a range; fails with `BlockIOError.unsupported` when the device cannot.
    func discard(offset: UInt64, length: UInt64, completion: @escaping @Sendable (Result<Void, BlockIOError>) -> Void)
}

extension BlockBackend {
    /// Conservative default: discarded blocks may read back as anything.
    public var discardZeroesData: Bool { false }
}

/// An IO failure, carried back to the kernel as `errno`.
public struct BlockIOError: Error, Equatable, CustomStringConvertible {
    /// The errno the kernel sees (EIO, ENOSPC, EOPNOTSUPP, ...).
    public var errno: Int32
    /// What went wrong, for logs.
    public var message: String

    /// Creates an error with an explicit errno.
    public init(errno: Int32, message: String) {
        self.errno = errno
        self.message = message
    }

    /// A generic medium or transport failure (EIO).
    public static func io(_ message: String) -> BlockIOError {
        BlockIOError(errno: EIO, message: message)
    }

    /// The device does not support the operation (EOPNOTSUPP).
    public static func unsupported(_ message: String) -> BlockIOError {
        BlockIOError(errno: EOPNOTSUPP, message: message)
    }

    /// Out of space or past the end of the device (ENOSPC).
    public static func noSpace(_ message: String) -> BlockIOError {
        BlockIOError(errno: ENOSPC, message: message)
    }

    public var description: String {
        "\(message) (\(errnoName(errno)))"
    }
}
