/// Login response status codes (RFC 7143 §11.13.5) and the errors a login can end with.

/// Status-Class and Status-Detail of a Login Response.
public struct LoginStatus: Equatable, Hashable, Sendable, CustomStringConvertible {
    public var statusClass: UInt8
    public var statusDetail: UInt8

    public init(statusClass: UInt8, statusDetail: UInt8) {
        self.statusClass = statusClass
        self.statusDetail = statusDetail
    }

    /// Class and detail as one number, e.g. 0x0201.
    public var code: UInt16 { UInt16(statusClass) << 8 | UInt16(statusDetail) }

    public static let success = LoginStatus(statusClass: 0, statusDetail: 0)
    public static let targetMovedTemporarily = LoginStatus(statusClass: 1, statusDetail: 1)
    public static let targetMovedPermanently = LoginStatus(statusClass: 1, statusDetail: 2)
    public static let initiatorError = LoginStatus(statusClass: 2, statusDetail: 0)
    public static let authenticationFailure = LoginStatus(statusClass: 2, statusDetail: 1)
    public static let authorizationFailure = LoginStatus(statusClass: 2, statusDetail: 2)
    public static let notFound = LoginStatus(statusClass: 2, statusDetail: 3)
    public static let targetRemoved = LoginStatus(statusClass: 2, statusDetail: 4)
    public static let unsupportedVersion = LoginStatus(statusClass: 2, statusDetail: 5)
    public static let tooManyConnections = LoginStatus(statusClass: 2, statusDetail: 6)
    public static let missingParameter = LoginStatus(statusClass: 2, statusDetail: 7)
    public static let cantIncludeInSession = LoginStatus(statusClass: 2, statusDetail: 8)
    public static let sessionTypeNotSupported = LoginStatus(statusClass: 2, statusDetail: 9)
    public static let sessionDoesNotExist = LoginStatus(statusClass: 2, statusDetail: 0x0A)
    public static let invalidDuringLogin = LoginStatus(statusClass: 2, statusDetail: 0x0B)
    public static let targetError = LoginStatus(statusClass: 3, statusDetail: 0)
    public static let serviceUnavailable = LoginStatus(statusClass: 3, statusDetail: 1)
    public static let outOfResources = LoginStatus(statusClass: 3, statusDetail: 2)

    /// The RFC 7143 name of the status.
    public var name: String {
        switch code {
        case 0x0000: return "success"
        case 0x0101: return "target moved temporarily"
        case 0x0102: return "target moved permanently"
        case 0x0200: return "initiator error"
        case 0x0201: return "authentication failure"
        case 0x0202: return "authorization failure"
        case 0x0203: return "not found"
        case 0x0204: return "target removed"
        case 0x0205: return "unsupported version"
        case 0x0206: return "too many connections"
        case 0x0207: return "missing parameter"
        case 0x0208: return "can't include in session"
        case 0x0209: return "session type not supported"
        case 0x020A: return "session does not exist"
        case 0x020B: return "invalid during login"
        case 0x0300: return "target error"
        case 0x0301: return "service unavailable"
        case 0x0302: return "out of resources"
        default:
            switch statusClass {
            case 1: return "unknown redirection status"
            case 2: return "unknown initiator error"
            case 3: return "unknown target error"
            default: return "unknown status"
            }
        }
    }

    /// "authentication failure (2/01)".
    public var description: String {
        let detail = String(statusDetail, radix: 16)
        return "\(name) (\(statusClass)/\(detail.count < 2 ? "0" + detail : detail))"
    }
}

