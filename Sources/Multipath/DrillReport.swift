import Foundation

// The pure half of `mpathctl drill`: the verified block pattern its IO load writes, and the
// analysis that turns what the drill observed (IO intervals, status samples) into the report.
// Times are monotonic nanoseconds; only differences matter.

// MARK: - Block pattern

/// SplitMix64 (Steele, Lea, Flood): tiny, fast, and the same sequence on every machine, so a
/// block's expected content can be regenerated from its seed alone.
public struct DrillRandom: RandomNumberGenerator, Sendable {
    /// The generator's whole state.
    public private(set) var state: UInt64

    public init(seed: UInt64) {
        state = seed
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// What a drill block holds, so every byte read back can be checked and a wrong block says
/// which write it came from. A block is 4096 bytes:
///
///     0..<8     "MPDRILL1"
///     8..<16    run id       (little endian)
///     16..<24   block number (little endian; byte offset on the device / 4096)
///     24..<32   generation   (little endian; 1 for the first write of the block in a run)
///     32..<4096 DrillRandom(seed: seed(run, block, generation)) words, little endian
public enum DrillBlockPattern {
    /// Bytes per pattern block.
    public static let blockSize = 4096
    /// Header bytes before the pseudo-random filler.
    public static let headerSize = 32
    /// "MPDRILL1" as the first eight bytes.
    public static let magic: [UInt8] = Array("MPDRILL1".utf8)

    /// The filler's seed: run, block and generation mixed so neighbouring blocks and successive
    /// generations get unrelated filler (a stale or misplaced block never matches by accident).
    public static func seed(run: UInt64, block: UInt64, generation: UInt64) -> UInt64 {
        (run &* 0x9E37_79B9_7F4A_7C15) ^ (block &* 0xBF58_476D_1CE4_E5B9) ^ (generation &* 0x94D0_49BB_1331_11EB)
    }

    /// Writes the pattern into the first `min(buffer.count, blockSize)` bytes of `buffer`.
    public static func fill(_ buffer: UnsafeMutableRawBufferPointer, run: UInt64, block: UInt64, generation: UInt64) {
        let count = min(buffer.count, blockSize)
        guard count > 0 else { return }
        var header = magic
        for value in [run, block, generation] {
            withUnsafeBytes(of: value.littleEndian) { header.append(contentsOf: $0) }
        }
        for i in 0..<min(count, headerSize) { buffer[i] = header[i] }
        var random = DrillRandom(seed: seed(run: run, block: block, generation: generation))
        var offset = headerSize
        while offset < count {
            let word = random.next().littleEndian
            if offset + 8 <= count {
                buffer.storeBytes(of: word, toByteOffset: offset, as: UInt64.self)
            } else {
                withUnsafeBytes(of: word) { bytes in
                    for i in 0..<(count - offset) { buffer[offset + i] = bytes[i] }
                }
            }
            offset += 8
        }
    }

    /// One block's pattern as an array (tests and diagnostics; the load fills buffers in place).
    public static func bytes(run: UInt64, block: UInt64, generation: UInt64) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: blockSize)
        out.withUnsafeMutableBytes { fill($0, run: run, block: block, generation: generation) }
        return out
    }

