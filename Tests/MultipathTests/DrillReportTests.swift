import Foundation
import XCTest
@testable import Multipath

final class DrillBlockPatternTests: XCTestCase {
    private let run: UInt64 = 0x0123_4567_89AB_CDEF

    func testRandomKnownVectors() {
        // SplitMix64 reference outputs for seed 0.
        var random = DrillRandom(seed: 0)
        XCTAssertEqual(random.next(), 0xE220_A839_7B1D_CDAF)
        XCTAssertEqual(random.next(), 0x6E78_9E6A_A1B9_65F4)
        XCTAssertEqual(random.next(), 0x06C4_5D18_8009_454F)
    }

    func testSeedMixesEveryField() {
        XCTAssertEqual(DrillBlockPattern.seed(run: run, block: 42, generation: 7), 0x795A_144C_A137_65AC)
        XCTAssertNotEqual(DrillBlockPattern.seed(run: run, block: 42, generation: 8),
                          DrillBlockPattern.seed(run: run, block: 42, generation: 7))
        XCTAssertNotEqual(DrillBlockPattern.seed(run: run, block: 43, generation: 7),
                          DrillBlockPattern.seed(run: run, block: 42, generation: 7))
    }

    func testBlockBytesExactly() {
        let block = DrillBlockPattern.bytes(run: run, block: 42, generation: 7)
        XCTAssertEqual(block.count, 4096)
        // Reference bytes computed independently (Python) from the layout in the doc comment.
        XCTAssertEqual(hex(block[0..<48]),
                       "4d504452494c4c31" + "efcdab8967452301" + "2a00000000000000" + "0700000000000000"
                       + "482a42b5d7c71d00" + "4a1ee9ac1f4bdd72")
        XCTAssertEqual(hex(block[2000..<2008]), "815da9bb41df883d")
        XCTAssertEqual(hex(block[4080..<4096]), "75c08fa0f614d9c9362900e0ccb11c06")
        XCTAssertEqual(fnv1a(block), 0xE779_0767_7DD1_3E4C)
    }

    func testFillShortBufferIsPrefixOfBlock() {
        var short = [UInt8](repeating: 0xEE, count: 45)
        short.withUnsafeMutableBytes { DrillBlockPattern.fill($0, run: run, block: 42, generation: 7) }
        XCTAssertEqual(short, Array(DrillBlockPattern.bytes(run: run, block: 42, generation: 7).prefix(45)))
    }

    func testVerifyAcceptsTheWrittenBlock() {
        let block = DrillBlockPattern.bytes(run: run, block: 9, generation: 3)
        XCTAssertNil(block.withUnsafeBytes { DrillBlockPattern.verify($0, run: run, block: 9, generation: 3) })
    }

    func testVerifyFindsEveryFlippedByte() {
        let good = DrillBlockPattern.bytes(run: run, block: 9, generation: 3)
        for offset in [0, 7, 8, 31, 32, 33, 1000, 4095] {
            var bad = good
            bad[offset] ^= 0x01
            let mismatch = bad.withUnsafeBytes { DrillBlockPattern.verify($0, run: run, block: 9, generation: 3) }
            XCTAssertEqual(mismatch?.firstBadOffset, offset, "flip at \(offset)")
            XCTAssertEqual(mismatch?.block, 9)
        }
    }

    func testVerifyExplainsStaleMisplacedForeignAndMissing() {
        func check(_ bytes: [UInt8], _ expectedReason: String, file: StaticString = #filePath, line: UInt = #line) {
            let mismatch = bytes.withUnsafeBytes { DrillBlockPattern.verify($0, run: run, block: 9, generation: 3) }
            XCTAssertEqual(mismatch?.reason, expectedReason, file: file, line: line)
        }
        check(DrillBlockPattern.bytes(run: run, block: 9, generation: 2),
              "holds generation 2, expected 3 (a write was lost)")
        check(DrillBlockPattern.bytes(run: run, block: 9, generation: 4),
              "holds generation 4, expected 3 (unexpected newer write)")
        check(DrillBlockPattern.bytes(run: run, block: 10, generation: 3), "holds block 10 (misplaced write)")
        check(DrillBlockPattern.bytes(run: 5, block: 9, generation: 3), "holds a block of another run (0x0000000000000005)")
        check([UInt8](repeating: 0, count: 4096), "no drill header (bytes 00 00 00 00 00 00 00 00)")
        check([UInt8](repeating: 0, count: 512), "read 512 bytes, expected 4096")
        let stale = DrillBlockPattern.bytes(run: run, block: 9, generation: 2)
        let mismatch = stale.withUnsafeBytes { DrillBlockPattern.verify($0, run: run, block: 9, generation: 3) }
        XCTAssertEqual(mismatch?.foundGeneration, 2)
        XCTAssertEqual(mismatch?.firstBadOffset, 24)
        XCTAssertEqual(mismatch?.description, "block 9 (byte offset 36864): holds generation 2, expected 3 (a write was lost)")
    }

