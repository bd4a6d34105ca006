import NIOCore
import SCSI

/// A pipelined IO load straight on one LUN of one connection, driven from the connection's event
/// loop with callbacks (no thread hop per IO), like iscsi-perf.
public final class IOBenchmark: @unchecked Sendable {
    public enum Pattern: String, Sendable, CaseIterable {
        case read, write, randread, randwrite
        var isWrite: Bool { self == .write || self == .randwrite }
        var isRandom: Bool { self == .randread || self == .randwrite }
    }

    public struct Options: Sendable {
        public var pattern: Pattern
        public var blockSizeBytes: Int
        public var queueDepth: Int
        public var seconds: Double
        /// Write patterned blocks, then read every written byte back and compare.
        public var verify: Bool
        public init(pattern: Pattern, blockSizeBytes: Int, queueDepth: Int, seconds: Double, verify: Bool) {
            self.pattern = pattern
            self.blockSizeBytes = blockSizeBytes
            self.queueDepth = queueDepth
            self.seconds = seconds
            self.verify = verify
        }
    }

    public struct Report: Sendable {
        public var ios: UInt64
        public var bytes: UInt64
        public var seconds: Double
        public var errors: UInt64
        public var latency: LatencyHistogram
        /// Blocks read back and compared (verify mode), and how many differed.
        public var blocksVerified: UInt64
        public var verifyFailures: UInt64
        public var firstError: String?

        public var iops: Double { seconds > 0 ? Double(ios) / seconds : 0 }
        public var megabytesPerSecond: Double { seconds > 0 ? Double(bytes) / seconds / 1_000_000 : 0 }
    }

    let connection: ISCSIConnection
    let lun: UInt64
    let logicalBlockLength: Int
    let blockCount: UInt64
    let options: Options
    private let ioBlocks: Int
    private let slots: UInt64
    private var rng: UInt64 = 0x9e37_79b9_7f4a_7c15
    private var nextSequential: UInt64 = 0
    private var inFlight = 0
    private var deadline: NIODeadline = .now()
    private var stopping = false
    private var report = Report(ios: 0, bytes: 0, seconds: 0, errors: 0, latency: LatencyHistogram(),
                                blocksVerified: 0, verifyFailures: 0, firstError: nil)
    private var written: [Bool] = []
    private var verifyQueue: [UInt64] = []
    private var verifyIndex = 0
    private var writeTemplate: ByteBuffer
    private let seed: UInt64
    private var promise: EventLoopPromise<Report>?
    private var started: NIODeadline = .now()

    /// `lun` in the 8-byte SAM form the PDU carries.
    public init(connection: ISCSIConnection, lun: UInt64, logicalBlockLength: Int, blockCount: UInt64, options: Options) throws {
        guard options.blockSizeBytes >= logicalBlockLength, options.blockSizeBytes % logicalBlockLength == 0 else {
            throw BenchmarkError("block size \(options.blockSizeBytes) is not a multiple of the LUN's \(logicalBlockLength)-byte blocks")
        }
        guard options.queueDepth >= 1 && options.queueDepth <= 1024 else { throw BenchmarkError("queue depth must be 1-1024") }
        self.connection = connection
        self.lun = lun
        self.logicalBlockLength = logicalBlockLength
        self.blockCount = blockCount
        self.options = options
        self.ioBlocks = options.blockSizeBytes / logicalBlockLength
        self.slots = blockCount / UInt64(options.blockSizeBytes / logicalBlockLength)
        guard slots > 0 else { throw BenchmarkError("the LUN (\(blockCount) blocks) is smaller than one \(options.blockSizeBytes)-byte IO") }
        self.seed = UInt64.random(in: 1..<UInt64.max)
        self.writeTemplate = connection.channel.allocator.buffer(capacity: options.blockSizeBytes)
        writeTemplate.writeRepeatingByte(0x5a, count: options.blockSizeBytes)
        if options.verify { written = [Bool](repeating: false, count: Int(min(slots, 1 << 26))) }
    }

    public func run() -> EventLoopFuture<Report> {
        let promise = connection.eventLoop.makePromise(of: Report.self)
        connection.eventLoop.execute { [self] in
            self.promise = promise
            started = .now()
            deadline = started + .nanoseconds(Int64(options.seconds * 1e9))
            for _ in 0..<options.queueDepth { issue() }
        }
        return promise.futureResult
    }

    private func nextSlot() -> UInt64 {
        if options.pattern.isRandom {
            rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17
            return rng % slots
        }
        defer { nextSequential = (nextSequential + 1) % slots }
        return nextSequential
    }

