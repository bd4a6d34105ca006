import Logging
import NIOCore
import NIOHTTP1
import NIOPosix

/// The loopback HTTP/1.1 server that serves `GET /metrics`. Off unless multipath.conf sets
/// `defaults { metrics_port N }` to a non-zero port; the daemon starts and closes it.
public final class MetricsEndpoint: Sendable {
    /// The port actually bound (differs from the requested one when that was 0).
    public let port: Int
    /// The address actually bound, e.g. `127.0.0.1:9521`.
    public let address: String
    private let serverChannel: any Channel
    private let connections: ConnectionSet
    private let logger: Logger

    private init(serverChannel: any Channel, port: Int, address: String, connections: ConnectionSet, logger: Logger) {
        self.serverChannel = serverChannel
        self.port = port
        self.address = address
        self.connections = connections
        self.logger = logger
    }

    /// Binds `host:port` and starts answering. `host` must be a numeric loopback address
    /// (127.0.0.0/8 or ::1); anything else throws `MetricsEndpointError.notLoopback`.
    /// `port` 0 picks a free port; read it back from `port`.
    public static func start(
        host: String = "127.0.0.1", port: Int, metrics: DaemonMetrics, group: any EventLoopGroup, logger: Logger
    ) async throws -> MetricsEndpoint {
        try await start(host: host, port: port, metrics: metrics, group: group, logger: logger, idleTimeout: idleTimeout)
    }

    /// A keep-alive connection with no request for this long is closed, so a stuck local
    /// client cannot hold sockets forever; scrapers reconnect transparently.
    static let idleTimeout = TimeAmount.minutes(5)

    static func start(
        host: String, port: Int, metrics: DaemonMetrics, group: any EventLoopGroup, logger: Logger,
        idleTimeout: TimeAmount
    ) async throws -> MetricsEndpoint {
        let socketAddress = try LoopbackAddress.socketAddress(host: host, port: port)
        let connections = ConnectionSet()
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 32)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                guard connections.insert(channel) else {
                    // Accepted while closing: refuse it rather than leak it past close().
                    return channel.close()
                }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(IdleStateHandler(readTimeout: idleTimeout))
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(MetricsHTTPHandler(metrics: metrics))
                }
            }
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)

        let channel: any Channel
        do {
            channel = try await bootstrap.bind(to: socketAddress).get()
        } catch {
            throw MetricsEndpointError.bindFailed(address: describe(socketAddress, port: port), reason: "\(error)")
        }
        let boundPort = channel.localAddress?.port ?? port
        let bound = describe(socketAddress, port: boundPort)
        logger.info("metrics endpoint listening", metadata: ["address": "\(bound)", "path": "/metrics"])
        return MetricsEndpoint(serverChannel: channel, port: boundPort, address: bound, connections: connections, logger: logger)
    }

    /// Stops listening and closes open scrape connections. Safe to call more than once.
    public func close() async {
        guard connections.closeAll() else { return }
        do {
            try await serverChannel.close()
        } catch ChannelError.alreadyClosed {
            // Closed underneath us (event loop shutting down): nothing left to do.
        } catch {
            logger.warning("closing metrics endpoint failed", metadata: ["error": "\(error)"])
        }
        logger.info("metrics endpoint closed", metadata: ["address": "\(address)"])
    }

    private static func describe(_ address: SocketAddress, port: Int) -> String {
        let ip = address.ipAddress ?? "?"
        if case .v6 = address { return "[\(ip)]:\(port)" }
        return "\(ip):\(port)"
    }
}

/// The open scrape connections, so `close()` can end them: a keep-alive scraper would
/// otherwise hold its connection until the event loop group shuts down.
private final class ConnectionSet: Sendable {
    private struct State {
        var channels: [ObjectIdentifier: any Channel] = [:]
        var closed = false
    }

    private let state = MetricsLock(State())

    /// Tracks `channel` until it closes; false (and not tracked) once `closeAll` has run.
    func insert(_ channel: any Channel) -> Bool {
        let id = ObjectIdentifier(channel)
        let accepted = state.withLock { state -> Bool in
            guard !state.closed else { return false }
            state.channels[id] = channel
            return true
        }
        if accepted {
            channel.closeFuture.whenComplete { _ in
                self.state.withLock { _ = $0.channels.removeValue(forKey: id) }
            }
        }
        return accepted
    }

    /// Marks the set closed and closes every tracked channel; false if already closed.
    func closeAll() -> Bool {
        let channels = state.withLock { state -> [any Channel]? in
            guard !state.closed else { return nil }
            state.closed = true
            defer { state.channels.removeAll() }
            return Array(state.channels.values)
        }
        guard let channels else { return false }
        for channel in channels { channel.close(promise: nil) }
        return true
    }
}
