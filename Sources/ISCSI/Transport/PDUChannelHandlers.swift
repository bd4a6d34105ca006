import NIOCore

/// Frame settings shared between the connection and its decoder: digests switch on right after
/// the final Login Response, and the data-segment limit follows negotiation.
final class FrameSettings: @unchecked Sendable {
    // Only touched on the channel's event loop.
    var headerDigest = false
    var dataDigest = false
    var maxDataSegmentLength = 8192
}

/// Turns the byte stream into PDUs with `PDUFrameDecoder`.
final class PDUDecoderHandler: ByteToMessageDecoder {
    typealias InboundOut = PDU
    private let settings: FrameSettings
    private var frame = PDUFrameDecoder()

    init(settings: FrameSettings) { self.settings = settings }

    func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        frame.headerDigest = settings.headerDigest
        frame.dataDigest = settings.dataDigest
        frame.maxDataSegmentLength = settings.maxDataSegmentLength
        guard let pdu = try frame.next(from: &buffer) else { return .needMoreData }
        context.fireChannelRead(wrapInboundOut(pdu))
        return .continue
    }

    func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        // A partial PDU at EOF is dropped; the connection is closing anyway.
        while try decode(context: context, buffer: &buffer) == .continue {}
        return .needMoreData
    }
}

/// Hands PDUs and connection events to the owning `ISCSIConnection`.
final class ConnectionEventHandler: ChannelInboundHandler {
    typealias InboundIn = PDU
    private weak var connection: ISCSIConnection?

    init(connection: ISCSIConnection) { self.connection = connection }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        connection?.handle(unwrapInboundIn(data))
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        connection?.flushIfNeeded()
    }

    func channelInactive(context: ChannelHandlerContext) {
        connection?.channelClosed(reason: "connection closed by peer")
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        connection?.channelClosed(reason: String(describing: error))
        context.close(promise: nil)
    }
}
