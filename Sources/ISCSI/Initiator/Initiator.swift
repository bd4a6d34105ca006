import Logging
import NIOCore
import NIOPosix

/// Where and how to log in: one path's worth of parameters.
public struct LoginTarget: Sendable {
    public var host: String
    public var port: Int
    /// Source address to bind (an iface record), nil for the default route.
    public var localAddress: String?
    public var configuration: LoginConfiguration
    public var isid: UInt64
    public var connectTimeout: TimeAmount
    public var loginTimeout: TimeAmount
    /// node.session.cmds_max
    public var maxOutstanding: Int

    public init(host: String, port: Int, localAddress: String? = nil, configuration: LoginConfiguration, isid: UInt64,
                connectTimeout: TimeAmount = .seconds(15), loginTimeout: TimeAmount = .seconds(15), maxOutstanding: Int = 128) {
        self.host = host
        self.port = port
        self.localAddress = localAddress
        self.configuration = configuration
        self.isid = isid
        self.connectTimeout = connectTimeout
        self.loginTimeout = loginTimeout
        self.maxOutstanding = maxOutstanding
    }

    public var portal: String { TargetAddress.format(host: host, port: port) }
}

public enum Initiator {
    /// Connects and logs in, following up to three login redirects (RFC 7143 §11.13.5). The
    /// whole attempt is bounded by connect timeout + login timeout per hop.
    public static func login(_ target: LoginTarget, group: EventLoopGroup,
                             logger: Logger = Logger(label: "mpath.iscsi")) async throws -> (ISCSIConnection, LoginResult) {
        var host = target.host
        var port = target.port
        for _ in 0..<4 {
            let connection = try await ISCSIConnection.connect(
                host: host, port: port, localAddress: target.localAddress, group: group,
                connectTimeout: target.connectTimeout, logger: logger).get()
            connection.maxOutstanding = target.maxOutstanding
            do {
                let result = try await connection.login(target.configuration, isid: target.isid,
                                                        timeout: target.loginTimeout).get()
                return (connection, result)
            } catch ISCSIConnectionError.redirected(let address, let permanent) {
                let next = try TargetAddress(parsing: address)
                logger.info("login redirected", metadata: [
                    "from": "\(TargetAddress.format(host: host, port: port))", "to": "\(next)",
                    "permanent": "\(permanent)"])
                host = next.host
                port = Int(next.port)
            } catch {
                connection.close()
                throw error
            }
        }
        throw ISCSIConnectionError.protocolViolation("too many login redirects starting at \(target.portal)")
    }

    /// SendTargets discovery on a portal: a discovery session, `SendTargets=All`, logout.
    public static func discover(host: String, port: Int, configuration: LoginConfiguration, localAddress: String? = nil,
                                group: EventLoopGroup, timeout: TimeAmount = .seconds(15),
                                logger: Logger = Logger(label: "mpath.iscsi")) async throws -> [DiscoveredTarget] {
        let target = LoginTarget(host: host, port: port, localAddress: localAddress, configuration: configuration,
                                 isid: SessionIdentity.isid(initiator: configuration.initiatorName, target: "discovery",
                                                            portal: TargetAddress.format(host: host, port: port), iface: "default"),
                                 connectTimeout: timeout, loginTimeout: timeout)
        let (connection, _) = try await login(target, group: group, logger: logger)
        do {
            let data = try await connection.text(["SendTargets": "All"]).get()
            let pairs = try TextParameters.parse(data.readableBytesView, options: .sendTargets)
            let targets = try SendTargets.parse(pairs, discoveryHost: host, discoveryPort: port)
            try? await connection.logout(timeout: .seconds(5)).get()
            return targets
        } catch {
            connection.close()
            throw error
        }
    }
}
