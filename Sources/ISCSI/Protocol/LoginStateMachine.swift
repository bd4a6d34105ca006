/// The iSCSI login phase (RFC 7143 §6.3, §11.12–11.13) as a sans-IO state machine: it turns
/// login response fields into the next request's fields, never touching PDUs or sockets.

/// Login stages as carried in the CSG/NSG fields.
public enum LoginStage: UInt8, Sendable, Hashable, Comparable {
    case security = 0
    case operational = 1
    case fullFeature = 3

    public static func < (lhs: LoginStage, rhs: LoginStage) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// How the initiator authenticates.
public enum LoginAuthentication: Sendable {
    /// No authentication: AuthMethod=None is offered.
    case none
    /// CHAP with our credentials; `mutual` holds the credentials the target must prove.
    case chap(CHAPCredentials, mutual: CHAPCredentials?, algorithms: [CHAPAlgorithm])
}

/// Everything the login needs to know.
public struct LoginConfiguration: Sendable {
    public var initiatorName: String
    public var initiatorAlias: String?
    /// Target to log in to; nil for discovery sessions.
    public var targetName: String?
    public var sessionType: SessionType
    public var authentication: LoginAuthentication
    public var offer: OperationalOffer
    /// Upper bound on request/response exchanges before giving up.
    public var maxRoundTrips: Int
    /// Largest data segment per login request; RFC 7143 fixes 8192 during login.
    public var maxLoginDataSegmentLength: Int

    public init(
        initiatorName: String,
        initiatorAlias: String? = nil,
        targetName: String?,
        sessionType: SessionType? = nil,
        authentication: LoginAuthentication = .none,
        offer: OperationalOffer = OperationalOffer(),
        maxRoundTrips: Int = 16,
        maxLoginDataSegmentLength: Int = 8192
    ) {
        self.initiatorName = initiatorName
        self.initiatorAlias = initiatorAlias
        self.targetName = targetName
        self.sessionType = sessionType ?? (targetName == nil ? .discovery : .normal)
        self.authentication = authentication
        self.offer = offer
        self.maxRoundTrips = maxRoundTrips
        self.maxLoginDataSegmentLength = maxLoginDataSegmentLength
    }
}

/// The fields of a Login Request the state machine decides; the PDU layer adds ISID, TSIH,
/// ITT, CID and sequence numbers.
public struct LoginRequestFields: Equatable, Sendable {
    public var transit: Bool
    public var continueFlag: Bool
    public var currentStage: LoginStage
    /// Meaningful only when `transit` is set; RFC 7143 reserves it otherwise and we send 0.
    public var nextStage: LoginStage
    /// Encoded key=value text (or one part of it when `continueFlag` is set).
    public var data: [UInt8]

    public init(transit: Bool, continueFlag: Bool, currentStage: LoginStage, nextStage: LoginStage, data: [UInt8]) {
        self.transit = transit
        self.continueFlag = continueFlag
        self.currentStage = currentStage
        self.nextStage = nextStage
        self.data = data
    }

    /// The data segment decoded (for logging and tests); nil when it is a partial segment.
    public var keys: TextParameters? { try? TextParameters.parse(data) }
}

/// The fields of a Login Response the state machine needs. Stages are raw so that an invalid
/// value from the wire reaches the state machine and is reported by name.
public struct LoginResponseFields: Equatable, Sendable {
    public var transit: Bool
    public var continueFlag: Bool
    public var currentStage: UInt8
    public var nextStage: UInt8
    public var statusClass: UInt8
    public var statusDetail: UInt8
    public var tsih: UInt16
    public var data: [UInt8]

    public init(
        transit: Bool, continueFlag: Bool, currentStage: UInt8, nextStage: UInt8,
        statusClass: UInt8 = 0, statusDetail: UInt8 = 0, tsih: UInt16 = 0, data: [UInt8] = []
    ) {
        self.transit = transit
        self.continueFlag = continueFlag
        self.currentStage = currentStage
        self.nextStage = nextStage
        self.statusClass = statusClass
        self.statusDetail = statusDetail
        self.tsih = tsih
        self.data = data
    }

