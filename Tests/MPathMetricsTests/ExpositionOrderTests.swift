import XCTest
@testable import MPathMetrics

final class ExpositionOrderTests: XCTestCase {
    func testFamiliesAndSeriesSortedHistogramGroupsKept() {
        let input = """
            # HELP z_total z
            # TYPE z_total counter
            z_total{a="2"} 1
            z_total{a="1"} 2
            # HELP h h
            # TYPE h histogram
            h_bucket{p="b",le="1.0"} 1
            h_bucket{p="b",le="+Inf"} 1
            h_sum{p="b"} 0.5
            h_count{p="b"} 1
            h_bucket{p="a",le="1.0"} 0
            h_bucket{p="a",le="+Inf"} 2
            h_sum{p="a"} 4.0
            h_count{p="a"} 2
            # HELP g g
            # TYPE g gauge
            g 1.0

            """
        let expected = """
            # HELP g g
            # TYPE g gauge
            g 1.0
            # HELP h h
            # TYPE h histogram
            h_bucket{p="a",le="1.0"} 0
            h_bucket{p="a",le="+Inf"} 2
            h_sum{p="a"} 4.0
            h_count{p="a"} 2
            h_bucket{p="b",le="1.0"} 1
            h_bucket{p="b",le="+Inf"} 1
            h_sum{p="b"} 0.5
            h_count{p="b"} 1
            # HELP z_total z
            # TYPE z_total counter
            z_total{a="1"} 2
            z_total{a="2"} 1

            """
        XCTAssertEqual(ExpositionOrder.sorted(input), expected)
    }

    func testEmptyAndHeaderlessInput() {
        XCTAssertEqual(ExpositionOrder.sorted(""), "")
        XCTAssertEqual(ExpositionOrder.sorted("b 1\na 2\n"), "a 2\nb 1\n")
    }
}