    private func hex<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        bytes.map { String(format: "%02x", $0) }.joined()
    }

    private func fnv1a(_ bytes: [UInt8]) -> UInt64 {
        bytes.reduce(0xCBF2_9CE4_8422_2325) { ($0 ^ UInt64($1)) &* 0x0000_0100_0000_01B3 }
    }
}

final class DrillAnalysisTests: XCTestCase {
    private let ms: UInt64 = 1_000_000

    private func io(_ start: UInt64, _ end: UInt64?, ok: Bool = true) -> DrillIORecord {
        DrillIORecord(start: start * ms, end: end.map { $0 * ms }, succeeded: ok)
    }

    private func sample(_ at: UInt64, _ paths: (String, Bool, UInt64)...) -> DrillStatusSample {
        DrillStatusSample(at: at * ms, paths: paths.map { DrillPathSample(name: $0.0, active: $0.1, ioCount: $0.2) })
    }

    // MARK: stalls

    func testLongestStallBetweenCompletions() {
        let ios = [io(0, 10), io(5, 20), io(15, 30), io(25, 700), io(690, 710), io(705, 720)]
        let stall = DrillAnalysis.longestStall(ios: ios, from: 100 * ms, to: 1000 * ms)
        XCTAssertEqual(stall, DrillStall(start: 30 * ms, end: 700 * ms), "the gap spanning the kill starts at the last completion before it")
    }

    func testStallIgnoresFailedCompletionsAndGapsOutsideTheWindow() {
        // A 500 ms gap before the window must not count; a failed IO is not progress.
        let ios = [io(0, 1), io(1, 501), io(501, 600), io(600, 650, ok: false), io(600, 900)]
        let stall = DrillAnalysis.longestStall(ios: ios, from: 550 * ms, to: 2000 * ms)
        XCTAssertEqual(stall, DrillStall(start: 600 * ms, end: 900 * ms))
    }

    func testOutstandingIOStallsUntilTheEnd() {
        let ios = [io(0, 10), io(10, 20), io(20, nil)]
        XCTAssertEqual(DrillAnalysis.longestStall(ios: ios, from: 15 * ms, to: 5000 * ms),
                       DrillStall(start: 20 * ms, end: 5000 * ms))
        XCTAssertEqual(DrillAnalysis.maxLatency(ios: ios, endAt: 5000 * ms), 4980 * ms)
    }

    func testNoCompletionAfterTheKillIsOneStall() {
        let ios = [io(0, 10), io(10, 40)]
        XCTAssertEqual(DrillAnalysis.longestStall(ios: ios, from: 50 * ms, to: 300 * ms),
                       DrillStall(start: 40 * ms, end: 300 * ms))
        XCTAssertNil(DrillAnalysis.longestStall(ios: ios, from: 300 * ms, to: 300 * ms))
    }

    func testMaxLatency() {
        XCTAssertEqual(DrillAnalysis.maxLatency(ios: [io(0, 3), io(1, 450), io(2, 9)], endAt: 0), 449 * ms)
        XCTAssertNil(DrillAnalysis.maxLatency(ios: [], endAt: 0))
    }

    func testCounterStallFromSamples() {
        let samples = [
            sample(0, ("p1", true, 10), ("p2", true, 10)),
            sample(50, ("p1", true, 20), ("p2", true, 20)),
            sample(100, ("p1", true, 25), ("p2", true, 20)),
            sample(150, ("p1", true, 25), ("p2", false, 20)),
            sample(200, ("p1", true, 25), ("p2", false, 20)),
            sample(250, ("p1", true, 40), ("p2", false, 20)),
            sample(300, ("p1", true, 50), ("p2", false, 20)),
        ]
        XCTAssertEqual(DrillAnalysis.longestCounterStall(samples: samples, from: 90 * ms, to: 300 * ms),
                       DrillStall(start: 100 * ms, end: 200 * ms))
        let idle = samples.map { DrillStatusSample(at: $0.at, paths: $0.paths.map { DrillPathSample(name: $0.name, active: $0.active, ioCount: 1) }) }
        XCTAssertNil(DrillAnalysis.longestCounterStall(samples: idle, from: 0, to: 300 * ms))
        // IO flowing in every interval: no stall visible at this resolution.
        let busy = samples.enumerated().map { i, s in DrillStatusSample(at: s.at, paths: [DrillPathSample(name: "p1", active: true, ioCount: UInt64(i))]) }
        XCTAssertEqual(DrillAnalysis.longestCounterStall(samples: busy, from: 90 * ms, to: 300 * ms),
                       DrillStall(start: 90 * ms, end: 90 * ms))
    }