    /// Block contents are a function of (run seed, slot, byte offset): a misplaced or stale block
    /// cannot pass verification.
    private func patterned(slot: UInt64) -> ByteBuffer {
        var buffer = connection.channel.allocator.buffer(capacity: options.blockSizeBytes)
        let words = options.blockSizeBytes / 8
        var x = seed ^ (slot &* 0x9e37_79b9_7f4a_7c15)
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: words * 8) { raw in
            let out = raw.bindMemory(to: UInt64.self)
            for i in 0..<words {
                x ^= x << 13; x ^= x >> 7; x ^= x << 17
                out[i] = x
            }
            return words * 8
        }
        return buffer
    }

    private func issue() {
        if stopping || NIODeadline.now() >= deadline {
            stopping = true
            if options.verify { return issueVerify() }
            return finishIfIdle()
        }
        let slot = nextSlot()
        let lba = slot * UInt64(ioBlocks)
        let request: SCSITaskRequest
        if options.pattern.isWrite || options.verify {
            let data = options.verify ? patterned(slot: slot) : writeTemplate
            request = SCSITaskRequest(lun: lun, cdb: CDB.write(lba: lba, blocks: UInt32(ioBlocks)), direction: .write, dataOut: data)
            if options.verify && slot < UInt64(written.count) { written[Int(slot)] = true }
        } else {
            request = SCSITaskRequest(lun: lun, cdb: CDB.read(lba: lba, blocks: UInt32(ioBlocks)), direction: .read,
                                      expectedReadLength: options.blockSizeBytes)
        }
        inFlight += 1
        let start = NIODeadline.now()
        connection.execute(request) { [self] result in
            inFlight -= 1
            let elapsed = NIODeadline.now() - start
            record(result, latencyNanos: UInt64(max(0, elapsed.nanoseconds)))
            issue()
        }
    }

    private func record(_ result: Result<SCSITaskResponse, ISCSITaskError>, latencyNanos: UInt64) {
        switch result {
        case .success(let response) where response.isGood:
            report.ios += 1
            report.bytes += UInt64(options.blockSizeBytes)
            report.latency.record(latencyNanos / 1000)
        case .success(let response):
            report.errors += 1
            if report.firstError == nil {
                let sense = response.sense.flatMap { try? SenseData(bytes: $0) }
                report.firstError = "SCSI status \(SCSIStatus(rawValue: response.status))" + (sense.map { ": \($0)" } ?? "")
            }
        case .failure(let error):
            report.errors += 1
            if report.firstError == nil { report.firstError = "\(error)" }
            // A dead connection fails every new command synchronously: issuing more would recurse
            // until the deadline (and overflow the stack). End the run with the error instead.
            if case .connectionLost = error { stopping = true }
        }
    }

    private func issueVerify() {
        if verifyQueue.isEmpty && verifyIndex == 0 {
            if report.seconds == 0 { report.seconds = Double((NIODeadline.now() - started).nanoseconds) / 1e9 }
            guard inFlight == 0 else { return }  // wait for the writes to land first
            verifyQueue = written.indices.filter { written[$0] }.map { UInt64($0) }
            verifyIndex = 0
            if verifyQueue.isEmpty { return finishIfIdle() }
            for _ in 0..<options.queueDepth { issueVerify() }
            return
        }
        guard verifyIndex < verifyQueue.count else { return finishIfIdle() }
        let slot = verifyQueue[verifyIndex]
        verifyIndex += 1
        let request = SCSITaskRequest(lun: lun, cdb: CDB.read(lba: slot * UInt64(ioBlocks), blocks: UInt32(ioBlocks)),
                                      direction: .read, expectedReadLength: options.blockSizeBytes)
        inFlight += 1
        connection.execute(request) { [self] result in
            inFlight -= 1
            switch result {
            case .success(let response) where response.isGood:
                report.blocksVerified += 1
                if response.data != patterned(slot: slot) {
                    report.verifyFailures += 1
                    if report.firstError == nil { report.firstError = "verify: block at LBA \(slot * UInt64(ioBlocks)) differs" }
                }
            default:
                record(result, latencyNanos: 0)
            }
            issueVerify()
        }
    }

    private func finishIfIdle() {
        guard inFlight == 0, let promise else { return }
        self.promise = nil
        if report.seconds == 0 { report.seconds = Double((NIODeadline.now() - started).nanoseconds) / 1e9 }
        promise.succeed(report)
    }
}

public struct BenchmarkError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