    /// Checks every byte of `buffer` against the expected block; nil when it matches.
    public static func verify(_ buffer: UnsafeRawBufferPointer, run: UInt64, block: UInt64,
                              generation: UInt64) -> DrillBlockMismatch? {
        guard buffer.count == blockSize else {
            return DrillBlockMismatch(block: block, expectedGeneration: generation, firstBadOffset: min(buffer.count, blockSize),
                                      found: nil, reason: "read \(buffer.count) bytes, expected \(blockSize)")
        }
        let found = header(of: buffer)
        var random = DrillRandom(seed: seed(run: run, block: block, generation: generation))
        var firstBad: Int?
        if found == nil || found?.run != run || found?.block != block || found?.generation != generation {
            firstBad = firstDifference(in: buffer, run: run, block: block, generation: generation)
        } else {
            var offset = headerSize
            while offset < blockSize {
                let want = random.next().littleEndian
                let have = buffer.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
                if want != have {
                    let diff = withUnsafeBytes(of: want) { w in
                        withUnsafeBytes(of: have) { h in (0..<8).first { w[$0] != h[$0] } ?? 0 }
                    }
                    firstBad = offset + diff
                    break
                }
                offset += 8
            }
        }
        guard let firstBad else { return nil }
        let reason: String
        if let found {
            if found.run != run {
                reason = "holds a block of another run (\(hex(found.run)))"
            } else if found.block != block {
                reason = "holds block \(found.block) (misplaced write)"
            } else if found.generation != generation {
                reason = found.generation < generation
                    ? "holds generation \(found.generation), expected \(generation) (a write was lost)"
                    : "holds generation \(found.generation), expected \(generation) (unexpected newer write)"
            } else {
                reason = "right header, filler differs from byte \(firstBad)"
            }
        } else {
            reason = "no drill header (bytes \(hexBytes(buffer, count: 8)))"
        }
        return DrillBlockMismatch(block: block, expectedGeneration: generation, firstBadOffset: firstBad,
                                  found: found, reason: reason)
    }

    /// The header fields of a drill block, or nil when the magic is missing.
    public static func header(of buffer: UnsafeRawBufferPointer) -> (run: UInt64, block: UInt64, generation: UInt64)? {
        guard buffer.count >= headerSize, magic.indices.allSatisfy({ buffer[$0] == magic[$0] }) else { return nil }
        func field(_ at: Int) -> UInt64 { UInt64(littleEndian: buffer.loadUnaligned(fromByteOffset: at, as: UInt64.self)) }
        return (field(8), field(16), field(24))
    }

    private static func firstDifference(in buffer: UnsafeRawBufferPointer, run: UInt64, block: UInt64,
                                        generation: UInt64) -> Int {
        let expected = bytes(run: run, block: block, generation: generation)
        return (0..<blockSize).first { buffer[$0] != expected[$0] } ?? 0
    }

    private static func hex(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return "0x" + String(repeating: "0", count: max(0, 16 - digits.count)) + digits
    }

    private static func hexBytes(_ buffer: UnsafeRawBufferPointer, count: Int) -> String {
        buffer.prefix(count).map { byte in
            let digits = String(byte, radix: 16)
            return digits.count == 1 ? "0" + digits : digits
        }.joined(separator: " ")
    }
}

/// A block that did not read back as written.
public struct DrillBlockMismatch: Equatable, Sendable, CustomStringConvertible {
    /// Block number (byte offset / 4096).
    public var block: UInt64
    public var expectedGeneration: UInt64
    /// Offset of the first wrong byte within the block.
    public var firstBadOffset: Int
    /// Header found in the block, when it has one.
    public var foundRun: UInt64?
    public var foundBlock: UInt64?
    public var foundGeneration: UInt64?
    /// Why it is wrong, in words.
    public var reason: String

    public init(block: UInt64, expectedGeneration: UInt64, firstBadOffset: Int,
                found: (run: UInt64, block: UInt64, generation: UInt64)?, reason: String) {
        self.block = block
        self.expectedGeneration = expectedGeneration
        self.firstBadOffset = firstBadOffset
        foundRun = found?.run
        foundBlock = found?.block
        foundGeneration = found?.generation
        self.reason = reason
    }

    public var description: String {
        "block \(block) (byte offset \(block * UInt64(DrillBlockPattern.blockSize))): \(reason)"
    }
}

// MARK: - Observations

/// How the drill cuts the path.
public enum DrillMode: String, Codable, Sendable, CaseIterable {
    /// Packets vanish: the initiator only notices through timeouts.
    case blackhole
    /// Every packet is answered with a TCP reset: the connection breaks at once.
    case reset
}

