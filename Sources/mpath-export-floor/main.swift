// mpath-export-floor: a benchmark instrument for tools/bench, not part of the daemon.
//
// It serves one FUSE file whose backend answers every request at once (reads return zeros,
// writes are dropped) through the same export code mpathd uses (event-loop receive, async
// replies), attaches it to a loop device with direct IO, prints the loop device, and waits
// for stdin to close. fio on that device measures what FUSE + loop cost per IO by themselves:
// the floor under the multipath device, which no iSCSI work can go below.
import BlockExport
import Foundation
import Logging
import NIOCore
import NIOPosix

/// Answers at once; only for measuring the export layer.
final class ZeroBackend: BlockBackend, @unchecked Sendable {
    let blockSize = 4096
    let sizeBytes: UInt64 = 1 << 30
    private let zeros = ByteBufferAllocator().buffer(repeating: 0, count: 1 << 20)

    func read(offset: UInt64, length: Int, completion: @escaping @Sendable (Result<ByteBuffer, BlockIOError>) -> Void) {
        completion(.success(zeros.getSlice(at: 0, length: length)!))
    }
    func write(offset: UInt64, data: ByteBuffer, completion: @escaping @Sendable (Result<Void, BlockIOError>) -> Void) {
        completion(.success(()))
    }
    func flush(completion: @escaping @Sendable (Result<Void, BlockIOError>) -> Void) { completion(.success(())) }
    func discard(offset: UInt64, length: UInt64, completion: @escaping @Sendable (Result<Void, BlockIOError>) -> Void) {
        completion(.success(()))
    }
}

guard CommandLine.arguments.count == 2 else {
    FileHandle.standardError.write(Data("usage: mpath-export-floor MOUNTPOINT  (prints the loop device; stops when stdin closes)\n".utf8))
    exit(2)
}
var logger = Logger(label: "mpath-export-floor")
logger.logLevel = .warning
let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
do {
    let export = try FUSEExport(mountpoint: CommandLine.arguments[1], logger: logger, receiveLoop: group.next())
    try export.add(name: "zero", backend: ZeroBackend())
    let loop = try LoopDevice.attach(file: export.path(of: "zero"), blockSize: 4096, directIO: true)
    print(loop.path)
    fflush(stdout)
    while readLine() != nil {}
    try loop.detach()
    export.shutdown()
} catch {
    FileHandle.standardError.write(Data("mpath-export-floor: \(error)\n".utf8))
    exit(1)
}
try? group.syncShutdownGracefully()
