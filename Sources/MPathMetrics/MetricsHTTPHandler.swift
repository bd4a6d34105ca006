import NIOCore
import NIOHTTP1

/// Answers `GET /metrics` with the exposition, 404 for any other path, 405 for any other
/// method on /metrics. Request bodies are ignored (a scrape has none). Keep-alive is honoured,
/// since Prometheus reuses its connection between scrapes.
final class MetricsHTTPHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    static let metricsPath = "/metrics"
    static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    private let metrics: DaemonMetrics
    private var head: HTTPRequestHead?

    init(metrics: DaemonMetrics) {
        self.metrics = metrics
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let requestHead):
            head = requestHead
        case .body:
            break
        case .end:
            guard let requestHead = head else { return }
            head = nil
            respond(to: requestHead, context: context)
        }
    }

    /// Status, body and extra headers for a request; separate from IO so the routing reads plainly.
    static func route(_ head: HTTPRequestHead, metrics: DaemonMetrics) -> (HTTPResponseStatus, String, [(String, String)]) {
        let path = head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        guard path == metricsPath else {
            return (.notFound, "not found; metrics are at \(metricsPath)\n", [])
        }
        guard head.method == .GET else {
            return (.methodNotAllowed, "method not allowed; use GET\n", [("Allow", "GET")])
        }
        return (.ok, metrics.render(), [])
    }

    private func respond(to requestHead: HTTPRequestHead, context: ChannelHandlerContext) {
        let (status, body, extraHeaders) = Self.route(requestHead, metrics: metrics)
        var buffer = context.channel.allocator.buffer(capacity: body.utf8.count)
        buffer.writeString(body)

        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: status == .ok ? Self.contentType : "text/plain; charset=utf-8")
        headers.add(name: "Content-Length", value: String(buffer.readableBytes))
        for (name, value) in extraHeaders { headers.add(name: name, value: value) }
        let keepAlive = requestHead.isKeepAlive
        if !keepAlive { headers.add(name: "Connection", value: "close") }

        let responseHead = HTTPResponseHead(version: requestHead.version, status: status, headers: headers)
        context.write(wrapOutboundOut(.head(responseHead)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        let written = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if !keepAlive {
            let channel = context.channel
            written.whenComplete { _ in channel.close(promise: nil) }
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            context.close(promise: nil)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        // A scrape connection has nothing to recover; drop it and let the client retry.
        context.close(promise: nil)
    }
}
