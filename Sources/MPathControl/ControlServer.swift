#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Logging
import NIOCore
import NIOPosix

/// The daemon's end of the control socket: a Unix stream socket, mode 0600, that answers one
/// `ControlResponse` line per `ControlRequest` line. Peers are identified by SO_PEERCRED and
/// refused unless their uid is allowed.
public final class ControlServer: Sendable {
    /// Where the socket lives.
    public let socketPath: String
    private let serverChannel: Channel
    private let acceptTask: Task<Void, Never>
    private let identity: SocketFile.Identity?

    private init(socketPath: String, serverChannel: Channel, acceptTask: Task<Void, Never>, identity: SocketFile.Identity?) {
        self.socketPath = socketPath
        self.serverChannel = serverChannel
        self.acceptTask = acceptTask
        self.identity = identity
    }

    /// Binds `socketPath` and starts serving. Throws `ControlError.alreadyRunning` when a live
    /// daemon answers there, `.notASocket` when another kind of file is in the way; a stale
    /// socket file is replaced. The parent directory is created (0755) when missing.
    /// `allowedUIDs` are the peer uids whose requests are answered; others get a refusal.
    public static func start(
        socketPath: String, handler: ControlHandler, allowedUIDs: Set<UInt32> = [0],
        group: EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "mpathd.control")
    ) async throws -> ControlServer {
        // Refuse an unusable path before touching anything.
        try SocketFile.withAddress(socketPath, operation: "bind") { _, _ in }
        try SocketFile.makeDirectories(ControlError.directory(of: socketPath), mode: 0o755)
        try SocketFile.claim(socketPath)

        // Bind under a temporary name, make it private, then rename it into place: clients never
        // see the socket before it is 0600, and the process umask (shared by every thread) is
        // left alone.
        var bindPath = SocketFile.temporaryPath(for: socketPath)
        if (try? SocketFile.withAddress(bindPath, operation: "bind", { _, _ in })) == nil { bindPath = socketPath }
        if bindPath != socketPath, try SocketFile.fileIsSocket(bindPath) == true {
            try SocketFile.removeSocketFile(bindPath)
        }

        let policy = AccessPolicy(allowedUIDs: allowedUIDs)
        let server: NIOAsyncChannel<ControlConnection, Never>
        do {
            server = try await ServerBootstrap(group: group)
                .serverChannelOption(.backlog, value: 64)
                .bind(unixDomainSocketPath: bindPath, cleanupExistingSocketFile: false) { channel in
                    ControlConnection.initialize(channel)
                }
        } catch let error as IOError {
            throw ControlError.system(operation: "bind", path: socketPath, errno: error.errnoCode)
        }
        do {
            if chmod(bindPath, 0o600) != 0 {
                throw ControlError.system(operation: "chmod", path: bindPath, errno: errno)
            }
            if bindPath != socketPath, rename(bindPath, socketPath) != 0 {
                throw ControlError.system(operation: "rename to \(socketPath)", path: bindPath, errno: errno)
            }
        } catch {
            try? await server.channel.close()
            try? SocketFile.removeSocketFile(bindPath)
            throw error
        }

        let acceptTask = Task {
            await acceptLoop(server: server, handler: handler, policy: policy, logger: logger)
        }
        logger.info("control socket listening", metadata: ["socket": "\(socketPath)"])
        return ControlServer(
            socketPath: socketPath, serverChannel: server.channel, acceptTask: acceptTask,
            identity: SocketFile.identity(socketPath))
    }

    /// Stops accepting, ends open connections (their in-flight requests are cancelled), and
    /// removes the socket file if it is still the one this server created.
    public func close() async {
        serverChannel.close(promise: nil)
        acceptTask.cancel()
        await acceptTask.value
        if let identity, SocketFile.identity(socketPath) == identity {
            try? SocketFile.removeSocketFile(socketPath)
        }
    }

    private static func acceptLoop(
        server: NIOAsyncChannel<ControlConnection, Never>, handler: ControlHandler, policy: AccessPolicy, logger: Logger
    ) async {
        await withDiscardingTaskGroup { group in
            do {
                try await server.executeThenClose { connections in
                    for try await connection in connections {
                        group.addTask {
                            await connection.serve(handler: handler, policy: policy, logger: logger)
                        }
                    }
                }
            } catch {
                if !Task.isCancelled {
                    logger.error("control socket stopped accepting", metadata: ["error": "\(error)"])
                }
            }
        }
    }
}

/// Which peers may send requests.
struct AccessPolicy: Sendable {
    var allowedUIDs: Set<UInt32>

    /// The refusal for a peer, or nil when it is allowed.
    func refusal(for peer: PeerCredentials?) -> ControlResponse? {
        guard let peer else {
            return .error(message: "permission denied: could not read the peer's credentials", code: 2)
        }
        if allowedUIDs.contains(peer.uid) { return nil }
        let who = allowedUIDs == [0]
            ? "root only"
            : "uid " + allowedUIDs.sorted().map(String.init).joined(separator: ", ") + " only"
        return .error(message: "permission denied: mpathd accepts requests from \(who) (uid \(peer.uid))", code: 2)
    }
}
