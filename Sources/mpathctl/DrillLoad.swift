import Dispatch
import Foundation
import Multipath
#if canImport(Glibc)
import Glibc
#endif

/// The drill's verified IO load: a few threads each doing synchronous O_DIRECT pread/pwrite on
/// their own stripe of a region of the device (so no two threads touch one block and every
/// read has one right answer). Writes carry `DrillBlockPattern` blocks and are read back at
/// once; other reads check blocks written earlier. Every IO's start and end are recorded.
final class DrillLoad: @unchecked Sendable {
    /// IO sizes in 4 KiB pattern blocks: 4 KiB to 64 KiB.
    static let sizes = [1, 2, 4, 8, 16]
    static let maxBlocks = 16
    static let blockSize = DrillBlockPattern.blockSize

    struct Summary {
        var records: [DrillIORecord]
        var blocksVerified: Int
        var verifyFailures: Int
        /// Workers still blocked in an IO when the load was stopped.
        var stuckWorkers: Int
        /// First IO error and first verify failure, with the time they happened.
        var firstError: DrillEvent?
        var firstMismatch: DrillEvent?
    }

    private let device: DrillDevice
    private let runID: UInt64
    private let workers: [Worker]
    private let stopFlag = LockedBox(false)

    /// `offset`/`length`: the region the load may overwrite, in bytes, both multiples of 64 KiB.
    init(device: DrillDevice, offset: UInt64, length: UInt64, threads: Int, runID: UInt64) throws {
        let chunk = UInt64(Self.maxBlocks * Self.blockSize)
        guard device.logicalBlockSize <= Self.blockSize, Self.blockSize % max(device.logicalBlockSize, 1) == 0 else {
            throw DrillError("\(device.path) has \(device.logicalBlockSize)-byte sectors; the drill's IO is aligned to 4096")
        }
        guard offset % chunk == 0, length % chunk == 0, length >= chunk * UInt64(threads) else {
            throw DrillError("the IO region must be aligned to 64 KiB and hold at least \(threads) × 64 KiB")
        }
        self.device = device
        self.runID = runID
        let stripe = length / UInt64(threads) / chunk * chunk
        workers = try (0..<threads).map { index in
            try Worker(index: index, fd: device.fd, firstBlock: (offset + UInt64(index) * stripe) / UInt64(Self.blockSize),
                       blocks: Int(stripe / UInt64(Self.blockSize)), runID: runID)
        }
    }

    /// Starts the threads.
    func start() {
        for worker in workers {
            let thread = Thread { [stopFlag] in
                worker.run(until: { stopFlag.value })
            }
            thread.name = "drill-io-\(worker.index)"
            thread.start()
        }
    }

    /// Asks the threads to stop after their current IO and waits up to `timeout` seconds.
    func stop(timeout: Double) -> Summary {
        stopFlag.update { $0 = true }
        let deadline = DispatchTime.now() + timeout
        var stuck = 0
        for worker in workers where worker.finished.wait(timeout: deadline) == .timedOut { stuck += 1 }
        return summary(stuck: stuck)
    }

    /// Reads back every block written during the run and checks it (after `stop`, and only when
    /// no worker is stuck). Bounded by `timeout` seconds; false when it did not finish.
    func verifyEverything(timeout: Double) -> Bool {
        let done = DispatchSemaphore(value: 0)
        let thread = Thread { [workers] in
            for worker in workers { worker.verifyStripe() }
            done.signal()
        }
        thread.name = "drill-verify"
        thread.start()
        return done.wait(timeout: .now() + timeout) == .success
    }

    func summary(stuck: Int) -> Summary {
        var result = Summary(records: [], blocksVerified: 0, verifyFailures: 0, stuckWorkers: stuck)
        for worker in workers {
            worker.state.update { state in
                result.records += state.records
                if let start = state.inFlight { result.records.append(DrillIORecord(start: start, end: nil, succeeded: false)) }
                result.blocksVerified += state.blocksVerified
                result.verifyFailures += state.verifyFailures
                if let error = state.firstError, result.firstError.map({ error.at < $0.at }) ?? true { result.firstError = error }
                if let bad = state.firstMismatch, result.firstMismatch.map({ bad.at < $0.at }) ?? true { result.firstMismatch = bad }
            }
        }
        result.records.sort { $0.start < $1.start }
        return result
    }

    /// One thread's share: a stripe of blocks, what each holds, and its records.
    final class Worker: @unchecked Sendable {
        struct State {
            var records: [DrillIORecord] = []
            var inFlight: UInt64?
            var blocksVerified = 0
            var verifyFailures = 0
            var firstError: DrillEvent?
            var firstMismatch: DrillEvent?
        }

        let index: Int
        let finished = DispatchSemaphore(value: 0)
        let state = LockedBox(State())
        private let fd: Int32
        private let firstBlock: UInt64
        private let blocks: Int
        private let runID: UInt64
        /// Generation each block should hold now; 0 = unknown (never written, or a write failed).
        private var expected: [UInt64]
        /// Highest generation ever written to each block, so a new write never reuses one.
        private var written: [UInt64]
        private var random: DrillRandom
        private let buffer: UnsafeMutableRawBufferPointer