    // MARK: detection, move, restore

    private var failoverSamples: [DrillStatusSample] {
        [
            sample(950, ("p1", true, 100), ("p2", true, 100)),
            sample(1000, ("p1", true, 110), ("p2", true, 110)),   // kill at 1000
            sample(1050, ("p1", true, 110), ("p2", true, 112)),   // IO in flight elsewhere… none on p1
            sample(1100, ("p1", true, 110), ("p2", true, 112)),
            sample(1400, ("p1", false, 110), ("p2", true, 112)),  // detected
            sample(1450, ("p1", false, 110), ("p2", true, 140)),  // moved
            sample(4000, ("p1", false, 110), ("p2", true, 900)),  // rules removed at 4000
            sample(4100, ("p1", false, 110), ("p2", true, 950)),
            sample(6200, ("p1", true, 110), ("p2", true, 1500)),  // active again
            sample(6250, ("p1", true, 110), ("p2", true, 1520)),
            sample(6300, ("p1", true, 118), ("p2", true, 1540)),  // carrying IO
        ]
    }

    func testDetectionIsFirstFailedSampleAfterTheKill() {
        XCTAssertEqual(DrillAnalysis.detection(samples: failoverSamples, path: "p1", killAt: 1000 * ms), 1400 * ms)
        XCTAssertNil(DrillAnalysis.detection(samples: failoverSamples, path: "p9", killAt: 1000 * ms))
    }

    func testMoveUsesTheOtherPathsCounterAndTheIOCompletions() {
        // p2 grew between 1000 and 1050: the first completion after the kill in that interval.
        let ios = [io(990, 999), io(995, 1003), io(1001, 1020)]
        XCTAssertEqual(DrillAnalysis.move(samples: failoverSamples, ios: ios, path: "p1", killAt: 1000 * ms), 1003 * ms)
        // Watch mode: the end of the first interval wholly after the kill with growth elsewhere.
        XCTAssertEqual(DrillAnalysis.move(samples: failoverSamples, ios: nil, path: "p1", killAt: 1000 * ms), 1050 * ms)
        XCTAssertEqual(DrillAnalysis.move(samples: failoverSamples, ios: nil, path: "p1", killAt: 1060 * ms), 1450 * ms)
    }

    func testMoveSkipsIntervalsWithoutACompletionAfterTheKill() {
        // p2's growth in (1000,1050] came from completions before the kill: look further.
        let ios = [io(990, 999), io(1400, 1420)]
        XCTAssertEqual(DrillAnalysis.move(samples: failoverSamples, ios: ios, path: "p1", killAt: 1000 * ms), 1420 * ms)
    }

    func testRestorationAndBackInUse() {
        let restored = DrillAnalysis.restoration(samples: failoverSamples, path: "p1", killAt: 1000 * ms, restoreAt: 4000 * ms)
        XCTAssertEqual(restored, 6200 * ms)
        XCTAssertEqual(DrillAnalysis.backInUse(samples: failoverSamples, path: "p1", restoredAt: 6200 * ms), 6300 * ms)
        // Never seen failed: nothing was restored.
        let healthy = failoverSamples.map { DrillStatusSample(at: $0.at, paths: $0.paths.map { DrillPathSample(name: $0.name, active: true, ioCount: $0.ioCount) }) }
        XCTAssertNil(DrillAnalysis.restoration(samples: healthy, path: "p1", killAt: 1000 * ms, restoreAt: 4000 * ms))
    }

    func testTransitions() {
        let events = DrillAnalysis.transitions(samples: failoverSamples)
        XCTAssertEqual(events, [DrillEvent(at: 1400 * ms, text: "p1 failed (status)"),
                                DrillEvent(at: 6200 * ms, text: "p1 active (status)")])
    }