/// One IO of the drill's load: when it was issued and when it completed.
public struct DrillIORecord: Equatable, Sendable {
    public var start: UInt64
    /// nil while the IO had not completed when the drill stopped looking.
    public var end: UInt64?
    public var succeeded: Bool

    public init(start: UInt64, end: UInt64?, succeeded: Bool) {
        self.start = start
        self.end = end
        self.succeeded = succeeded
    }
}

/// One path in one status sample.
public struct DrillPathSample: Equatable, Sendable {
    public var name: String
    /// The map uses the path (`state: active`).
    public var active: Bool
    /// IOs completed on the path since the daemon started.
    public var ioCount: UInt64

    public init(name: String, active: Bool, ioCount: UInt64) {
        self.name = name
        self.active = active
        self.ioCount = ioCount
    }
}

/// The map's paths as one `status` answer showed them, stamped with the time the answer arrived.
public struct DrillStatusSample: Equatable, Sendable {
    public var at: UInt64
    public var paths: [DrillPathSample]

    public init(at: UInt64, paths: [DrillPathSample]) {
        self.at = at
        self.paths = paths
    }

    /// Builds a sample from a map as `status` reports it.
    public init(at: UInt64, map: MapView) {
        self.init(at: at, paths: map.paths.map { DrillPathSample(name: $0.name, active: $0.dmState == .active, ioCount: $0.ioCount) })
    }

    public func path(_ name: String) -> DrillPathSample? { paths.first { $0.name == name } }

    /// IOs completed on every path of the map.
    public var totalIOCount: UInt64 { paths.reduce(0) { $0 &+ $1.ioCount } }
}

/// A moment worth showing in the report's timeline.
public struct DrillEvent: Equatable, Sendable {
    public var at: UInt64
    public var text: String

    public init(at: UInt64, text: String) {
        self.at = at
        self.text = text
    }
}

/// Everything one drill saw, in the order the analysis needs it.
public struct DrillObservations: Sendable {
    public var map: String
    public var path: String
    public var mode: DrillMode
    public var seconds: Double
    /// The rules were in place (the path was cut) from here.
    public var killAt: UInt64
    /// The rules were gone from here; nil when the drill never got that far.
    public var restoreAt: UInt64?
    /// The drill stopped looking here.
    public var endAt: UInt64
    /// Status samples in time order.
    public var samples: [DrillStatusSample]
    /// The drill's own IOs; nil in watch mode (no IO of its own).
    public var ios: [DrillIORecord]?
    public var blocksVerified: Int?
    public var verifyFailures: Int?
    /// Events the command adds itself (load started, first error, …).
    public var events: [DrillEvent]

    public init(map: String, path: String, mode: DrillMode, seconds: Double, killAt: UInt64, restoreAt: UInt64?,
                endAt: UInt64, samples: [DrillStatusSample], ios: [DrillIORecord]?, blocksVerified: Int?,
                verifyFailures: Int?, events: [DrillEvent] = []) {
        self.map = map
        self.path = path
        self.mode = mode
        self.seconds = seconds
        self.killAt = killAt
        self.restoreAt = restoreAt
        self.endAt = endAt
        self.samples = samples
        self.ios = ios
        self.blocksVerified = blocksVerified
        self.verifyFailures = verifyFailures
        self.events = events
    }
}

// MARK: - Analysis

/// A stretch of time in which no IO completed.
public struct DrillStall: Equatable, Sendable {
    public var start: UInt64
    public var end: UInt64
    public var nanoseconds: UInt64 { end >= start ? end - start : 0 }

    public init(start: UInt64, end: UInt64) {
        self.start = start
        self.end = end
    }
}

/// The computations behind the report, one function per figure.
public enum DrillAnalysis {
    /// First sample after the kill in which `path` is failed.
    public static func detection(samples: [DrillStatusSample], path: String, killAt: UInt64) -> UInt64? {
        samples.first { $0.at > killAt && $0.path(path)?.active == false }?.at
    }

