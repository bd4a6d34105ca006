import BlockExport
import NIOConcurrencyHelpers
import NIOCore
import ISCSI

/// A block backend that turns byte-addressed FUSE IO into `MapIO`s within the LUN's limits and
/// hands them to `dispatch`: the multipath map (path selection, retry, queueing) and a single
/// path's own device (`path_devices yes`) share this, and differ only in `dispatch`.
protocol MapIOTarget: BlockBackend {
    /// Sends one IO (already within `transferLimitBlocks`); its completion runs exactly once.
    func dispatch(_ io: MapIO)
    /// Largest transfer, in blocks, one command may carry (VPD B0, capped).
    var transferLimitBlocks: UInt32 { get }
    /// Whether UNMAP is supported (VPD B2 LBPU) and the most blocks one UNMAP may name.
    var unmapLimit: (supported: Bool, maxBlocks: UInt64) { get }
    /// How errors name the device ("LUN 36…", "path p1").
    var unitName: String { get }
}

/// The LUN limits (VPD B0) every path of a device must respect: the smallest one wins.
enum IOLimits {
    /// Largest transfer in blocks, capped at 8 MiB.
    static func transferBlocks(blockSize: Int, _ identities: [LogicalUnit.Identity]) -> UInt32 {
        let cap = UInt32((8 << 20) / blockSize)
        let limits = identities.compactMap { $0.blockLimits?.maximumTransferLength }.filter { $0 > 0 }
        return limits.min().map { min($0, cap) } ?? cap
    }

    /// Most blocks one UNMAP may name (4 Mi blocks when the LUN states no limit).
    static func unmapBlocks(_ identities: [LogicalUnit.Identity]) -> UInt64 {
        UInt64(identities.compactMap { $0.blockLimits?.maximumUnmapLBACount }.filter { $0 > 0 }.min() ?? (1 << 22))
    }
}

extension MapIOTarget {
    func read(offset: UInt64, length: Int, completion: @escaping @Sendable (Result<ByteBuffer, BlockIOError>) -> Void) {
        let blocks = UInt64(length / blockSize)
        if blocks <= UInt64(transferLimitBlocks) {
            // The common case: one command, no splitting, no gathering.
            dispatch(MapIO(kind: .read(length: length), lba: offset / UInt64(blockSize), blocks: UInt32(blocks), completion: completion))
            return
        }
        let parts = split(offset: offset, length: length)
        if parts.count == 1 {
            dispatch(MapIO(kind: .read(length: length), lba: parts[0].lba, blocks: parts[0].blocks, completion: completion))
            return
        }
        // Larger than one command may carry: one buffer, filled part by part.
        let gather = Gather(parts: parts.count, length: length) { completion($0) }
        for (i, part) in parts.enumerated() {
            let at = parts[..<i].reduce(0) { $0 + Int($1.blocks) * blockSize }
            dispatch(MapIO(kind: .read(length: Int(part.blocks) * blockSize), lba: part.lba, blocks: part.blocks) { result in
                gather.deliver(result, at: at)
            })
        }
    }

    func write(offset: UInt64, data: ByteBuffer, completion: @escaping @Sendable (Result<Void, BlockIOError>) -> Void) {
        let blocks = UInt64(data.readableBytes / blockSize)
        if blocks <= UInt64(transferLimitBlocks) {
            dispatch(MapIO(kind: .write(data), lba: offset / UInt64(blockSize), blocks: UInt32(blocks)) { completion($0.map { _ in () }) })
            return
        }
        let parts = split(offset: offset, length: data.readableBytes)
        let gather = Gather(parts: parts.count, length: 0) { completion($0.map { _ in () }) }
        var at = 0
        for part in parts {
            let bytes = Int(part.blocks) * blockSize
            let slice = data.getSlice(at: data.readerIndex + at, length: bytes)!
            dispatch(MapIO(kind: .write(slice), lba: part.lba, blocks: part.blocks) { result in
                gather.deliver(result.map { _ in ByteBuffer() }, at: nil)
            })
            at += bytes
        }
    }

    func flush(completion: @escaping @Sendable (Result<Void, BlockIOError>) -> Void) {
        dispatch(MapIO(kind: .flush, lba: 0, blocks: 0) { completion($0.map { _ in () }) })
    }

    func discard(offset: UInt64, length: UInt64, completion: @escaping @Sendable (Result<Void, BlockIOError>) -> Void) {
        let (supported, maxBlocks) = unmapLimit
        guard supported else {
            completion(.failure(.unsupported("\(unitName) does not support UNMAP")))
            return
        }
        var lba = offset / UInt64(blockSize)
        var remaining = length / UInt64(blockSize)
        var chunks: [(UInt64, UInt32)] = []
        while remaining > 0 {
            let n = min(remaining, maxBlocks, UInt64(UInt32.max))
            chunks.append((lba, UInt32(n)))
            lba += n
            remaining -= n
        }
        guard !chunks.isEmpty else { return completion(.success(())) }
        let gather = Gather(parts: chunks.count, length: 0) { completion($0.map { _ in () }) }
        for (start, count) in chunks {
            dispatch(MapIO(kind: .unmap(blocks: count), lba: start, blocks: count) { gather.deliver($0, at: nil) })
        }
    }

    private func split(offset: UInt64, length: Int) -> [(lba: UInt64, blocks: UInt32)] {
        let maxBlocks = UInt64(max(1, transferLimitBlocks))
        var lba = offset / UInt64(blockSize)
        var remaining = UInt64(length / blockSize)
        var parts: [(UInt64, UInt32)] = []
        repeat {
            let n = min(remaining, maxBlocks)
            parts.append((lba, UInt32(n)))
            lba += n
            remaining -= n
        } while remaining > 0
        return parts
    }
}

/// Collects the parts of an IO that was split; completes once, with the first error if any.
final class Gather: @unchecked Sendable {
    private let lock = NIOLock()
    private var remaining: Int
    private var buffer: ByteBuffer
    private var error: BlockIOError?
    private let completion: (Result<ByteBuffer, BlockIOError>) -> Void

    init(parts: Int, length: Int, completion: @escaping (Result<ByteBuffer, BlockIOError>) -> Void) {
        remaining = parts
        buffer = ByteBufferAllocator().buffer(capacity: length)
        self.completion = completion
    }

    func deliver(_ result: Result<ByteBuffer, BlockIOError>, at offset: Int?) {
        let finished: Result<ByteBuffer, BlockIOError>? = lock.withLock {
            switch result {
            case .success(let data):
                if let offset {
                    buffer.setBuffer(data, at: offset)
                    buffer.moveWriterIndex(to: max(buffer.writerIndex, offset + data.readableBytes))
                }
            case .failure(let e):
                if error == nil { error = e }
            }
            remaining -= 1
            guard remaining == 0 else { return nil }
            if let error { return .failure(error) }
            return .success(buffer)
        }
        if let finished { completion(finished) }
    }
}
