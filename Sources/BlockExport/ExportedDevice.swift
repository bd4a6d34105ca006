#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import NIOCore

/// Byte-addressed IO on top of a block-addressed backend: clamps requests to
/// the device size, turns unaligned reads into aligned ones, and performs
/// read-modify-write for unaligned writes under range locks. Everything is
/// completion based; no method waits for the backend.
final class ExportedDevice: @unchecked Sendable {
    let backend: BlockBackend
    let blockSize: Int
    /// Largest single backend write used when zero-filling ranges.
    static let zeroChunk = 1 << 20
    /// Zero-fill writes kept in flight at once.
    static let zeroFillDepth = 4

    private typealias Resume = @Sendable () -> Void
    private let ranges = Locked(RangeLockTable<Resume>())
    private let allocator = ByteBufferAllocator()
    /// Zero bytes shared by all zero-fill writes (slices share the storage).
    let zeros: ByteBuffer

    /// Wraps `backend`; fails if its block size is not a power of two in 512...65536.
    init(backend: BlockBackend, name: String) throws {
        let size = backend.blockSize
        guard size >= 512, size <= 65536, size & (size - 1) == 0 else {
            throw BlockExportError(
                operation: "export device \(name)",
                reason: "backend block size \(size) is not a power of two between 512 and 65536")
        }
        self.backend = backend
        self.blockSize = size
        self.zeros = allocator.buffer(repeating: 0, count: Self.zeroChunk)
    }

    /// The size the kernel sees: the backend size rounded down to whole blocks.
    var visibleSize: UInt64 {
        roundDown(backend.sizeBytes, to: blockSize)
    }

    // MARK: read

    /// Reads up to `length` bytes at `offset`; short (possibly empty) at the end of the device.
    func read(offset: UInt64, length: Int, completion: @escaping @Sendable (Result<ByteBuffer, BlockIOError>) -> Void) {
        let size = visibleSize
        guard length > 0, offset < size else {
            completion(.success(allocator.buffer(capacity: 0)))
            return
        }
        let count = Int(min(UInt64(length), size - offset))
        let span = AlignedSpan(offset: offset, length: count, blockSize: blockSize)
        backend.read(offset: span.start, length: span.length) { result in
            switch result {
            case .failure(let error):
                completion(.failure(error))
            case .success(var buffer):
                guard buffer.readableBytes == span.length else {
                    completion(.failure(.io("backend returned \(buffer.readableBytes) bytes for a \(span.length)-byte read at \(span.start)")))
                    return
                }
                if !span.isAligned {
                    guard let slice = buffer.getSlice(at: buffer.readerIndex + span.headOffset, length: span.payloadLength) else {
                        completion(.failure(.io("cannot slice \(span.payloadLength) bytes at \(span.headOffset) of a \(span.length)-byte read")))
                        return
                    }
                    buffer = slice
                }
                completion(.success(buffer))
            }
        }
    }

    // MARK: write

    /// Writes `data` at `offset`. Completes with the byte count written, which
    /// is short when the write runs past the end; ENOSPC when it starts there.
    func write(offset: UInt64, data: ByteBuffer, completion: @escaping @Sendable (Result<Int, BlockIOError>) -> Void) {
        let size = visibleSize
        guard data.readableBytes > 0 else {
            completion(.success(0))
            return
        }
        guard offset < size else {
            completion(.failure(.noSpace("write at \(offset) is past the end of the device (\(size) bytes)")))
            return
        }
        let count = Int(min(UInt64(data.readableBytes), size - offset))
        let payload = count == data.readableBytes ? data : data.getSlice(at: data.readerIndex, length: count) ?? data
        let span = AlignedSpan(offset: offset, length: count, blockSize: blockSize)
        let range = span.start..<(span.start + UInt64(span.length))
        withRangeLock(range, mode: span.isAligned ? .shared : .exclusive) { release in
            let done: @Sendable (Result<Void, BlockIOError>) -> Void = { result in
                release()
                completion(result.map { count })
            }
            if span.isAligned {
                self.backend.write(offset: offset, data: payload, completion: done)
            } else {
                self.readModifyWrite(span: span, payload: payload, completion: done)
            }
        }
    }