    /// First successful IO completion after the kill that went through another path: it falls in a
    /// sample interval in which some other path's io_count grew. Without IO records (watch mode)
    /// the end of the first such interval that lies wholly after the kill.
    public static func move(samples: [DrillStatusSample], ios: [DrillIORecord]?, path: String, killAt: UInt64) -> UInt64? {
        let completions = ios.map(successfulCompletions)
        for (previous, current) in zip(samples, samples.dropFirst()) where current.at > killAt {
            let otherGrew = current.paths.contains { sample in
                sample.name != path && sample.ioCount > (previous.path(sample.name)?.ioCount ?? sample.ioCount)
            }
            guard otherGrew else { continue }
            guard let completions else {
                if previous.at >= killAt { return current.at }
                continue
            }
            let from = max(previous.at, killAt)
            if let first = firstCompletion(in: completions, after: from), first <= current.at { return first }
        }
        return nil
    }

    /// The longest gap between successive successful IO completions that overlaps [from, to].
    /// The gap before the first completion after `from` starts at the last completion before
    /// it; an IO still outstanding at `to` makes the time after the last completion a gap too.
    public static func longestStall(ios: [DrillIORecord], from: UInt64, to: UInt64) -> DrillStall? {
        guard to > from else { return nil }
        let completions = successfulCompletions(ios)
        let outstanding = ios.contains { $0.end == nil }
        var best: DrillStall?
        func consider(_ start: UInt64, _ end: UInt64) {
            guard end > from, start < to, end > start else { return }
            if best.map({ end - start > $0.nanoseconds }) ?? true { best = DrillStall(start: start, end: end) }
        }
        let lastBefore = completions.last { $0 <= from }
        var previous = lastBefore ?? from
        for completion in completions where completion > from {
            consider(previous, completion)
            previous = completion
            if completion >= to { break }
        }
        if previous < to && (outstanding || completions.allSatisfy { $0 <= from }) {
            consider(previous, to)
        }
        return best
    }

    /// Watch mode's stall: the longest run of successive samples over which the map's total
    /// io_count stayed the same, overlapping [from, to] (a lower bound, at the sampling interval's
    /// resolution). Zero length when IO was seen to flow in every interval; nil when the count
    /// never grew at all (no IO to judge by).
    public static func longestCounterStall(samples: [DrillStatusSample], from: UInt64, to: UInt64) -> DrillStall? {
        let pairs = zip(samples, samples.dropFirst())
        guard pairs.contains(where: { $1.totalIOCount > $0.totalIOCount }) else { return nil }
        var best: DrillStall?
        var runStart: UInt64?
        for (previous, current) in pairs {
            guard current.totalIOCount == previous.totalIOCount else {
                runStart = nil
                continue
            }
            let start = runStart ?? previous.at
            runStart = start
            guard current.at > from, start < to, current.at > start else { continue }
            if best.map({ current.at - start > $0.nanoseconds }) ?? true { best = DrillStall(start: start, end: current.at) }
        }
        return best ?? DrillStall(start: from, end: from)
    }

    /// Longest single IO; an outstanding IO counts until `endAt`.
    public static func maxLatency(ios: [DrillIORecord], endAt: UInt64) -> UInt64? {
        ios.map { io in
            let end = io.end ?? endAt
            return end >= io.start ? end - io.start : 0
        }.max()
    }

    /// First sample after `restoreAt` that shows `path` active again, provided it had been seen
    /// failed after the kill (otherwise there is nothing to restore).
    public static func restoration(samples: [DrillStatusSample], path: String, killAt: UInt64, restoreAt: UInt64) -> UInt64? {
        guard detection(samples: samples, path: path, killAt: killAt) != nil else { return nil }
        return samples.first { $0.at > restoreAt && $0.path(path)?.active == true }?.at
    }

    /// First sample after the restoration in which `path` is active and its io_count grew.
    public static func backInUse(samples: [DrillStatusSample], path: String, restoredAt: UInt64) -> UInt64? {
        for (previous, current) in zip(samples, samples.dropFirst()) where previous.at >= restoredAt {
            guard let now = current.path(path), now.active, let before = previous.path(path) else { continue }
            if now.ioCount > before.ioCount { return current.at }
        }
        return nil
    }

