import NIOCore

/// Frame settings shared between the connection and its decoder: digests switch on right after
/// the final Login Response, and the data-segment limit follows negotiation.
final class FrameSettings: @unchecked Sendable {
    // Only touched on the channel's event loop.
    var headerDigest = false
    var dataDigest = false
    var maxDataSegmentLength = 8192
}

/// Turns the byte stream into PDUs with `PDUFrameDecoder`, zero-copy: PDUs wholly inside a read
/// are slices of it, and only a PDU that straddles two reads is copied (NIO's cumulating
/// ByteToMessageHandler would copy every later byte once anything is left over).
final class PDUStreamHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = PDU
    private let settings: FrameSettings
    private var frame = PDUFrameDecoder()
    /// Bytes of a PDU cut by the end of a read.
    private var carry: ByteBuffer?
    private var failed = false

    init(settings: FrameSettings) { self.settings = settings }

    private func syncSettings() {
        frame.headerDigest = settings.headerDigest
        frame.dataDigest = settings.dataDigest
        frame.maxDataSegmentLength = settings.maxDataSegmentLength
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !failed else { return }
        var buffer = unwrapInboundIn(data)
        do {
            if var pending = carry {
                // Complete the carried PDU with just the bytes it still needs.
                syncSettings()
                if pending.readableBytes < BasicHeaderSegment.size {
                    let take = min(BasicHeaderSegment.size - pending.readableBytes, buffer.readableBytes)
                    var head = buffer.readSlice(length: take)!
                    pending.writeBuffer(&head)
                }
                if let total = frame.frameLength(of: pending) {
                    guard total - BasicHeaderSegment.size <= frame.maxDataSegmentLength + 1024 else {
                        throw PDUError.dataSegmentTooLong(length: total, limit: frame.maxDataSegmentLength)
                    }
                    let take = min(total - pending.readableBytes, buffer.readableBytes)
                    if take > 0 {
                        var part = buffer.readSlice(length: take)!
                        pending.writeBuffer(&part)
                    }
                }
                if let pdu = try frame.next(from: &pending) {
                    carry = nil
                    context.fireChannelRead(wrapInboundOut(pdu))
                } else {
                    carry = pending
                    return
                }
            }
            while true {
                // Settings may change between PDUs (digests on after the final login response).
                syncSettings()
                guard let pdu = try frame.next(from: &buffer) else { break }
                context.fireChannelRead(wrapInboundOut(pdu))
            }
            if buffer.readableBytes > 0 {
                syncSettings()
                // Sized for the whole PDU, but never beyond what the limit allows (a hostile
                // length field is rejected by `next` once the header is complete).
                let capacity = min(frame.frameLength(of: buffer) ?? BasicHeaderSegment.size,
                                   frame.maxDataSegmentLength + 1024)
                var pending = context.channel.allocator.buffer(capacity: max(capacity, buffer.readableBytes))
                pending.writeBuffer(&buffer)
                carry = pending
            }
        } catch {
            failed = true
            carry = nil
            context.fireErrorCaught(error)
        }
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
