import Logging
import NIOCore

/// A target found by SendTargets, with the portals it listed.
public struct DiscoveredTarget: Sendable, Equatable {
    public struct Portal: Sendable, Equatable, Hashable {
        public var host: String
        public var port: Int
        public var tpgt: Int
        public init(host: String, port: Int, tpgt: Int) {
            self.host = host
            self.port = port
            self.tpgt = tpgt
        }
        /// iscsiadm's form: `127.0.0.2:3260,1`.
        public var description: String { "\(TargetAddress.format(host: host, port: port)),\(tpgt)" }
    }
    public var name: String
    public var portals: [Portal]
}

public enum DiscoveryError: Error, CustomStringConvertible {
    case malformedResponse(String)

    public var description: String {
        switch self {
        case .malformedResponse(let why): return "malformed SendTargets response: \(why)"
        }
    }
}

public enum SendTargets {
    /// Parses the key list of a SendTargets=All answer: each TargetName starts a target, the
    /// TargetAddress keys after it are its portals. A target with no address is reachable at the
    /// portal that answered (RFC 7143 §13.13), with TPGT 1 unless told otherwise.
    public static func parse(_ pairs: TextParameters, discoveryHost: String, discoveryPort: Int) throws -> [DiscoveredTarget] {
        var targets: [DiscoveredTarget] = []
        for entry in pairs {
            switch entry.key {
            case "TargetName":
                guard !entry.value.isEmpty else { throw DiscoveryError.malformedResponse("empty TargetName") }
                targets.append(DiscoveredTarget(name: entry.value, portals: []))
            case "TargetAddress":
                guard !targets.isEmpty else {
                    throw DiscoveryError.malformedResponse("TargetAddress '\(entry.value)' before any TargetName")
                }
                let address: TargetAddress
                do { address = try TargetAddress(parsing: entry.value) } catch {
                    throw DiscoveryError.malformedResponse("\(error)")
                }
                let portal = DiscoveredTarget.Portal(host: address.host, port: Int(address.port),
                                                     tpgt: Int(address.portalGroupTag ?? 1))
                if !targets[targets.count - 1].portals.contains(portal) {
                    targets[targets.count - 1].portals.append(portal)
                }
            default:
                // Other keys (TargetAlias…) carry nothing we need.
                continue
            }
        }
        for index in targets.indices where targets[index].portals.isEmpty {
            targets[index].portals = [DiscoveredTarget.Portal(host: discoveryHost, port: discoveryPort, tpgt: 1)]
        }
        return targets
    }
}