    /// Convenience with typed stages.
    public init(
        transit: Bool, continueFlag: Bool = false, currentStage: LoginStage, nextStage: LoginStage,
        status: LoginStatus = .success, tsih: UInt16 = 0, data: [UInt8] = []
    ) {
        self.init(
            transit: transit, continueFlag: continueFlag, currentStage: currentStage.rawValue,
            nextStage: nextStage.rawValue, statusClass: status.statusClass, statusDetail: status.statusDetail,
            tsih: tsih, data: data)
    }
}

/// What to do after a response.
public enum LoginAction: Equatable, Sendable {
    /// Send this Login Request.
    case send(LoginRequestFields)
    /// Login finished: the connection is in Full Feature Phase with these parameters.
    case complete(OperationalParameters, tsih: UInt16)
    /// Close the connection and log in at `targetAddress` (`host:port,tpgt`, see `TargetAddress`).
    case redirect(targetAddress: String, permanent: Bool)
}

/// Drives one connection's login from the first request to Full Feature Phase.
public struct LoginStateMachine {
    /// Largest logical text (all continuation parts joined) accepted from the target.
    public static let maxResponseTextLength = 65536

    private enum Phase {
        case idle
        case security(SecurityStep)
        case operational
        case finished
    }

    private enum SecurityStep {
        /// Sent AuthMethod, waiting for the target's choice.
        case authMethod
        /// Sent CHAP_A, waiting for CHAP_A/CHAP_I/CHAP_C.
        case chapChallenge
        /// Sent CHAP_N/CHAP_R, waiting for the transit (and the target's CHAP_N/CHAP_R if mutual).
        case chapResult
        /// Authentication done; asking to move on with T=1.
        case transit
    }

    /// Header of the logical request being sent (possibly in several C=1 parts).
    private struct PendingRequest {
        var stage: LoginStage
        var transit: Bool
        var nextStage: LoginStage
    }

    public let configuration: LoginConfiguration
    private let randomSource: RandomSource
    private var phase: Phase = .idle
    private var negotiator: OperationalNegotiator
    private var chap: CHAPInitiator?
    private var offeredAuthMethods: [String] = []
    private var targetAuthenticated = false
    private var roundTrips = 0
    private var pending = PendingRequest(stage: .security, transit: false, nextStage: .security)
    private var outbound: [UInt8] = []
    private var inbound: [UInt8] = []

    /// Validates the configuration; nothing is sent until `start()`.
    public init(configuration: LoginConfiguration, randomSource: RandomSource = .system) throws(LoginError) {
        try Self.validate(configuration)
        self.configuration = configuration
        self.randomSource = randomSource
        self.negotiator = OperationalNegotiator(offer: configuration.offer, sessionType: configuration.sessionType)
        self.chap = try Self.makeCHAP(configuration, randomSource)
    }

    /// The first Login Request. Calling it again restarts the login from scratch.
    public mutating func start() -> LoginRequestFields {
        negotiator = OperationalNegotiator(offer: configuration.offer, sessionType: configuration.sessionType)
        chap = try? Self.makeCHAP(configuration, randomSource)  // validated in init, cannot fail here
        targetAuthenticated = false
        roundTrips = 0
        inbound = []

        var keys = TextParameters()
        keys.append("InitiatorName", configuration.initiatorName)
        if let alias = configuration.initiatorAlias { keys.append("InitiatorAlias", alias) }
        keys.append("SessionType", configuration.sessionType.rawValue)
        if configuration.sessionType == .normal, let target = configuration.targetName {
            keys.append("TargetName", target)
        }
        switch configuration.authentication {
        case .none:
            offeredAuthMethods = ["None"]
        case .chap(_, let mutual, _):
            // With mutual CHAP, None would let an impostor target skip proving itself.
            offeredAuthMethods = mutual == nil ? ["CHAP", "None"] : ["CHAP"]
        }
        keys.append("AuthMethod", TextValue.encodeList(offeredAuthMethods))
        phase = .security(.authMethod)
        return beginRequest(stage: .security, transit: true, nextStage: .operational, keys: keys)
    }

