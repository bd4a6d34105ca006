import Logging
import NIOCore
import NIOPosix
import XCTest
@testable import MPathMetrics

final class MetricsEndpointTests: XCTestCase {
    private var group: MultiThreadedEventLoopGroup!
    private let logger = Logger(label: "MetricsEndpointTests")

    override func setUp() {
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    }

    override func tearDown() {
        try? group.syncShutdownGracefully()
        group = nil
    }

    private func sampleMetrics() -> DaemonMetrics {
        let metrics = DaemonMetrics()
        metrics.recordIO(path: "sdb", map: "mpatha", bytes: 4096, write: true)
        metrics.recordIO(path: "sdb", map: "mpatha", bytes: 4096, write: true)
        metrics.setMapPaths(map: "mpatha", active: 1, total: 2)
        metrics.observeNOPRoundTrip(path: "sdb", seconds: 0.0002)
        return metrics
    }

    private func get(_ target: String, port: Int, method: String = "GET", host: String = "127.0.0.1") throws -> RawHTTPClient.Response {
        var client = try RawHTTPClient(host: host, port: port)
        defer { client.close() }
        try client.send("\(method) \(target) HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        let response = try client.readResponse()
        XCTAssertTrue(try client.peerClosed(), "Connection: close must close")
        return response
    }

    func testServesMetrics() async throws {
        let metrics = sampleMetrics()
        let endpoint = try await MetricsEndpoint.start(port: 0, metrics: metrics, group: group, logger: logger)
        XCTAssertGreaterThan(endpoint.port, 0)
        XCTAssertEqual(endpoint.address, "127.0.0.1:\(endpoint.port)")

        let response = try get("/metrics", port: endpoint.port)
        XCTAssertEqual(response.statusLine, "HTTP/1.1 200 OK")
        XCTAssertEqual(response.headers["content-type"], "text/plain; version=0.0.4; charset=utf-8")
        XCTAssertEqual(response.body, metrics.render())
        let lines = response.body.split(separator: "\n").map(String.init)
        XCTAssertTrue(lines.contains(#"mpath_path_io_total{path="sdb",map="mpatha",direction="write"} 2"#))
        XCTAssertTrue(lines.contains(#"mpath_path_bytes_total{path="sdb",map="mpatha",direction="write"} 8192"#))
        XCTAssertTrue(lines.contains("# TYPE mpath_path_io_total counter"))
        XCTAssertTrue(lines.contains(#"mpath_map_paths_active{map="mpatha"} 1.0"#))
        XCTAssertTrue(lines.contains("# TYPE mpath_map_paths_active gauge"))
        XCTAssertTrue(lines.contains(#"mpath_path_nop_rtt_seconds_bucket{path="sdb",le="0.0001"} 0"#))
        XCTAssertTrue(lines.contains(#"mpath_path_nop_rtt_seconds_bucket{path="sdb",le="0.00025"} 1"#))
        XCTAssertTrue(lines.contains(#"mpath_path_nop_rtt_seconds_bucket{path="sdb",le="+Inf"} 1"#))

        // A query string is still /metrics; later scrapes see new counts.
        metrics.recordIO(path: "sdb", map: "mpatha", bytes: 4096, write: true)
        let second = try get("/metrics?x=1", port: endpoint.port)
        XCTAssertTrue(second.body.contains(#"mpath_path_io_total{path="sdb",map="mpatha",direction="write"} 3"#))
        await endpoint.close()
    }

    func testNotFoundAndMethodNotAllowed() async throws {
        let endpoint = try await MetricsEndpoint.start(port: 0, metrics: sampleMetrics(), group: group, logger: logger)
        let missing = try get("/", port: endpoint.port)
        XCTAssertEqual(missing.statusLine, "HTTP/1.1 404 Not Found")
        XCTAssertEqual(missing.body, "not found; metrics are at /metrics\n")
        XCTAssertEqual(try get("/metricsx", port: endpoint.port).statusLine, "HTTP/1.1 404 Not Found")

        for method in ["POST", "PUT", "DELETE", "HEAD"] {
            var client = try RawHTTPClient(port: endpoint.port)
            try client.send("\(method) /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            let response = try client.readResponse(hasBody: method != "HEAD")
            XCTAssertTrue(try client.peerClosed(), method)
            client.close()
            XCTAssertEqual(response.statusLine, "HTTP/1.1 405 Method Not Allowed", method)
            XCTAssertEqual(response.headers["allow"], "GET", method)
        }
        await endpoint.close()
    }

    func testKeepAliveServesSeveralRequestsOnOneConnection() async throws {
        let endpoint = try await MetricsEndpoint.start(port: 0, metrics: sampleMetrics(), group: group, logger: logger)
        var client = try RawHTTPClient(port: endpoint.port)
        defer { client.close() }
        // Pipelined: the second request closes the connection.
        try client.send("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\nGET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        XCTAssertEqual(try client.readResponse().statusLine, "HTTP/1.1 200 OK")
        XCTAssertEqual(try client.readResponse().statusLine, "HTTP/1.1 404 Not Found")
        XCTAssertTrue(try client.peerClosed())
        await endpoint.close()
    }

    func testCloseStopsListeningAndEndsIdleConnections() async throws {
        let endpoint = try await MetricsEndpoint.start(port: 0, metrics: sampleMetrics(), group: group, logger: logger)
        var idle = try RawHTTPClient(port: endpoint.port)
        defer { idle.close() }
        try idle.send("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        XCTAssertEqual(try idle.readResponse().statusLine, "HTTP/1.1 200 OK")

        await endpoint.close()
        await endpoint.close()  // idempotent
        XCTAssertTrue(try idle.peerClosed())
        XCTAssertThrowsError(try RawHTTPClient(port: endpoint.port))
    }

    func testIdleConnectionIsClosed() async throws {
        let endpoint = try await MetricsEndpoint.start(
            host: "127.0.0.1", port: 0, metrics: sampleMetrics(), group: group, logger: logger,
            idleTimeout: .milliseconds(200))
        var client = try RawHTTPClient(port: endpoint.port)
        defer { client.close() }
        try client.send("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        XCTAssertEqual(try client.readResponse().statusLine, "HTTP/1.1 200 OK")
        // No second request: the server hangs up well before the client's 5 s receive timeout.
        XCTAssertTrue(try client.peerClosed())
        await endpoint.close()
    }

    func testOtherLoopbackAddressWorks() async throws {
        let endpoint = try await MetricsEndpoint.start(host: "127.0.0.2", port: 0, metrics: sampleMetrics(), group: group, logger: logger)
        XCTAssertEqual(try get("/metrics", port: endpoint.port, host: "127.0.0.2").statusLine, "HTTP/1.1 200 OK")
        await endpoint.close()
    }

    func testNonLoopbackIsRefused() async {
        for host in ["0.0.0.0", "10.1.2.3", "192.168.0.1", "::", "fe80::1", "::ffff:127.0.0.1", "localhost", "", "127.0.0.1.5"] {
            do {
                let endpoint = try await MetricsEndpoint.start(host: host, port: 0, metrics: DaemonMetrics(), group: group, logger: logger)
                await endpoint.close()
                XCTFail("\(host) was accepted")
            } catch let error as MetricsEndpointError {
                XCTAssertEqual(error, .notLoopback(host: host))
            } catch {
                XCTFail("\(host): unexpected \(error)")
            }
        }
        XCTAssertEqual(
            MetricsEndpointError.notLoopback(host: "0.0.0.0").description,
            "metrics endpoint must listen on loopback, not 0.0.0.0 (use 127.0.0.1 or ::1)")
    }

    func testLoopbackValidation() throws {
        for host in ["127.0.0.1", "127.255.255.254", "::1", "[::1]", "0:0:0:0:0:0:0:1"] {
            XCTAssertNoThrow(try LoopbackAddress.socketAddress(host: host, port: 9_100), host)
        }
        XCTAssertThrowsError(try LoopbackAddress.socketAddress(host: "127.0.0.1", port: 70_000)) { error in
            XCTAssertEqual(error as? MetricsEndpointError, .invalidPort(70_000))
            XCTAssertEqual("\(error)", "metrics port must be 0…65535, not 70000")
        }
        XCTAssertThrowsError(try LoopbackAddress.socketAddress(host: "127.0.0.1", port: -1))
    }

    func testPortInUseIsAClearError() async throws {
        let first = try await MetricsEndpoint.start(port: 0, metrics: DaemonMetrics(), group: group, logger: logger)
        do {
            let second = try await MetricsEndpoint.start(port: first.port, metrics: DaemonMetrics(), group: group, logger: logger)
            await second.close()
            XCTFail("second bind on \(first.port) succeeded")
        } catch let error as MetricsEndpointError {
            guard case .bindFailed(let address, _) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(address, "127.0.0.1:\(first.port)")
            XCTAssertTrue("\(error)".hasPrefix("metrics endpoint cannot listen on 127.0.0.1:\(first.port): "), "\(error)")
        }
        await first.close()
    }
}