    // MARK: report

    private func observations(ios: [DrillIORecord]?) -> DrillObservations {
        DrillObservations(map: "mpatha", path: "p1", mode: .blackhole, seconds: 3, killAt: 1000 * ms,
                          restoreAt: 4000 * ms, endAt: 6400 * ms, samples: failoverSamples, ios: ios,
                          blocksVerified: ios == nil ? nil : 1234, verifyFailures: ios == nil ? nil : 0,
                          events: [DrillEvent(at: 0, text: "IO load started")])
    }

    func testReportFigures() {
        let ios = [io(0, 999), io(995, 1003), io(1003, 1500), io(1500, 1504, ok: false), io(1500, 6390)]
        let report = DrillReport(analyzing: observations(ios: ios))
        XCTAssertEqual(report.detectMs, 400)
        XCTAssertEqual(report.moveMs, 3)
        XCTAssertEqual(report.longestStallMs, 4890)
        XCTAssertEqual(report.maxIOLatencyMs, 4890)
        XCTAssertEqual(report.ioErrors, 1)
        XCTAssertEqual(report.restoredMs, 2200)
        XCTAssertEqual(report.backInUseMs, 2300)
        XCTAssertFalse(report.passed)
        XCTAssertEqual(report.timeline.first?.ms, -1000)
        XCTAssertEqual(report.timeline.first?.text, "IO load started")
        XCTAssertEqual(report.timeline.last?.text, "drill ends")
        XCTAssertTrue(report.timeline.contains { $0.ms == 400 && $0.text == "p1 seen failed (detect)" })
        XCTAssertTrue(report.timeline.contains { $0.ms == 5200 && $0.text == "p1 active again (restored)" })
        // The status transitions of the cut path at those moments are not listed twice.
        XCTAssertFalse(report.timeline.contains { $0.text.hasSuffix("(status)") })
    }

    func testOutstandingIOCountsAsAnError() {
        let ios = [io(0, 999), io(995, 1003), io(1003, nil)]
        let report = DrillReport(analyzing: observations(ios: ios))
        XCTAssertEqual(report.ioErrors, 1)
        XCTAssertEqual(report.longestStallMs, 5397, "from the last completion (1003) to the end (6400)")
        XCTAssertEqual(report.maxIOLatencyMs, 5397)
        XCTAssertFalse(report.passed)
    }

    func testJSONShapeWithEveryKeyAndNulls() throws {
        let report = DrillReport(analyzing: observations(ios: nil))
        XCTAssertEqual(try report.jsonString(),
                       #"{"back_in_use_ms":2300,"blocks_verified":null,"detect_ms":400,"io_errors":null,"#
                       + #""longest_stall_ms":350,"map":"mpatha","max_io_latency_ms":null,"mode":"blackhole","#
                       + #""move_ms":50,"path":"p1","restored_ms":2200,"seconds":3,"verify_failures":null}"#)
        XCTAssertTrue(report.passed)
        let object = try JSONSerialization.jsonObject(with: Data(try report.jsonString().utf8)) as? [String: Any]
        XCTAssertEqual(object?.keys.sorted(), ["back_in_use_ms", "blocks_verified", "detect_ms", "io_errors", "longest_stall_ms",
                                               "map", "max_io_latency_ms", "mode", "move_ms", "path", "restored_ms",
                                               "seconds", "verify_failures"])
    }

    func testTextReport() {
        let ios = [io(0, 999), io(995, 1003), io(1003, 1500), io(1500, 6390)]
        let text = DrillReport(analyzing: observations(ios: ios)).text()
        XCTAssertTrue(text.hasPrefix("drill mpatha: p1 cut by blackhole for 3 s\n"), text)
        XCTAssertTrue(text.contains("  detect          400 ms    kill → p1 failed\n"), text)
        XCTAssertTrue(text.contains("no IO completed from +500 to +5390 ms"), text)
        XCTAssertTrue(text.contains("  -1000  IO load started\n"), text)
        XCTAssertTrue(text.hasSuffix("result: PASS (no IO error, no verify failure)\n"), text)
    }

    func testMillisecondsRounding() {
        XCTAssertEqual(DrillReport.milliseconds(1_499_999), 1)
        XCTAssertEqual(DrillReport.milliseconds(1_500_000), 2)
        XCTAssertEqual(DrillReport.milliseconds(-1_500_000), -2)
        XCTAssertEqual(DrillReport.milliseconds(0), 0)
    }
}
