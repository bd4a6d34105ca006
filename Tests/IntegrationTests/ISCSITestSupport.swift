import Foundation
import ISCSI
import NIOCore
import NIOPosix
import SCSI
import XCTest

/// Helpers shared by the protocol integration tests: log in to the fixture's tgtd with our
/// own stack and move bytes.
enum Live {
    static let initiatorName = "iqn.2026-11.test.mpath:initiator"
    static var group: EventLoopGroup { MultiThreadedEventLoopGroup.singleton }

    static func hostPort(_ portal: String) -> (String, Int) {
        let colon = portal.lastIndex(of: ":")!
        return (String(portal[..<colon]), Int(portal[portal.index(after: colon)...])!)
    }

    static func configuration(_ target: TestTarget, offer: OperationalOffer = OperationalOffer(),
                              auth: LoginAuthentication = .none) -> LoginConfiguration {
        LoginConfiguration(initiatorName: initiatorName, targetName: target.iqn, authentication: auth, offer: offer)
    }

    static func login(_ target: TestTarget, portal: String? = nil, offer: OperationalOffer = OperationalOffer(),
                      auth: LoginAuthentication = .none, timeout: TimeAmount = .seconds(10)) async throws -> (ISCSIConnection, LoginResult) {
        let fixture = try TGT.shared
        let (host, port) = hostPort(portal ?? fixture.portals[0])
        let config = configuration(target, offer: offer, auth: auth)
        let loginTarget = LoginTarget(host: host, port: port, configuration: config,
                                      isid: SessionIdentity.isid(initiator: initiatorName, target: target.iqn,
                                                                 portal: "\(host):\(port)", iface: "test-\(UUID())"),
                                      connectTimeout: timeout, loginTimeout: timeout)
        return try await Initiator.login(loginTarget, group: group)
    }

    /// A LUN ready for IO: logged in, unit attentions consumed.
    static func unit(_ target: TestTarget, lun: UInt64 = 1, offer: OperationalOffer = OperationalOffer(),
                     auth: LoginAuthentication = .none) async throws -> LogicalUnit {
        let (connection, _) = try await login(target, offer: offer, auth: auth)
        let unit = LogicalUnit(connection: connection, lun: lun)
        try await unit.clearUnitAttentions()
        return unit
    }

    static func pattern(_ count: Int, seed: UInt8) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeBytes((0..<count).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ Int(seed) &+ $0 >> 9) })
        return buffer
    }
}

/// The mpathctl binary next to the test bundle.
enum CLI {
    static var path: String {
        let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        let candidates = [bundle.appendingPathComponent("mpathctl").path,
                          bundle.deletingLastPathComponent().appendingPathComponent("mpathctl").path]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? candidates[0]
    }

    /// Runs mpathctl with private config/state dirs.
    static func run(_ arguments: [String], configDir: String, stateDir: String, timeout: Double = 60) throws -> CommandResult {
        try Command.run("env", ["MPATH_CONFIG_DIR=\(configDir)", "MPATH_STATE_DIR=\(stateDir)", path] + arguments,
                        timeout: timeout, check: false)
    }
}
