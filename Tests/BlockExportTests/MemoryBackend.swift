import Dispatch
import Foundation
import NIOCore

@testable import BlockExport

/// Test double of `BlockBackend`: a RAM disk that completes every request on
/// a background queue after `delay`, so tests observe real asynchrony.
/// It records what the export layer asked for (alignment, concurrency,
/// flushes, discards) so tests can check the layer's behaviour.
final class MemoryBackend: BlockBackend, @unchecked Sendable {
    struct Stats {
        var reads = 0
        var writes = 0
        var flushes = 0
        var discards: [(offset: UInt64, length: UInt64)] = []
        var misaligned: [String] = []
        var inFlight = 0
        var maxInFlight = 0
        var largestRequest = 0
    }

    let blockSize: Int
    private let lock = NSLock()
    private var storage: [UInt8]
    private var stats = Stats()
    private let queue = DispatchQueue(label: "memory-backend", qos: .userInitiated, attributes: .concurrent)
    private let delayNanos: UInt64
    private let zeroesOnDiscard: Bool
    private let discardSupported: Bool
    /// When set, writes fail with this errno.
    var failWritesWith: Int32? {
        get { lock.withLock { _failWritesWith } }
        set { lock.withLock { _failWritesWith = newValue } }
    }
    private var _failWritesWith: Int32?

    init(sizeBytes: Int, blockSize: Int, delay: Double = 0, discardZeroesData: Bool = true, discardSupported: Bool = true) {
        self.blockSize = blockSize
        self.storage = [UInt8](repeating: 0, count: sizeBytes)
        self.delayNanos = UInt64(delay * 1e9)
        self.zeroesOnDiscard = discardZeroesData
        self.discardSupported = discardSupported
    }

    var sizeBytes: UInt64 { lock.withLock { UInt64(storage.count) } }

    var discardZeroesData: Bool { zeroesOnDiscard }

    /// Grows the RAM disk (new space reads as zeros).
    func grow(to newSize: Int) {
        lock.withLock {
            if newSize > storage.count {
                storage.append(contentsOf: [UInt8](repeating: 0, count: newSize - storage.count))
            }
        }
    }

    /// A copy of the current contents.
    func contents(offset: Int, length: Int) -> [UInt8] {
        lock.withLock { Array(storage[offset..<(offset + length)]) }
    }

    /// Overwrites contents directly (bypassing the export), for test setup.
    func fill(offset: Int, bytes: [UInt8]) {
        lock.withLock { storage.replaceSubrange(offset..<(offset + bytes.count), with: bytes) }
    }

    func snapshot() -> Stats { lock.withLock { stats } }

    func resetStats() { lock.withLock { stats = Stats() } }

    private func check(_ what: String, offset: UInt64, length: Int) -> BlockIOError? {
        lock.withLock {
            if offset % UInt64(blockSize) != 0 || length % blockSize != 0 {
                stats.misaligned.append("\(what) offset=\(offset) length=\(length)")
                return BlockIOError(errno: EINVAL, message: "misaligned \(what)")
            }
            if offset + UInt64(length) > UInt64(storage.count) {
                stats.misaligned.append("\(what) past end offset=\(offset) length=\(length)")
                return BlockIOError(errno: EINVAL, message: "\(what) past the end")
            }
            stats.inFlight += 1
            stats.maxInFlight = max(stats.maxInFlight, stats.inFlight)
            stats.largestRequest = max(stats.largestRequest, length)
            return nil
        }
    }

    private func later(_ work: @escaping @Sendable () -> Void) {
        if delayNanos == 0 {
            queue.async(execute: work)
        } else {
            queue.asyncAfter(deadline: .now() + .nanoseconds(Int(delayNanos)), execute: work)
        }
    }

    func read(offset: UInt64, length: Int, completion: @escaping @Sendable (Result<ByteBuffer, BlockIOError>) -> Void) {
        if let error = check("read", offset: offset, length: length) {
            return later { completion(.failure(error)) }
        }
        later {
            let buffer = self.lock.withLock { () -> ByteBuffer in
                self.stats.reads += 1
                self.stats.inFlight -= 1
                return self.storage.withUnsafeBytes { raw in
                    ByteBuffer(bytes: raw[Int(offset)..<(Int(offset) + length)])
                }
            }
            completion(.success(buffer))
        }
    }

    func write(offset: UInt64, data: ByteBuffer, completion: @escaping @Sendable (Result<Void, BlockIOError>) -> Void) {
        if let error = check("write", offset: offset, length: data.readableBytes) {
            return later { completion(.failure(error)) }
        }
        later {
            let failure = self.lock.withLock { () -> Int32? in
                self.stats.writes += 1
                self.stats.inFlight -= 1
                if let code = self._failWritesWith {
                    return code
                }
                data.withUnsafeReadableBytes { bytes in
                    self.storage.withUnsafeMutableBytes { target in
                        target.baseAddress!.advanced(by: Int(offset)).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
                    }
                }
                return nil
            }
            if let failure {
                completion(.failure(BlockIOError(errno: failure, message: "injected write failure")))
            } else {
                completion(.success(()))
            }
        }
    }

    func flush(completion: @escaping @Sendable (Result<Void, BlockIOError>) -> Void) {
        later {
            self.lock.withLock { self.stats.flushes += 1 }
            completion(.success(()))
        }
    }

    func discard(offset: UInt64, length: UInt64, completion: @escaping @Sendable (Result<Void, BlockIOError>) -> Void) {
        guard discardSupported else {
            return later { completion(.failure(.unsupported("discard not supported"))) }
        }
        if let error = check("discard", offset: offset, length: Int(length)) {
            return later { completion(.failure(error)) }
        }
        later {
            self.lock.withLock {
                self.stats.inFlight -= 1
                self.stats.discards.append((offset, length))
                // A thin LUN without LBPRZ may return anything: use a marker
                // pattern so tests catch a missing zero fill.
                let fillByte: UInt8 = self.zeroesOnDiscard ? 0 : 0xA5
                for index in Int(offset)..<Int(offset + length) {
                    self.storage[index] = fillByte
                }
            }
            completion(.success(()))
        }
    }
}