    /// Consumes one Login Response and says what to do next. After a thrown error the
    /// machine is finished; call `start()` on a new connection to retry.
    public mutating func receive(_ response: LoginResponseFields) throws(LoginError) -> LoginAction {
        switch phase {
        case .idle: throw .notStarted
        case .finished: throw .alreadyFinished
        case .security, .operational: break
        }
        do {
            let action = try process(response)
            if case .send = action {} else { phase = .finished }
            return action
        } catch {
            phase = .finished
            throw error
        }
    }

    // MARK: - Response handling

    private mutating func process(_ response: LoginResponseFields) throws(LoginError) -> LoginAction {
        roundTrips += 1
        guard roundTrips <= configuration.maxRoundTrips else {
            throw .tooManyRoundTrips(configuration.maxRoundTrips)
        }
        switch response.statusClass {
        case 0: break
        case 1: return try redirect(response)
        case 2, 3:
            let status = LoginStatus(statusClass: response.statusClass, statusDetail: response.statusDetail)
            throw .refused(status, hint: hint(for: status))
        default:
            throw .unknownStatusClass(LoginStatus(statusClass: response.statusClass, statusDetail: response.statusDetail))
        }
        let stage = pending.stage
        guard response.currentStage == stage.rawValue else {
            if response.currentStage < stage.rawValue {
                throw .stageWentBackwards(from: stage, to: response.currentStage)
            }
            throw .unexpectedStage(expected: stage, got: response.currentStage)
        }
        if response.continueFlag && response.transit { throw .continueWithTransit }

        // We are still sending parts of a long request: the target acknowledges each part
        // with an empty response.
        if !outbound.isEmpty {
            guard !response.transit, !response.continueFlag, response.data.isEmpty else {
                throw .unexpectedResponseDuringContinuation
            }
            return .send(nextPart())
        }

        inbound += response.data
        guard inbound.count <= Self.maxResponseTextLength else { throw .responseTooLarge(inbound.count) }
        if response.continueFlag {
            // More text follows: ask for it with an empty request in the same stage.
            // T=0 here; whether the target may transit still follows our last real request.
            return .send(
                LoginRequestFields(transit: false, continueFlag: false, currentStage: stage, nextStage: .security, data: []))
        }
        let text = inbound
        inbound = []
        let keys: TextParameters
        do {
            keys = try TextParameters.parse(text)
        } catch {
            throw .malformedText(error)
        }

        if response.transit {
            guard pending.transit else { throw .transitWithoutRequest(stage: stage) }
            guard response.nextStage == pending.nextStage.rawValue else {
                throw .invalidNextStage(current: stage, requested: pending.nextStage, got: response.nextStage)
            }
        }

        switch phase {
        case .security(let step):
            return try handleSecurity(step, keys: keys, response: response)
        case .operational:
            return try handleOperational(keys: keys, response: response)
        case .idle, .finished:
            throw .alreadyFinished
        }
    }

