import XCTest
@testable import Multipath

final class PathSelectorTests: XCTestCase {
    private func picks<S: PathSelector>(_ selector: inout S, _ candidates: [Int], count: Int) -> [Int?] {
        (0..<count).map { _ in selector.select(from: candidates, bytes: 4096) }
    }

    func testRoundRobinAlternatesWithRepeatOne() {
        var rr = RoundRobinSelector(repeatCount: 1)
        XCTAssertEqual(picks(&rr, [0, 1], count: 6), [0, 1, 0, 1, 0, 1])
        XCTAssertEqual(rr.name, "round-robin")
    }

    func testRoundRobinRepeatCount() {
        var rr = RoundRobinSelector(repeatCount: 3)
        XCTAssertEqual(picks(&rr, [0, 1], count: 7), [0, 0, 0, 1, 1, 1, 0])
    }

    func testRoundRobinPerPathRepeatFromTableArgs() throws {
        var rr = RoundRobinSelector()
        try rr.addPath(0, args: ["2"])
        try rr.addPath(1, args: [])
        XCTAssertEqual(picks(&rr, [0, 1], count: 6), [0, 0, 1, 0, 0, 1])
    }

    func testRoundRobinSkipsUnusablePathsAndRestartsTurn() {
        var rr = RoundRobinSelector(repeatCount: 3)
        XCTAssertEqual(rr.select(from: [0, 1, 2], bytes: 512), 0)
        // Path 0 fails mid-turn: the next usable path starts a fresh turn.
        XCTAssertEqual(picks(&rr, [1, 2], count: 4), [1, 1, 1, 2])
        XCTAssertEqual(picks(&rr, [0, 2], count: 3), [2, 2, 0])
        XCTAssertNil(rr.select(from: [], bytes: 512))
        XCTAssertNil(rr.select(from: [-1], bytes: 512))
    }

    func testQueueLengthPrefersIdlePath() {
        var ql = QueueLengthSelector()
        ql.started(path: 0, bytes: 4096)
        ql.started(path: 0, bytes: 4096)
        XCTAssertEqual(ql.select(from: [0, 1], bytes: 4096), 1)
        ql.started(path: 1, bytes: 4096)
        ql.started(path: 1, bytes: 4096)
        ql.started(path: 1, bytes: 4096)
        XCTAssertEqual(ql.inFlight(path: 1), 3)
        XCTAssertEqual(ql.select(from: [0, 1], bytes: 4096), 0)
        ql.completed(path: 1, bytes: 4096, latencyNanos: 100_000)
        ql.completed(path: 1, bytes: 4096, latencyNanos: 100_000)
        XCTAssertEqual(ql.select(from: [0, 1], bytes: 4096), 1)
        // Completions never drive a count below zero.
        for _ in 0..<5 { ql.completed(path: 1, bytes: 4096, latencyNanos: 1) }
        XCTAssertEqual(ql.inFlight(path: 1), 0)
    }

    func testQueueLengthTiesRotateLikeTheKernelList() {
        var ql = QueueLengthSelector()
        XCTAssertEqual(picks(&ql, [0, 1, 2], count: 6), [0, 1, 2, 0, 1, 2])
    }

    func testServiceTimeEqualLoadPrefersHigherThroughput() throws {
        var st = ServiceTimeSelector()
        try st.addPath(0, args: ["1", "1"])
        try st.addPath(1, args: ["1", "4"])
        XCTAssertEqual(st.select(from: [0, 1], bytes: 4096), 1)
        // 4 KiB on the 4× path (service time 8192/4) still beats the idle 1× path (4096/1).
        st.started(path: 1, bytes: 4096)
        XCTAssertEqual(st.select(from: [0, 1], bytes: 4096), 1)
        // 12 KiB on the 4× path: (12288+4096)/4 = 4096 ties with 4096/1; higher throughput wins.
        st.started(path: 1, bytes: 8192)
        XCTAssertEqual(st.select(from: [0, 1], bytes: 4096), 1)
        st.started(path: 1, bytes: 4096)
        XCTAssertEqual(st.select(from: [0, 1], bytes: 4096), 0)
        XCTAssertEqual(st.inFlightBytes(path: 1), 16384)
    }

    func testServiceTimeZeroThroughputOnlyWhenAlone() throws {
        var st = ServiceTimeSelector()
        try st.addPath(0, args: ["1", "0"])
        try st.addPath(1, args: ["1", "1"])
        st.started(path: 1, bytes: 1 << 30)
        XCTAssertEqual(st.select(from: [0, 1], bytes: 4096), 1)
        XCTAssertEqual(st.select(from: [0], bytes: 4096), 0)
    }

