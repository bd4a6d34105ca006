import XCTest
@testable import MPathMetrics

final class DaemonMetricsTests: XCTestCase {
    private func lines(_ metrics: DaemonMetrics) -> [String] {
        metrics.render().split(separator: "\n").map(String.init)
    }

    func testFullExpositionIsExactAndSorted() {
        let metrics = DaemonMetrics(wallClock: { 1_700_000_000.5 })
        metrics.setPathState(path: "sdb", map: "mpatha", active: true)
        metrics.recordIO(path: "sdb", map: "mpatha", bytes: 4096, write: false)
        metrics.recordIO(path: "sdb", map: "mpatha", bytes: 4096, write: false)
        metrics.recordIO(path: "sdb", map: "mpatha", bytes: 512, write: true)
        metrics.recordIOError(path: "sdb", map: "mpatha")
        metrics.setMapState(map: "mpatha", state: "degraded")
        metrics.setMapPaths(map: "mpatha", active: 1, total: 2)
        metrics.recordRetry(map: "mpatha")
        metrics.recordFailover(map: "mpatha", from: "sdc", to: "sdb")

        let expected = """
            # HELP mpath_map_failovers_total Times the map switched IO to another path group (failover, or failback).
            # TYPE mpath_map_failovers_total counter
            mpath_map_failovers_total{map="mpatha"} 1
            # HELP mpath_map_health Map health: 0 healthy (all paths active), 1 degraded (some paths failed), 2 down (no usable path).
            # TYPE mpath_map_health gauge
            mpath_map_health{map="mpatha"} 1.0
            # HELP mpath_map_last_failover_timestamp_seconds Unix time of the map's most recent failover, 0 if none since the daemon started.
            # TYPE mpath_map_last_failover_timestamp_seconds gauge
            mpath_map_last_failover_timestamp_seconds{map="mpatha"} 1700000000.5
            # HELP mpath_map_paths Paths the map has, active or failed.
            # TYPE mpath_map_paths gauge
            mpath_map_paths{map="mpatha"} 2.0
            # HELP mpath_map_paths_active Paths of the map that are active.
            # TYPE mpath_map_paths_active gauge
            mpath_map_paths_active{map="mpatha"} 1.0
            # HELP mpath_map_retries_total IOs on the map resubmitted after a path error.
            # TYPE mpath_map_retries_total counter
            mpath_map_retries_total{map="mpatha"} 1
            # HELP mpath_map_state Map state: 1 for the current state (healthy, degraded or down), 0 for the others.
            # TYPE mpath_map_state gauge
            mpath_map_state{map="mpatha",state="degraded"} 1.0
            mpath_map_state{map="mpatha",state="down"} 0.0
            mpath_map_state{map="mpatha",state="healthy"} 0.0
            # HELP mpath_path_active 1 when the path is active (usable for IO) in its map, 0 when it is failed.
            # TYPE mpath_path_active gauge
            mpath_path_active{path="sdb",map="mpatha"} 1.0
            # HELP mpath_path_bytes_total Bytes read and written on the path.
            # TYPE mpath_path_bytes_total counter
            mpath_path_bytes_total{path="sdb",map="mpatha",direction="read"} 8192
            mpath_path_bytes_total{path="sdb",map="mpatha",direction="write"} 512
            # HELP mpath_path_io_errors_total IOs that failed on the path (transport or path-level SCSI errors).
            # TYPE mpath_path_io_errors_total counter
            mpath_path_io_errors_total{path="sdb",map="mpatha"} 1
            # HELP mpath_path_io_total SCSI read and write commands completed on the path.
            # TYPE mpath_path_io_total counter
            mpath_path_io_total{path="sdb",map="mpatha",direction="read"} 2
            mpath_path_io_total{path="sdb",map="mpatha",direction="write"} 1

            """
        XCTAssertEqual(metrics.render(), expected)
    }