    private mutating func handleSecurity(
        _ step: SecurityStep, keys: TextParameters, response: LoginResponseFields
    ) throws(LoginError) -> LoginAction {
        var authKeys = TextParameters()
        var otherKeys = TextParameters()
        for entry in keys {
            if entry.key == "AuthMethod" || entry.key.hasPrefix("CHAP_") {
                authKeys.append(entry.key, entry.value)
            } else {
                otherKeys.append(entry.key, entry.value)
            }
        }
        // Declarations such as TargetPortalGroupTag arrive here; unknown keys get NotUnderstood.
        var reply = try negotiate(otherKeys)

        switch step {
        case .authMethod:
            guard let method = authKeys["AuthMethod"] else { throw .missingKey("AuthMethod", stage: .security) }
            if let stray = authKeys.first(where: { $0.key != "AuthMethod" }) {
                throw .unexpectedKey(stray.key, stage: .security)
            }
            if method == TextValue.reject || method == TextValue.notUnderstood {
                throw .authMethodRejected(offered: offeredAuthMethods)
            }
            guard offeredAuthMethods.contains(method) else {
                throw .authMethodNotOffered(chosen: method, offered: offeredAuthMethods)
            }
            if method == "CHAP", let chap {
                guard !response.transit else { throw .transitBeforeAuthentication }
                reply.append(contentsOf: chap.algorithmOffer())
                phase = .security(.chapChallenge)
                return .send(beginRequest(stage: .security, transit: false, nextStage: .security, keys: reply))
            }
            // AuthMethod=None: nothing to prove in either direction.
            chap = nil
            targetAuthenticated = true
            return try leaveSecurity(response: response, reply: reply)

        case .chapChallenge:
            guard !response.transit else { throw .transitBeforeAuthentication }
            if let stray = authKeys.first(where: { !["CHAP_A", "CHAP_I", "CHAP_C"].contains($0.key) }) {
                throw .unexpectedKey(stray.key, stage: .security)
            }
            guard var chap else { throw .unexpectedKey("CHAP_A", stage: .security) }
            for key in ["CHAP_A", "CHAP_I", "CHAP_C"] where authKeys[key] == nil {
                throw .missingKey(key, stage: .security)
            }
            do {
                reply.append(contentsOf: try chap.respond(to: authKeys))
            } catch {
                throw .chap(error)
            }
            self.chap = chap
            targetAuthenticated = !chap.isMutual
            phase = .security(.chapResult)
            return .send(beginRequest(stage: .security, transit: true, nextStage: .operational, keys: reply))

        case .chapResult, .transit:
            if let stray = authKeys.first(where: { $0.key != "CHAP_N" && $0.key != "CHAP_R" }) {
                throw .unexpectedKey(stray.key, stage: .security)
            }
            if !authKeys.isEmpty {
                guard let chap, chap.isMutual, !targetAuthenticated else {
                    throw .unexpectedKey(authKeys[0].key, stage: .security)
                }
                do {
                    try chap.verifyTarget(authKeys)
                } catch {
                    throw .chap(error)
                }
                targetAuthenticated = true
            }
            return try leaveSecurity(response: response, reply: reply)
        }
    }

    /// Moves to the operational stage once the target transits, or asks it to.
    private mutating func leaveSecurity(response: LoginResponseFields, reply: TextParameters) throws(LoginError) -> LoginAction {
        guard response.transit else {
            phase = .security(.transit)
            return .send(beginRequest(stage: .security, transit: true, nextStage: .operational, keys: reply))
        }
        guard targetAuthenticated else { throw .chap(.targetDidNotAuthenticate) }
        phase = .operational
        var keys = reply
        keys.append(contentsOf: negotiator.initialKeys())
        return .send(beginRequest(stage: .operational, transit: true, nextStage: .fullFeature, keys: keys))
    }

    private mutating func handleOperational(keys: TextParameters, response: LoginResponseFields) throws(LoginError) -> LoginAction {
        if let stray = keys.first(where: { $0.key == "AuthMethod" || $0.key.hasPrefix("CHAP_") }) {
            throw .unexpectedKey(stray.key, stage: .operational)
        }
        let reply = try negotiate(keys)
        guard response.transit else {
            // The target wants another round: answer its offers and ask to move on again.
            return .send(beginRequest(stage: .operational, transit: true, nextStage: .fullFeature, keys: reply))
        }
        // Offers in the final response cannot be answered any more; their results are
        // already applied, as both sides compute the same result function.
        let parameters: OperationalParameters
        do {
            parameters = try negotiator.finish()
        } catch {
            throw .negotiation(error)
        }
        guard response.tsih != 0 else { throw .missingTSIH }
        return .complete(parameters, tsih: response.tsih)
    }

    private mutating func negotiate(_ keys: TextParameters) throws(LoginError) -> TextParameters {
        do {
            return try negotiator.receive(keys)
        } catch {
            throw .negotiation(error)
        }
    }