    func testServiceTimeEqualThroughputPrefersFewerBytes() {
        var st = ServiceTimeSelector()
        st.started(path: 0, bytes: 65536)
        st.started(path: 1, bytes: 4096)
        XCTAssertEqual(st.select(from: [0, 1], bytes: 4096), 1)
        st.completed(path: 0, bytes: 65536, latencyNanos: 1_000_000)
        XCTAssertEqual(st.select(from: [0, 1], bytes: 4096), 0)
    }

    /// Discrete simulation: one 4 KiB IO per tick; path 0 completes after 1 tick, path 1 after
    /// 4 ticks. Returns how many IOs each path got.
    private func simulate<S: PathSelector>(_ selector: inout S, ticks: Int) -> [Int] {
        let latency = [1, 4]
        var due: [(tick: Int, path: Int)] = []
        var counts = [0, 0]
        for tick in 0..<ticks {
            for io in due where io.tick <= tick {
                selector.completed(path: io.path, bytes: 4096, latencyNanos: UInt64(latency[io.path]) * 1_000_000)
            }
            due.removeAll { $0.tick <= tick }
            guard let path = selector.select(from: [0, 1], bytes: 4096) else { continue }
            selector.started(path: path, bytes: 4096)
            due.append((tick + latency[path], path))
            counts[path] += 1
        }
        return counts
    }

    func testServiceTimeAndQueueLengthSendMoreIOToTheFasterPath() {
        var st = ServiceTimeSelector()
        let stCounts = simulate(&st, ticks: 1000)
        XCTAssertGreaterThan(stCounts[0], 700, "\(stCounts)")
        var ql = QueueLengthSelector()
        let qlCounts = simulate(&ql, ticks: 1000)
        XCTAssertGreaterThan(qlCounts[0], 700, "\(qlCounts)")
        var rr = RoundRobinSelector()
        XCTAssertEqual(simulate(&rr, ticks: 1000), [500, 500])
    }

    func testAddPathErrors() {
        var st = ServiceTimeSelector()
        XCTAssertThrowsError(try st.addPath(0, args: ["1", "101"])) { error in
            XCTAssertEqual((error as? PathSelectorError)?.message,
                           "service-time: invalid relative_throughput '101', expected 0...100")
        }
        XCTAssertThrowsError(try st.addPath(0, args: ["1", "2", "3"])) { error in
            XCTAssertEqual((error as? PathSelectorError)?.message, "service-time: at most 2 path args, found 3")
        }
        var rr = RoundRobinSelector()
        XCTAssertThrowsError(try rr.addPath(0, args: ["x"])) { error in
            XCTAssertEqual((error as? PathSelectorError)?.message, "round-robin: invalid repeat count 'x'")
        }
        var ql = QueueLengthSelector()
        XCTAssertThrowsError(try ql.addPath(1024, args: [])) { error in
            XCTAssertEqual((error as? PathSelectorError)?.message, "queue-length: path index 1024 out of range 0..<1024")
        }
    }

    func testOutOfRangeIndicesAreIgnoredNotTrapped() {
        var ql = QueueLengthSelector()
        ql.started(path: -3, bytes: 1)
        ql.started(path: 5000, bytes: 1)
        ql.completed(path: 5000, bytes: 1, latencyNanos: 1)
        XCTAssertEqual(ql.inFlight(path: 5000), 0)
        XCTAssertEqual(ql.select(from: [5000, -1], bytes: 1), 5000)
        var st = ServiceTimeSelector()
        st.started(path: 0, bytes: Int.max)
        st.started(path: 0, bytes: Int.max)
        XCTAssertEqual(st.inFlightBytes(path: 0), Int.max)
        XCTAssertEqual(st.select(from: [0, 1], bytes: Int.max), 1)
    }

    func testMakeSelector() throws {
        XCTAssertEqual(try makeSelector("service-time 0").name, "service-time")
        XCTAssertEqual(try makeSelector("queue-length 0").name, "queue-length")
        XCTAssertEqual(try makeSelector("queue-length").name, "queue-length")
        var rr = try makeSelector(" round-robin 0 ", repeatCount: 2)
        XCTAssertEqual(rr.name, "round-robin")
        XCTAssertEqual([0, 1, 2, 3].map { _ in rr.select(from: [0, 1], bytes: 1) }, [0, 0, 1, 1])
        let errors: [(String, String)] = [
            ("", "path selector: empty specification"),
            ("historical-service-time 0",
             "path selector: unknown selector 'historical-service-time', expected round-robin, queue-length or service-time"),
            ("service-time 1", "path selector: 'service-time' declares 1 args, found 0"),
            ("service-time x", "path selector: expected argument count after 'service-time', found 'x'"),
            ("service-time 1 a", "path selector: 'service-time' takes no selector args, found 1"),
        ]
        for (spec, message) in errors {
            XCTAssertThrowsError(try makeSelector(spec)) { error in
                XCTAssertEqual((error as? PathSelectorError)?.message, message, spec)
            }
        }
    }
}