    /// Reads the partial edge blocks, merges `payload` in and writes the whole span back.
    private func readModifyWrite(span: AlignedSpan, payload: ByteBuffer, completion: @escaping @Sendable (Result<Void, BlockIOError>) -> Void) {
        let edges = span.blocksToPreRead
        let merged = Locked(allocator.buffer(repeating: 0, count: span.length))
        let pending = Locked((remaining: edges.count, error: BlockIOError?.none))
        let blockSize = self.blockSize
        let finish: @Sendable () -> Void = {
            let buffer = merged.withLock { buffer -> ByteBuffer in
                buffer.setBuffer(payload, at: span.headOffset)
                return buffer
            }
            self.backend.write(offset: span.start, data: buffer, completion: completion)
        }
        for edge in edges {
            backend.read(offset: edge, length: blockSize) { result in
                var failure: BlockIOError?
                switch result {
                case .failure(let error):
                    failure = error
                case .success(let block):
                    if block.readableBytes == blockSize {
                        merged.withLock { buffer in
                            _ = buffer.setBuffer(block, at: Int(edge - span.start))
                        }
                    } else {
                        failure = .io("backend returned \(block.readableBytes) bytes for a \(blockSize)-byte read at \(edge)")
                    }
                }
                let state = pending.withLock { state -> (done: Bool, error: BlockIOError?) in
                    state.remaining -= 1
                    if state.error == nil, let failure {
                        state.error = failure
                    }
                    return (state.remaining == 0, state.error)
                }
                guard state.done else { return }
                if let error = state.error {
                    completion(.failure(error))
                } else {
                    finish()
                }
            }
        }
    }

    // MARK: flush, discard, zero

    /// Passes a cache flush to the backend.
    func flush(completion: @escaping @Sendable (Result<Void, BlockIOError>) -> Void) {
        backend.flush(completion: completion)
    }

    /// Hole punch semantics: the range must read back as zeros afterwards.
    /// Whole blocks inside the range are discarded; whatever the backend does
    /// not guarantee to zero (partial edge blocks, or everything when
    /// `discardZeroesData` is false) is written with zeros.
    func punchHole(offset: UInt64, length: UInt64, completion: @escaping @Sendable (Result<Void, BlockIOError>) -> Void) {
        let size = visibleSize
        guard length > 0, offset < size else {
            completion(.success(()))
            return
        }
        let end = offset + min(length, size - offset)
        let innerStart = roundUp(offset, to: blockSize)
        let innerEnd = roundDown(end, to: blockSize)
        guard innerStart < innerEnd else {
            zeroFill(offset: offset, end: end, completion: completion)
            return
        }
        let range = innerStart..<innerEnd
        withRangeLock(range, mode: .exclusive) { release in
            self.backend.discard(offset: innerStart, length: innerEnd - innerStart) { result in
                release()
                switch result {
                case .failure(let error):
                    completion(.failure(error))
                case .success:
                    if self.backend.discardZeroesData {
                        self.zeroFill(offset: offset, end: innerStart) { head in
                            guard case .success = head else { return completion(head) }
                            self.zeroFill(offset: innerEnd, end: end, completion: completion)
                        }
                    } else {
                        self.zeroFill(offset: offset, end: end, completion: completion)
                    }
                }
            }
        }
    }

    /// Writes zeros over `length` bytes at `offset` (clamped to the device).
    func zeroRange(offset: UInt64, length: UInt64, completion: @escaping @Sendable (Result<Void, BlockIOError>) -> Void) {
        let size = visibleSize
        guard length > 0, offset < size else {
            completion(.success(()))
            return
        }
        zeroFill(offset: offset, end: offset + min(length, size - offset), completion: completion)
    }

    /// Zero-fills [offset, end) through `write`, so the edges get
    /// read-modify-write and range locking like any other write.
    private func zeroFill(offset: UInt64, end: UInt64, completion: @escaping @Sendable (Result<Void, BlockIOError>) -> Void) {
        guard offset < end else {
            completion(.success(()))
            return
        }
        let filler = ZeroFiller(device: self, start: offset, end: end, completion: completion)
        filler.pump()
    }


    // MARK: range locks

    /// Runs `body` once the range lock is held; `body` gets the release function.
    private func withRangeLock(_ range: Range<UInt64>, mode: RangeLockTable<Resume>.Mode, _ body: @escaping @Sendable (_ release: @escaping @Sendable () -> Void) -> Void) {
        let ticketBox = Locked(RangeLockTable<Resume>.Ticket?.none)
        let release: @Sendable () -> Void = {
            guard let ticket = ticketBox.withLock({ $0 }) else { return }
            let resumed = self.ranges.withLock { $0.release(ticket) }
            for resume in resumed {
                resume()
            }
        }
        let start: Resume = { body(release) }
        // The ticket is stored before the table lock is dropped, so a waiter
        // resumed by another thread's release always finds it.
        let granted = ranges.withLock { table -> Bool in
            let result = table.acquire(range, mode: mode, payload: start)
            ticketBox.withLock { $0 = result.ticket }
            return result.granted
        }
        if granted {
            start()
        }
    }

    /// Locks currently held and queued (for tests and diagnostics).
    var rangeLockCounts: (held: Int, waiting: Int) {
        ranges.withLock { ($0.heldCount, $0.waitingCount) }
    }
}