    /// State changes of every path between successive samples.
    public static func transitions(samples: [DrillStatusSample]) -> [DrillEvent] {
        var events: [DrillEvent] = []
        for (previous, current) in zip(samples, samples.dropFirst()) {
            for path in current.paths {
                guard let before = previous.path(path.name), before.active != path.active else { continue }
                events.append(DrillEvent(at: current.at, text: "\(path.name) \(path.active ? "active" : "failed") (status)"))
            }
        }
        return events
    }

    static func successfulCompletions(_ ios: [DrillIORecord]) -> [UInt64] {
        ios.compactMap { $0.succeeded ? $0.end : nil }.sorted()
    }

    /// First element of the sorted `completions` strictly after `time`.
    static func firstCompletion(in completions: [UInt64], after time: UInt64) -> UInt64? {
        var low = 0
        var high = completions.count
        while low < high {
            let mid = (low + high) / 2
            if completions[mid] <= time { low = mid + 1 } else { high = mid }
        }
        return low < completions.count ? completions[low] : nil
    }
}

// MARK: - Report

/// The drill's result: what `mpathctl drill --json` prints (keys as below, null where unknown)
/// and the text report with its timeline.
public struct DrillReport: Equatable, Sendable {
    public var map: String
    public var path: String
    public var mode: DrillMode
    public var seconds: Double
    /// Kill → the path shows failed.
    public var detectMs: Int?
    /// Kill → first IO completion through another path.
    public var moveMs: Int?
    /// Largest gap without an IO completion during the drill.
    public var longestStallMs: Int?
    /// Longest single IO.
    public var maxIOLatencyMs: Int?
    /// Failed IOs, and IOs still outstanding when the drill stopped.
    public var ioErrors: Int?
    public var blocksVerified: Int?
    public var verifyFailures: Int?
    /// Rules removed → the path active again.
    public var restoredMs: Int?
    /// Rules removed → the path active and carrying IO.
    public var backInUseMs: Int?
    /// Events in time order, milliseconds relative to the kill (text report only).
    public var timeline: [(ms: Int, text: String)]
    /// Where the longest stall started and ended, relative to the kill (text report only).
    public var stallSpan: (from: Int, to: Int)?
    /// The stall was judged from status samples (watch mode), not from the drill's own IO.
    public var stallFromSamples: Bool