    func testNOPHistogramBucketsAreCumulativeWithExactBounds() {
        let metrics = DaemonMetrics()
        metrics.observeNOPRoundTrip(path: "sdb", seconds: 0.00005)  // on the first bound: counts in it
        metrics.observeNOPRoundTrip(path: "sdb", seconds: 0.003)
        metrics.observeNOPRoundTrip(path: "sdb", seconds: 7)  // beyond 5 s: +Inf only
        let histogram = lines(metrics).filter { $0.hasPrefix("mpath_path_nop_rtt_seconds") }
        XCTAssertEqual(histogram, [
            #"mpath_path_nop_rtt_seconds_bucket{path="sdb",le="0.00005"} 1"#,
            #"mpath_path_nop_rtt_seconds_bucket{path="sdb",le="0.0001"} 1"#,
            #"mpath_path_nop_rtt_seconds_bucket{path="sdb",le="0.00025"} 1"#,
            #"mpath_path_nop_rtt_seconds_bucket{path="sdb",le="0.0005"} 1"#,
            #"mpath_path_nop_rtt_seconds_bucket{path="sdb",le="0.001"} 1"#,
            #"mpath_path_nop_rtt_seconds_bucket{path="sdb",le="0.0025"} 1"#,
            #"mpath_path_nop_rtt_seconds_bucket{path="sdb",le="0.005"} 2"#,
            #"mpath_path_nop_rtt_seconds_bucket{path="sdb",le="0.01"} 2"#,
            #"mpath_path_nop_rtt_seconds_bucket{path="sdb",le="0.025"} 2"#,
            #"mpath_path_nop_rtt_seconds_bucket{path="sdb",le="0.05"} 2"#,
            #"mpath_path_nop_rtt_seconds_bucket{path="sdb",le="0.1"} 2"#,
            #"mpath_path_nop_rtt_seconds_bucket{path="sdb",le="0.25"} 2"#,
            #"mpath_path_nop_rtt_seconds_bucket{path="sdb",le="0.5"} 2"#,
            #"mpath_path_nop_rtt_seconds_bucket{path="sdb",le="1.0"} 2"#,
            #"mpath_path_nop_rtt_seconds_bucket{path="sdb",le="2.5"} 2"#,
            #"mpath_path_nop_rtt_seconds_bucket{path="sdb",le="5.0"} 2"#,
            #"mpath_path_nop_rtt_seconds_bucket{path="sdb",le="+Inf"} 3"#,
            #"mpath_path_nop_rtt_seconds_sum{path="sdb"} 7.00305"#,
            #"mpath_path_nop_rtt_seconds_count{path="sdb"} 3"#,
        ])
    }