    private func redirect(_ response: LoginResponseFields) throws(LoginError) -> LoginAction {
        let status = LoginStatus(statusClass: response.statusClass, statusDetail: response.statusDetail)
        guard status == .targetMovedTemporarily || status == .targetMovedPermanently else {
            throw .invalidRedirect(status, reason: "the status detail is not a defined redirection")
        }
        let keys: TextParameters
        do {
            keys = try TextParameters.parse(response.data)
        } catch {
            throw .invalidRedirect(status, reason: "its text is malformed: \(error)")
        }
        guard let address = keys["TargetAddress"] else {
            throw .invalidRedirect(status, reason: "it carries no TargetAddress")
        }
        do {
            _ = try TargetAddress(parsing: address)
        } catch {
            throw .invalidRedirect(status, reason: "its \(error)")
        }
        return .redirect(targetAddress: address, permanent: status == .targetMovedPermanently)
    }

    // MARK: - Requests

    /// Starts a logical request, splitting its text into C=1 parts when it exceeds the
    /// login data segment limit.
    private mutating func beginRequest(
        stage: LoginStage, transit: Bool, nextStage: LoginStage, keys: TextParameters
    ) -> LoginRequestFields {
        pending = PendingRequest(stage: stage, transit: transit, nextStage: transit ? nextStage : .security)
        outbound = keys.encode()
        return nextPart()
    }

    private mutating func nextPart() -> LoginRequestFields {
        let limit = configuration.maxLoginDataSegmentLength
        let part = Array(outbound.prefix(limit))
        outbound.removeFirst(part.count)
        let more = !outbound.isEmpty
        // RFC 7143 §11.12.2: a request with C=1 must have T=0.
        return LoginRequestFields(
            transit: more ? false : pending.transit,
            continueFlag: more,
            currentStage: pending.stage,
            nextStage: more ? .security : pending.nextStage,
            data: part)
    }

    // MARK: - Configuration

    private func hint(for status: LoginStatus) -> String {
        let usesCHAP: Bool
        if case .chap = configuration.authentication { usesCHAP = true } else { usesCHAP = false }
        return LoginError.hint(
            for: status, usesCHAP: usesCHAP, isDiscovery: configuration.sessionType == .discovery,
            initiatorName: configuration.initiatorName, targetName: configuration.targetName)
    }

    private static func makeCHAP(
        _ configuration: LoginConfiguration, _ randomSource: RandomSource
    ) throws(LoginError) -> CHAPInitiator? {
        guard case .chap(let credentials, let mutual, let algorithms) = configuration.authentication else { return nil }
        do {
            return try CHAPInitiator(
                credentials: credentials, mutual: mutual, algorithms: algorithms, randomSource: randomSource)
        } catch {
            throw .chap(error)
        }
    }

    private static func validate(_ configuration: LoginConfiguration) throws(LoginError) {
        func text(_ name: String, _ value: String) throws(LoginError) {
            guard !value.utf8.contains(0) else { throw .invalidConfiguration("\(name) contains a NUL character") }
            guard value.utf8.count <= 223 else {
                // RFC 7143 §4.2.7.1: iSCSI names are at most 223 bytes.
                throw .invalidConfiguration("\(name) is longer than 223 bytes")
            }
        }
        guard !configuration.initiatorName.isEmpty else { throw .invalidConfiguration("InitiatorName is empty") }
        try text("InitiatorName", configuration.initiatorName)
        if let alias = configuration.initiatorAlias { try text("InitiatorAlias", alias) }
        switch configuration.sessionType {
        case .normal:
            guard let target = configuration.targetName, !target.isEmpty else {
                throw .invalidConfiguration("a normal session needs a TargetName")
            }
            try text("TargetName", target)
        case .discovery:
            guard configuration.targetName == nil else {
                throw .invalidConfiguration("a discovery session must not name a target")
            }
        }
        if case .chap(let credentials, let mutual, _) = configuration.authentication {
            try text("CHAP username", credentials.username)
            if let mutual { try text("incoming CHAP username", mutual.username) }
        }
        guard configuration.maxRoundTrips >= 1 else { throw .invalidConfiguration("maxRoundTrips must be at least 1") }
        guard configuration.maxLoginDataSegmentLength >= 512 else {
            throw .invalidConfiguration("maxLoginDataSegmentLength must be at least 512")
        }
        do {
            try configuration.offer.validate()
        } catch {
            throw .negotiation(error)
        }
    }
}