    /// Analyzes what a drill observed.
    public init(analyzing o: DrillObservations) {
        map = o.map
        path = o.path
        mode = o.mode
        seconds = o.seconds
        func ms(_ time: UInt64?, from origin: UInt64?) -> Int? {
            guard let time, let origin else { return nil }
            return Self.milliseconds(Int64(bitPattern: time &- origin))
        }
        let detected = DrillAnalysis.detection(samples: o.samples, path: o.path, killAt: o.killAt)
        let moved = DrillAnalysis.move(samples: o.samples, ios: o.ios, path: o.path, killAt: o.killAt)
        detectMs = ms(detected, from: o.killAt)
        moveMs = ms(moved, from: o.killAt)
        let stall: DrillStall?
        if let ios = o.ios {
            stall = DrillAnalysis.longestStall(ios: ios, from: o.killAt, to: o.endAt)
            maxIOLatencyMs = DrillAnalysis.maxLatency(ios: ios, endAt: o.endAt).map { Self.milliseconds(Int64($0)) }
            // An IO that never completed is an error to the application too.
            ioErrors = ios.filter { !$0.succeeded || $0.end == nil }.count
            stallFromSamples = false
        } else {
            stall = DrillAnalysis.longestCounterStall(samples: o.samples, from: o.killAt, to: o.endAt)
            maxIOLatencyMs = nil
            ioErrors = nil
            stallFromSamples = true
        }
        longestStallMs = stall.map { Self.milliseconds(Int64($0.nanoseconds)) }
        stallSpan = stall.map { (ms($0.start, from: o.killAt) ?? 0, ms($0.end, from: o.killAt) ?? 0) }
        blocksVerified = o.blocksVerified
        verifyFailures = o.verifyFailures
        var restored: UInt64?
        var inUse: UInt64?
        if let restoreAt = o.restoreAt {
            restored = DrillAnalysis.restoration(samples: o.samples, path: o.path, killAt: o.killAt, restoreAt: restoreAt)
            inUse = restored.flatMap { DrillAnalysis.backInUse(samples: o.samples, path: o.path, restoredAt: $0) }
        }
        restoredMs = ms(restored, from: o.restoreAt)
        backInUseMs = ms(inUse, from: o.restoreAt)

        // The cut path's own failed/active changes at detection and restoration have events of
        // their own below; other changes (flaps, other paths) are listed as status saw them.
        var events = o.events + DrillAnalysis.transitions(samples: o.samples).filter { event in
            !(event.at == detected && event.text == "\(o.path) failed (status)")
                && !(event.at == restored && event.text == "\(o.path) active (status)")
        }
        events.append(DrillEvent(at: o.killAt, text: "\(o.mode.rawValue) rules in place: \(o.path) cut"))
        if let detected { events.append(DrillEvent(at: detected, text: "\(o.path) seen failed (detect)")) }
        if let moved { events.append(DrillEvent(at: moved, text: "first IO completed through another path (move)")) }
        if let stall, !stallFromSamples {
            events.append(DrillEvent(at: stall.start, text: "longest stall begins"))
            events.append(DrillEvent(at: stall.end, text: "longest stall ends"))
        }
        if let restoreAt = o.restoreAt { events.append(DrillEvent(at: restoreAt, text: "rules removed")) }
        if let restored { events.append(DrillEvent(at: restored, text: "\(o.path) active again (restored)")) }
        if let inUse { events.append(DrillEvent(at: inUse, text: "\(o.path) carrying IO again")) }
        events.append(DrillEvent(at: o.endAt, text: "drill ends"))
        // Stable order: by time, then as added (detect before move when simultaneous).
        timeline = events.enumerated()
            .sorted { ($0.element.at, $0.offset) < ($1.element.at, $1.offset) }
            .map { (Self.milliseconds(Int64(bitPattern: $0.element.at &- o.killAt)), $0.element.text) }
    }

    /// No IO error and no verify failure (what the exit status says).
    public var passed: Bool { (ioErrors ?? 0) == 0 && (verifyFailures ?? 0) == 0 }

    /// Nanoseconds to whole milliseconds, rounded half away from zero.
    public static func milliseconds(_ nanoseconds: Int64) -> Int {
        let (q, r) = nanoseconds.quotientAndRemainder(dividingBy: 1_000_000)
        if r >= 500_000 { return Int(q + 1) }
        if r <= -500_000 { return Int(q - 1) }
        return Int(q)
    }

    public static func == (a: DrillReport, b: DrillReport) -> Bool {
        a.map == b.map && a.path == b.path && a.mode == b.mode && a.seconds == b.seconds && a.detectMs == b.detectMs
            && a.moveMs == b.moveMs && a.longestStallMs == b.longestStallMs && a.maxIOLatencyMs == b.maxIOLatencyMs
            && a.ioErrors == b.ioErrors && a.blocksVerified == b.blocksVerified && a.verifyFailures == b.verifyFailures
            && a.restoredMs == b.restoredMs && a.backInUseMs == b.backInUseMs && a.stallFromSamples == b.stallFromSamples
            && a.timeline.elementsEqual(b.timeline) { $0.ms == $1.ms && $0.text == $1.text }
            && a.stallSpan?.from == b.stallSpan?.from && a.stallSpan?.to == b.stallSpan?.to
    }

    // MARK: JSON

