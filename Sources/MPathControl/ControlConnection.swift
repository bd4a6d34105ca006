#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Logging
import NIOCore

/// Linux `struct ucred` as SO_PEERCRED fills it (pid_t, uid_t, gid_t); Glibc does not export
/// the C type to Swift. Three 32-bit fields have the same layout in Swift as in C.
struct RawPeerCredentials: Sendable {
    var pid: Int32 = 0
    var uid: UInt32 = 0
    var gid: UInt32 = 0
}

/// One accepted control connection: its line-framed async channel and who connected.
struct ControlConnection: Sendable {
    let channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>
    /// nil when the credentials could not be read; such a peer is refused.
    let peer: PeerCredentials?

    /// Reads SO_PEERCRED and sets up line framing; runs on the child channel's event loop.
    static func initialize(_ channel: Channel) -> EventLoopFuture<ControlConnection> {
        let credentials: EventLoopFuture<RawPeerCredentials?>
        if let provider = channel as? SocketOptionProvider {
            credentials = provider.unsafeGetSocketOption(
                level: NIOBSDSocket.OptionLevel.socket, name: NIOBSDSocket.Option(rawValue: SO_PEERCRED)
            ).map { (raw: RawPeerCredentials) -> RawPeerCredentials? in raw }
                .recover { _ in nil }
        } else {
            credentials = channel.eventLoop.makeSucceededFuture(nil)
        }
        return credentials.flatMapThrowing { raw in
            try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(LineFrameDecoder()))
            let wrapped = try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
            return ControlConnection(
                channel: wrapped, peer: raw.map { PeerCredentials(pid: $0.pid, uid: $0.uid, gid: $0.gid) })
        }
    }

    /// Answers requests one at a time, in order, until the peer closes. A malformed or oversized
    /// line, or a refused peer, gets one error response and the connection is closed.
    func serve(handler: ControlHandler, policy: AccessPolicy, logger: Logger) async {
        var logger = logger
        if let peer {
            logger[metadataKey: "peer"] = "pid \(peer.pid) uid \(peer.uid)"
        }
        do {
            try await channel.executeThenClose { inbound, outbound in
                var lines = inbound.makeAsyncIterator()
                while true {
                    let line: ByteBuffer
                    do {
                        guard let next = try await lines.next() else { return }
                        line = next
                    } catch let error as LineFrameDecoder.LineTooLong {
                        try await outbound.write(Self.encode(.error(
                            message: "bad request: line longer than \(error.limit) bytes", code: 2)))
                        return
                    }
                    if let refusal = policy.refusal(for: peer) {
                        if case .error(let message, _) = refusal {
                            logger.notice("refused control request", metadata: ["reason": "\(message)"])
                        }
                        try await outbound.write(Self.encode(refusal))
                        return
                    }
                    guard let peer else { return }
                    let request: ControlRequest
                    do {
                        request = try ControlWire.decode(ControlRequest.self, line: line.readableBytesView)
                    } catch {
                        try await outbound.write(Self.encode(.error(message: "bad request: \(Self.detail(error))", code: 2)))
                        return
                    }
                    let response = await handler.handle(request, peer: peer)
                    try await outbound.write(Self.encode(response))
                }
            }
        } catch {
            logger.debug("control connection ended", metadata: ["error": "\(error)"])
        }
    }

    /// A response as one line; a response too large for the wire becomes an error line.
    static func encode(_ response: ControlResponse) -> ByteBuffer {
        do {
            return ByteBuffer(bytes: try ControlWire.encodeLine(response))
        } catch {
            let fallback = ControlResponse.error(message: "mpathd could not send its answer: \(detail(error))", code: 1)
            // A short error message always encodes.
            return ByteBuffer(bytes: (try? ControlWire.encodeLine(fallback)) ?? Array("{}\n".utf8))
        }
    }

    /// The text of an error without the "control protocol error:" prefix.
    static func detail(_ error: Error) -> String {
        if case ControlError.protocolError(let detail) = error { return detail }
        return "\(error)"
    }
}
