import NIOCore

/// Splits the inbound byte stream into lines (without the newline) and refuses any line longer
/// than the limit, so a peer cannot make the daemon buffer without bound.
struct LineFrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = ByteBuffer

    /// Thrown when a line (newline included) would exceed the limit.
    struct LineTooLong: Error, Equatable {
        var limit: Int
    }

    let maximumLineBytes: Int
    /// Bytes already searched for a newline, so a long line is scanned once, not per read.
    private var scanned = 0

    init(maximumLineBytes: Int = ControlWire.maximumLineBytes) {
        self.maximumLineBytes = maximumLineBytes
    }

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        let view = buffer.readableBytesView
        let searchStart = view.index(view.startIndex, offsetBy: min(scanned, view.count))
        guard let newline = view[searchStart...].firstIndex(of: UInt8(ascii: "\n")) else {
            scanned = view.count
            if view.count >= maximumLineBytes { throw LineTooLong(limit: maximumLineBytes) }
            return .needMoreData
        }
        let lineLength = newline - view.startIndex
        guard lineLength + 1 <= maximumLineBytes else { throw LineTooLong(limit: maximumLineBytes) }
        scanned = 0
        guard let line = buffer.readSlice(length: lineLength) else { return .needMoreData }
        buffer.moveReaderIndex(forwardBy: 1)
        context.fireChannelRead(Self.wrapInboundOut(line))
        return .continue
    }

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        // Complete lines still buffered are delivered; an unterminated tail is dropped because
        // the peer has gone and could not read an answer anyway.
        while try decode(context: context, buffer: &buffer) == .continue {}
        buffer.moveReaderIndex(forwardBy: buffer.readableBytes)
        return .needMoreData
    }
}