    private enum Key: String, CodingKey {
        case map, path, mode, seconds
        case detectMs = "detect_ms"
        case moveMs = "move_ms"
        case longestStallMs = "longest_stall_ms"
        case maxIOLatencyMs = "max_io_latency_ms"
        case ioErrors = "io_errors"
        case blocksVerified = "blocks_verified"
        case verifyFailures = "verify_failures"
        case restoredMs = "restored_ms"
        case backInUseMs = "back_in_use_ms"
    }

    private struct JSONForm: Encodable {
        let report: DrillReport
        func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: Key.self)
            try c.encode(report.map, forKey: .map)
            try c.encode(report.path, forKey: .path)
            try c.encode(report.mode, forKey: .mode)
            try c.encode(report.seconds, forKey: .seconds)
            // Explicit nulls: every key is always there.
            try c.encode(report.detectMs, forKey: .detectMs)
            try c.encode(report.moveMs, forKey: .moveMs)
            try c.encode(report.longestStallMs, forKey: .longestStallMs)
            try c.encode(report.maxIOLatencyMs, forKey: .maxIOLatencyMs)
            try c.encode(report.ioErrors, forKey: .ioErrors)
            try c.encode(report.blocksVerified, forKey: .blocksVerified)
            try c.encode(report.verifyFailures, forKey: .verifyFailures)
            try c.encode(report.restoredMs, forKey: .restoredMs)
            try c.encode(report.backInUseMs, forKey: .backInUseMs)
        }
    }

    /// One compact JSON object, keys sorted.
    public func jsonString() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(JSONForm(report: self)), as: UTF8.self)
    }

    // MARK: Text

    /// The human report: figures, then the timeline, then the verdict.
    public func text() -> String {
        func value(_ ms: Int?) -> String { ms.map { "\($0) ms" } ?? "-" }
        func count(_ n: Int?) -> String { n.map(String.init) ?? "-" }
        func pad(_ s: String, _ width: Int) -> String { s.count >= width ? s : s + String(repeating: " ", count: width - s.count) }
        var lines: [String] = []
        lines.append("drill \(map): \(path) cut by \(mode.rawValue) for \(Self.secondsText(seconds)) s")
        lines.append("  " + pad("detect", 16) + pad(value(detectMs), 10) + "kill → \(path) failed")
        lines.append("  " + pad("move IO", 16) + pad(value(moveMs), 10) + "kill → first IO done through another path")
        var stallNote = stallFromSamples ? "no io_count growth (status samples, 50 ms resolution)" : "no IO completed"
        if let span = stallSpan { stallNote += " from \(signed(span.from)) to \(signed(span.to)) ms" }
        lines.append("  " + pad("longest stall", 16) + pad(value(longestStallMs), 10) + stallNote)
        lines.append("  " + pad("max IO latency", 16) + value(maxIOLatencyMs))
        lines.append("  " + pad("IO errors", 16) + pad(count(ioErrors), 10)
                     + "blocks verified \(count(blocksVerified)), verify failures \(count(verifyFailures))")
        lines.append("  " + pad("restored", 16) + pad(value(restoredMs), 10) + "rules removed → \(path) active")
        lines.append("  " + pad("back in use", 16) + pad(value(backInUseMs), 10) + "rules removed → \(path) carrying IO")
        lines.append("timeline (ms from the kill):")
        for event in timeline {
            let stamp = signed(event.ms)
            lines.append("  " + String(repeating: " ", count: max(0, 7 - stamp.count)) + stamp + "  " + event.text)
        }
        if ioErrors == nil && verifyFailures == nil {
            lines.append("result: watched only (no IO of its own)")
        } else {
            lines.append(passed ? "result: PASS (no IO error, no verify failure)"
                                : "result: FAIL (\(count(ioErrors)) IO error(s), \(count(verifyFailures)) verify failure(s))")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    private func signed(_ ms: Int) -> String { ms > 0 ? "+\(ms)" : "\(ms)" }

    private static func secondsText(_ seconds: Double) -> String {
        seconds == seconds.rounded() && abs(seconds) < 1e15 ? String(Int(seconds)) : String(seconds)
    }
}