/// Why a login did not complete.
public enum LoginError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The target answered with status class 2 (initiator error) or 3 (target error);
    /// `hint` says what to check.
    case refused(LoginStatus, hint: String)
    /// A redirect (class 1) without a usable TargetAddress.
    case invalidRedirect(LoginStatus, reason: String)
    /// A status class the RFC does not define.
    case unknownStatusClass(LoginStatus)
    /// The configuration cannot produce a valid login.
    case invalidConfiguration(String)
    /// The target's text data could not be parsed.
    case malformedText(TextKeyError)
    /// Operational negotiation failed.
    case negotiation(NegotiationError)
    /// CHAP failed on our side (including mutual authentication of the target).
    case chap(CHAPError)
    /// The target chose an AuthMethod we did not offer.
    case authMethodNotOffered(chosen: String, offered: [String])
    /// The target rejected every AuthMethod we offered.
    case authMethodRejected(offered: [String])
    /// A key the protocol requires at this point is missing.
    case missingKey(String, stage: LoginStage)
    /// A key that does not belong in this stage or step.
    case unexpectedKey(String, stage: LoginStage)
    /// The response's current stage is earlier than ours.
    case stageWentBackwards(from: LoginStage, to: UInt8)
    /// The response's current stage differs from ours.
    case unexpectedStage(expected: LoginStage, got: UInt8)
    /// The target set T=1 although our request had T=0.
    case transitWithoutRequest(stage: LoginStage)
    /// The target transited before authentication finished.
    case transitBeforeAuthentication
    /// The target's NSG is not a stage we asked for.
    case invalidNextStage(current: LoginStage, requested: LoginStage, got: UInt8)
    /// A response with both C and T set (RFC 7143 forbids it).
    case continueWithTransit
    /// While we were sending a continued request the target sent data or changed stage.
    case unexpectedResponseDuringContinuation
    /// The target's continued text grew beyond the login limit.
    case responseTooLarge(Int)
    /// Too many request/response exchanges.
    case tooManyRoundTrips(Int)
    /// The final login response carried TSIH 0.
    case missingTSIH
    /// `receive` was called before `start`.
    case notStarted
    /// `receive` was called after the login completed, was redirected or failed.
    case alreadyFinished

    public var description: String {
        switch self {
        case .refused(let status, let hint):
            let prefix = status.statusClass == 3 ? "login failed on the target" : "login refused by target"
            return hint.isEmpty ? "\(prefix): \(status)" : "\(prefix): \(status) — \(hint)"
        case .invalidRedirect(let status, let reason):
            return "target redirected the login (\(status)) but \(reason)"
        case .unknownStatusClass(let status):
            return "login response has undefined status \(status)"
        case .invalidConfiguration(let reason):
            return "invalid login configuration: \(reason)"
        case .malformedText(let error):
            return "malformed login response text: \(error)"
        case .negotiation(let error):
            return "parameter negotiation failed: \(error)"
        case .chap(let error):
            return "authentication failed: \(error)"
        case .authMethodNotOffered(let chosen, let offered):
            return "target chose AuthMethod=\(TextKeyError.quote(chosen)), but we offered only \(offered.joined(separator: ","))"
        case .authMethodRejected(let offered):
            return "target rejected AuthMethod=\(offered.joined(separator: ","))"
                + (offered == ["None"] ? " — the target requires authentication; configure CHAP credentials" : "")
        case .missingKey(let key, let stage):
            return "target's login response in the \(stage) stage lacks the required key \(key)"
        case .unexpectedKey(let key, let stage):
            return "target sent \(key) where it does not belong (\(stage) stage)"
        case .stageWentBackwards(let from, let to):
            return "target moved the login back from the \(from) stage to stage \(to)"
        case .unexpectedStage(let expected, let got):
            return "target answered in stage \(got) while we are in the \(expected) stage"
        case .transitWithoutRequest(let stage):
            return "target transited out of the \(stage) stage although we did not ask to (T=0)"
        case .transitBeforeAuthentication:
            return "target tried to leave the security stage before CHAP authentication finished"
        case .invalidNextStage(let current, let requested, let got):
            return "target's next stage \(got) is invalid from the \(current) stage (we asked for \(requested))"
        case .continueWithTransit:
            return "target set both the Continue and Transit bits in a login response"
        case .unexpectedResponseDuringContinuation:
            return "target answered a continued login request with data or a stage change"
        case .responseTooLarge(let size):
            return "target's login text grew to \(size) bytes, beyond the login limit"
        case .tooManyRoundTrips(let count):
            return "login did not finish within \(count) exchanges"
        case .missingTSIH:
            return "target completed the login without assigning a session handle (TSIH 0)"
        case .notStarted:
            return "login state machine received a response before start()"
        case .alreadyFinished:
            return "login state machine received a response after the login ended"
        }
    }

    /// Hint for a refused login: what the person running the initiator should check.
    static func hint(
        for status: LoginStatus, usesCHAP: Bool, isDiscovery: Bool, initiatorName: String, targetName: String?
    ) -> String {
        let authPrefix = isDiscovery ? "discovery.sendtargets.auth" : "node.session.auth"
        switch status.code {
        case 0x0200:
            return usesCHAP
                ? "the target rejected a value we offered; check \(authPrefix).chap_algs (many targets know only MD5), the digests and node.session.iscsi.* settings"
                : "the target rejected a value we offered; check HeaderDigest/DataDigest and node.session.iscsi.* settings"
        case 0x0201:
            return usesCHAP
                ? "the target refused our CHAP credentials; check \(authPrefix).username/password"
                : "the target requires authentication; set \(authPrefix).authmethod=CHAP with username/password"
        case 0x0202:
            return "the target's access list does not admit initiator \(initiatorName)"
        case 0x0203:
            return targetName.map { "no target named \($0) at this portal" } ?? "the target does not know this session"
        case 0x0204:
            return "the target has been removed from this portal"
        case 0x0205:
            return "the target does not support iSCSI version 0"
        case 0x0206:
            return "the target allows no more connections for this session"
        case 0x0207:
            return "the target expected a key we did not send"
        case 0x0208:
            return "the target cannot add this connection to the session"
        case 0x0209:
            return isDiscovery ? "the portal does not accept discovery sessions" : "the target does not accept normal sessions"
        case 0x020A:
            return "the session to reinstate or join no longer exists on the target"
        case 0x020B:
            return "the target received a request that is not valid during login"
        case 0x0300:
            return "the target failed internally; retry later"
        case 0x0301:
            return "the target is temporarily unable to accept logins; retry later"
        case 0x0302:
            return "the target is out of resources; retry later"
        default:
            return ""
        }
    }
}

extension LoginStage: CustomStringConvertible {
    public var description: String {
        switch self {
        case .security: return "security"
        case .operational: return "operational"
        case .fullFeature: return "full feature"
        }
    }
}