        init(index: Int, fd: Int32, firstBlock: UInt64, blocks: Int, runID: UInt64) throws {
            self.index = index
            self.fd = fd
            self.firstBlock = firstBlock
            self.blocks = blocks
            self.runID = runID
            expected = [UInt64](repeating: 0, count: blocks)
            written = [UInt64](repeating: 0, count: blocks)
            random = DrillRandom(seed: runID ^ (UInt64(index + 1) &* 0xD1B5_4A32_D192_ED03))
            var memory: UnsafeMutableRawPointer?
            let bytes = DrillLoad.maxBlocks * DrillLoad.blockSize
            // O_DIRECT wants the buffer aligned to the sector size; a page covers every case.
            guard posix_memalign(&memory, 4096, bytes) == 0, let memory else {
                throw DrillError("could not allocate an aligned IO buffer")
            }
            buffer = UnsafeMutableRawBufferPointer(start: memory, count: bytes)
        }

        deinit {
            free(buffer.baseAddress)
        }

        func run(until stopped: () -> Bool) {
            defer { finished.signal() }
            while !stopped() {
                let count = DrillLoad.sizes[Int(random.next() % UInt64(DrillLoad.sizes.count))]
                let first = Int(random.next() % UInt64(blocks / count)) * count
                let range = first..<(first + count)
                let unwritten = expected[range].contains(0)
                if unwritten || random.next() & 1 == 0 {
                    if write(range) { _ = read(range) }
                } else {
                    _ = read(range)
                }
            }
        }

        /// Writes new generations of `range`; true when the write succeeded.
        private func write(_ range: Range<Int>) -> Bool {
            for block in range {
                let generation = written[block] + 1
                written[block] = generation
                let slice = UnsafeMutableRawBufferPointer(rebasing: buffer[(block - range.lowerBound) * DrillLoad.blockSize..<(block - range.lowerBound + 1) * DrillLoad.blockSize])
                DrillBlockPattern.fill(slice, run: runID, block: firstBlock + UInt64(block), generation: generation)
            }
            let ok = io(range, write: true)
            for block in range { expected[block] = ok ? written[block] : 0 }
            return ok
        }

        /// Reads `range` and checks every block whose content is known.
        private func read(_ range: Range<Int>) -> Bool {
            guard io(range, write: false) else { return false }
            check(range)
            return true
        }

        /// The final pass's read: not part of the timed load, and a block that cannot be read
        /// back counts as a verify failure.
        private func readBack(_ range: Range<Int>) {
            if io(range, write: false, recorded: false) {
                check(range)
                return
            }
            let lost = range.filter { expected[$0] != 0 }.count
            for block in range { expected[block] = 0 }
            let now = DrillClock.now()
            state.update { state in
                state.verifyFailures += lost
                if state.firstMismatch == nil {
                    state.firstMismatch = DrillEvent(at: now, text: "verify failure: final read of blocks \(firstBlock + UInt64(range.lowerBound))… failed")
                }
            }
        }

        private func check(_ range: Range<Int>) {
            var verified = 0
            var failures = 0
            var firstBad: DrillBlockMismatch?
            for block in range where expected[block] != 0 {
                let at = (block - range.lowerBound) * DrillLoad.blockSize
                let slice = UnsafeRawBufferPointer(rebasing: buffer[at..<(at + DrillLoad.blockSize)])
                verified += 1
                if let mismatch = DrillBlockPattern.verify(slice, run: runID, block: firstBlock + UInt64(block),
                                                           generation: expected[block]) {
                    failures += 1
                    if firstBad == nil { firstBad = mismatch }
                    // Counted once: unknown until written again.
                    expected[block] = 0
                }
            }
            let now = DrillClock.now()
            state.update { state in
                state.blocksVerified += verified
                state.verifyFailures += failures
                if let firstBad, state.firstMismatch == nil {
                    state.firstMismatch = DrillEvent(at: now, text: "verify failure: \(firstBad)")
                }
            }
        }

        /// One pread/pwrite of `range`, recorded unless told otherwise; true when every byte moved.
        private func io(_ range: Range<Int>, write: Bool, recorded: Bool = true) -> Bool {
            let length = range.count * DrillLoad.blockSize
            let offset = off_t((firstBlock + UInt64(range.lowerBound)) * UInt64(DrillLoad.blockSize))
            let start = DrillClock.now()
            if recorded { state.update { $0.inFlight = start } }
            var done: Int
            repeat {
                done = write ? pwrite(fd, buffer.baseAddress, length, offset) : pread(fd, buffer.baseAddress, length, offset)
            } while done < 0 && errno == EINTR
            let code = errno
            let end = DrillClock.now()
            let ok = done == length
            guard recorded else { return ok }
            state.update { state in
                state.inFlight = nil
                state.records.append(DrillIORecord(start: start, end: end, succeeded: ok))
                if !ok && state.firstError == nil {
                    let what = done < 0 ? String(cString: strerror(code)) : "\(done) of \(length) bytes"
                    state.firstError = DrillEvent(at: end, text: "IO error: \(write ? "pwrite" : "pread") \(length) bytes at \(offset): \(what)")
                }
            }
            return ok
        }

        /// The final pass: every block with a known generation, 64 KiB at a time.
        func verifyStripe() {
            var first = 0
            while first < blocks {
                let range = first..<min(first + DrillLoad.maxBlocks, blocks)
                if expected[range].contains(where: { $0 != 0 }) { readBack(range) }
                first = range.upperBound
            }
        }
    }
}