    func testBadNumbersAreDroppedNotTrapped() {
        let metrics = DaemonMetrics()
        metrics.observeNOPRoundTrip(path: "sdb", seconds: -1)
        metrics.observeNOPRoundTrip(path: "sdb", seconds: .nan)
        metrics.observeNOPRoundTrip(path: "sdb", seconds: .infinity)
        XCTAssertFalse(metrics.render().contains("mpath_path_nop_rtt_seconds"))
        metrics.observeNOPRoundTrip(path: "sdb", seconds: 1e300)  // clamped, still counted
        XCTAssertTrue(lines(metrics).contains(#"mpath_path_nop_rtt_seconds_count{path="sdb"} 1"#))

        metrics.recordIO(path: "sdb", map: "m", bytes: -5, write: true)
        XCTAssertTrue(lines(metrics).contains(#"mpath_path_io_total{path="sdb",map="m",direction="write"} 1"#))
        XCTAssertTrue(lines(metrics).contains(#"mpath_path_bytes_total{path="sdb",map="m",direction="write"} 0"#))
    }

    func testCheckerStateKeepsOneCurrentState() {
        let metrics = DaemonMetrics()
        metrics.setPathChecker(path: "sdb", state: "ready")
        metrics.setPathChecker(path: "sdb", state: "shaky")
        XCTAssertEqual(lines(metrics).filter { $0.hasPrefix("mpath_path_checker_state{") }, [
            #"mpath_path_checker_state{path="sdb",state="faulty"} 0.0"#,
            #"mpath_path_checker_state{path="sdb",state="ready"} 0.0"#,
            #"mpath_path_checker_state{path="sdb",state="shaky"} 1.0"#,
        ])
        // An unforeseen state still gets a series instead of being lost.
        metrics.setPathChecker(path: "sdb", state: "ghost")
        XCTAssertTrue(lines(metrics).contains(#"mpath_path_checker_state{path="sdb",state="ghost"} 1.0"#))
        XCTAssertTrue(lines(metrics).contains(#"mpath_path_checker_state{path="sdb",state="shaky"} 0.0"#))
    }

    func testMapHealthNumbers() {
        let metrics = DaemonMetrics()
        for (state, value) in [("healthy", "0.0"), ("degraded", "1.0"), ("down", "2.0"), ("confused", "2.0")] {
            metrics.setMapState(map: "m", state: state)
            XCTAssertTrue(lines(metrics).contains(#"mpath_map_health{map="m"} "# + value), state)
            XCTAssertTrue(lines(metrics).contains(#"mpath_map_state{map="m",state="\#(state)"} 1.0"#), state)
        }
        XCTAssertEqual(lines(metrics).filter { $0.hasPrefix("mpath_map_state{") && $0.hasSuffix(" 1.0") }.count, 1)
    }

    func testPathStateFollowsMapChange() {
        let metrics = DaemonMetrics()
        metrics.setPathState(path: "sdb", map: "old", active: true)
        metrics.setPathState(path: "sdb", map: "new", active: false)
        let active = lines(metrics).filter { $0.hasPrefix("mpath_path_active{") }
        XCTAssertEqual(active, [#"mpath_path_active{path="sdb",map="new"} 0.0"#])
        // The IO counters exist (at zero) as soon as the path is known.
        XCTAssertTrue(lines(metrics).contains(#"mpath_path_io_total{path="sdb",map="new",direction="read"} 0"#))
    }

    func testRemovePathMakesItsSeriesDisappear() {
        let metrics = DaemonMetrics()
        for path in ["sdb", "sdc"] {
            metrics.setPathState(path: path, map: "mpatha", active: true)
            metrics.setPathChecker(path: path, state: "ready")
            metrics.observeNOPRoundTrip(path: path, seconds: 0.001)
            metrics.recordIO(path: path, map: "mpatha", bytes: 4096, write: true)
            metrics.recordIOError(path: path, map: "mpatha")
        }
        metrics.removePath(path: "sdb")
        let text = metrics.render()
        XCTAssertFalse(text.contains(#"path="sdb""#), text)
        XCTAssertTrue(text.contains(#"mpath_path_io_total{path="sdc",map="mpatha",direction="write"} 1"#))
        XCTAssertTrue(text.contains(#"mpath_path_nop_rtt_seconds_count{path="sdc"} 1"#))

        // Coming back starts from zero, which Prometheus treats as a counter reset.
        metrics.recordIO(path: "sdb", map: "mpatha", bytes: 4096, write: true)
        XCTAssertTrue(lines(metrics).contains(#"mpath_path_io_total{path="sdb",map="mpatha",direction="write"} 1"#))
    }

    func testRemovingTheLastSeriesRemovesTheFamily() {
        let metrics = DaemonMetrics()
        metrics.observeNOPRoundTrip(path: "sdb", seconds: 0.001)
        metrics.removePath(path: "sdb")
        XCTAssertEqual(metrics.render(), "")
    }

    func testRemoveMapDropsMapAndPathMapSeries() {
        let metrics = DaemonMetrics()
        metrics.setMapState(map: "mpatha", state: "healthy")
        metrics.setMapPaths(map: "mpatha", active: 2, total: 2)
        metrics.recordRetry(map: "mpatha")
        metrics.recordFailover(map: "mpatha", from: "sdb", to: "sdc")
        metrics.setPathState(path: "sdb", map: "mpatha", active: true)
        metrics.recordIO(path: "sdb", map: "mpatha", bytes: 1, write: false)
        metrics.setPathChecker(path: "sdb", state: "ready")
        metrics.setMapState(map: "mpathb", state: "down")

        metrics.removeMap(map: "mpatha")
        let text = metrics.render()
        XCTAssertFalse(text.contains(#"map="mpatha""#), text)
        XCTAssertTrue(text.contains(#"mpath_map_health{map="mpathb"} 2.0"#))
        // Checker series are per path, not per map: removePath's job.
        XCTAssertTrue(text.contains(#"mpath_path_checker_state{path="sdb",state="ready"} 1.0"#))
    }

    func testLabelValuesAreEscaped() {
        let metrics = DaemonMetrics()
        metrics.recordRetry(map: "we\"ird\\map")
        XCTAssertTrue(lines(metrics).contains(#"mpath_map_retries_total{map="we\"ird\\map"} 1"#))
    }

    func testSwiftMetricsFactoryAvoidsOurNames() {
        let metrics = DaemonMetrics()
        metrics.recordRetry(map: "m")
        let factory = metrics.metricsFactory
        let clash = factory.makeCounter(label: "mpath_map_retries_total", dimensions: [])
        clash.increment(by: 3)
        let other = factory.makeCounter(label: "nio_things_total", dimensions: [("kind", "x")])
        other.increment(by: 2)
        let all = lines(metrics)
        XCTAssertTrue(all.contains(#"mpath_map_retries_total{map="m"} 1"#))
        XCTAssertTrue(all.contains("swift_metrics_mpath_map_retries_total 3"))
        XCTAssertTrue(all.contains(#"nio_things_total{kind="x"} 2"#))
    }

    /// Several threads recording IO on shared and fresh paths at once, with scrapes and
    /// checker updates in between: no count may be lost.
    func testConcurrentRecordingLosesNoCounts() {
        let metrics = DaemonMetrics()
        let threads = 8
        let iterations = 20_000
        let paths = ["p0", "p1", "p2", "p3"]
        let done = DispatchGroup()
        for t in 0..<threads {
            done.enter()
            let thread = Thread {
                for i in 0..<iterations {
                    let path = paths[(i + t) % paths.count]
                    metrics.recordIO(path: path, map: "m", bytes: 512, write: i % 2 == 0)
                    if i % 1_000 == 0 {
                        metrics.recordIOError(path: "t\(t)", map: "m")  // new series under contention
                        metrics.setPathChecker(path: path, state: i % 2000 == 0 ? "ready" : "shaky")
                        _ = metrics.render()
                    }
                }
                done.leave()
            }
            thread.start()
        }
        XCTAssertEqual(done.wait(timeout: .now() + 120), .success)

        let all = lines(metrics)
        // Thread t sends iteration i to path (i+t)%4 and writes when i is even: every path gets
        // the same number of each direction, summed over all threads.
        var writesPerPath = [String: Int]()
        var readsPerPath = [String: Int]()
        for t in 0..<threads {
            for i in 0..<iterations {
                let path = paths[(i + t) % paths.count]
                if i % 2 == 0 { writesPerPath[path, default: 0] += 1 } else { readsPerPath[path, default: 0] += 1 }
            }
        }
        for path in paths {
            let writes = writesPerPath[path] ?? -1
            let reads = readsPerPath[path] ?? -1
            XCTAssertTrue(all.contains(#"mpath_path_io_total{path="\#(path)",map="m",direction="write"} \#(writes)"#), path)
            XCTAssertTrue(all.contains(#"mpath_path_io_total{path="\#(path)",map="m",direction="read"} \#(reads)"#), path)
            XCTAssertTrue(all.contains(#"mpath_path_bytes_total{path="\#(path)",map="m",direction="write"} \#(writes * 512)"#), path)
        }
        for t in 0..<threads {
            XCTAssertTrue(all.contains(#"mpath_path_io_errors_total{path="t\#(t)",map="m"} \#(iterations / 1_000)"#))
        }
    }
}
