/// Operational parameter negotiation (RFC 7143 §6.2 and §13), initiator side.

/// Digest algorithms for HeaderDigest and DataDigest.
public enum DigestType: String, Sendable, Hashable, CaseIterable {
    case none = "None"
    case crc32c = "CRC32C"
}

/// SessionType key values.
public enum SessionType: String, Sendable, Hashable {
    case normal = "Normal"
    case discovery = "Discovery"
}

/// The values in force after login: negotiated results, our declarations and the target's.
/// A fresh value holds the RFC 7143 defaults.
public struct OperationalParameters: Equatable, Sendable {
    /// Digest on every PDU header (HeaderDigest).
    public var headerDigest: DigestType = .none
    /// Digest on every data segment (DataDigest).
    public var dataDigest: DigestType = .none
    /// Connections allowed in the session (MaxConnections).
    public var maxConnections: Int = 1
    /// Whether writes must wait for an R2T before sending unsolicited Data-Out (InitialR2T).
    public var initialR2T: Bool = true
    /// Whether write data may ride in the SCSI Command PDU (ImmediateData).
    public var immediateData: Bool = true
    /// What we declared: the largest data segment we accept.
    public var maxRecvDataSegmentLength: Int = 8192
    /// The target's declared MaxRecvDataSegmentLength (capped by our own limit, if any):
    /// the largest data segment we may send.
    public var maxXmitDataSegmentLength: Int = 8192
    /// Largest solicited or unsolicited data sequence in bytes (MaxBurstLength).
    public var maxBurstLength: Int = 262_144
    /// Largest unsolicited data per command in bytes (FirstBurstLength).
    public var firstBurstLength: Int = 65536
    /// Seconds to wait before reconnecting after a connection loss (DefaultTime2Wait).
    public var defaultTime2Wait: Int = 2
    /// Seconds the target keeps task state after that wait (DefaultTime2Retain).
    public var defaultTime2Retain: Int = 20
    /// R2Ts a task may have outstanding (MaxOutstandingR2T).
    public var maxOutstandingR2T: Int = 1
    /// Whether Data PDUs within a sequence come in offset order (DataPDUInOrder).
    public var dataPDUInOrder: Bool = true
    /// Whether data sequences come in offset order (DataSequenceInOrder).
    public var dataSequenceInOrder: Bool = true
    /// Negotiated error recovery level, 0...2 (ErrorRecoveryLevel).
    public var errorRecoveryLevel: Int = 0
    /// TargetAlias declared by the target.
    public var targetAlias: String?
    /// TargetPortalGroupTag declared by the target.
    public var targetPortalGroupTag: UInt16?

    /// RFC 7143 defaults.
    public init() {}
}

/// What the initiator asks for. Defaults follow open-iscsi's shipped iscsid.conf.
public struct OperationalOffer: Equatable, Sendable {
    /// Acceptable header digests, most preferred first.
    public var headerDigest: [DigestType] = [.none]
    /// Acceptable data digests, most preferred first.
    public var dataDigest: [DigestType] = [.none]
    /// The remaining values mean the same as in `OperationalParameters`.
    public var maxConnections: Int = 1
    public var initialR2T: Bool = false
    public var immediateData: Bool = true
    /// Largest data segment we accept (declared to the target).
    public var maxRecvDataSegmentLength: Int = 262_144
    /// Cap on the data segments we send; nil means "whatever the target declares".
    public var maxXmitDataSegmentLength: Int?
    public var maxBurstLength: Int = 16_776_192
    public var firstBurstLength: Int = 262_144
    public var defaultTime2Wait: Int = 2
    public var defaultTime2Retain: Int = 0
    public var maxOutstandingR2T: Int = 1
    public var dataPDUInOrder: Bool = true
    public var dataSequenceInOrder: Bool = true
    public var errorRecoveryLevel: Int = 0

    public init() {}

    /// Checks every value against its RFC 7143 range.
    public func validate() throws(NegotiationError) {
        func check(_ key: String, _ value: Int, _ range: ClosedRange<Int>) throws(NegotiationError) {
            guard range.contains(value) else {
                throw .invalidOffer(key: key, value: String(value), reason: "out of range \(range.lowerBound)...\(range.upperBound)")
            }
        }
        for (key, list) in [("HeaderDigest", headerDigest), ("DataDigest", dataDigest)] {
            guard !list.isEmpty, Set(list).count == list.count else {
                throw .invalidOffer(
                    key: key, value: TextValue.encodeList(list.map(\.rawValue)),
                    reason: "must list each digest at most once and at least one")
            }
        }
        try check("MaxConnections", maxConnections, 1...65535)
        try check("MaxRecvDataSegmentLength", maxRecvDataSegmentLength, 512...16_777_215)
        if let maxXmitDataSegmentLength {
            try check("MaxXmitDataSegmentLength", maxXmitDataSegmentLength, 512...16_777_215)
        }
        try check("MaxBurstLength", maxBurstLength, 512...16_777_215)
        try check("FirstBurstLength", firstBurstLength, 512...16_777_215)
        try check("DefaultTime2Wait", defaultTime2Wait, 0...3600)
        try check("DefaultTime2Retain", defaultTime2Retain, 0...3600)
        try check("MaxOutstandingR2T", maxOutstandingR2T, 1...65535)
        try check("ErrorRecoveryLevel", errorRecoveryLevel, 0...2)
        if firstBurstLength > maxBurstLength {
            throw .invalidOffer(
                key: "FirstBurstLength", value: String(firstBurstLength),
                reason: "must not exceed MaxBurstLength \(maxBurstLength)")
        }
    }
}

/// A negotiation the initiator cannot accept.
public enum NegotiationError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The target's answer breaks the key's result function.
    case illegalAnswer(key: String, offered: String, answered: String, rule: String)
    /// A value from the target is malformed or out of range.
    case invalidValue(key: String, value: String, reason: String)
    /// The target answered Reject/NotUnderstood (or nothing) for a key whose RFC default we cannot accept.
    case rejected(key: String, offered: String, answer: String)
    /// The target offered a list with nothing we support, and the default is not acceptable either.
    case noCommonValue(key: String, ours: String, theirs: String)
    /// The target negotiated a key a second time.
    case renegotiated(key: String)
    /// FirstBurstLength ended up larger than MaxBurstLength.
    case firstBurstExceedsMaxBurst(firstBurstLength: Int, maxBurstLength: Int)
    /// Our own configuration is invalid.
    case invalidOffer(key: String, value: String, reason: String)

    public var description: String {
        switch self {
        case .illegalAnswer(let key, let offered, let answered, let rule):
            return "target answered \(key)=\(TextKeyError.quote(answered)) to our offer \(offered), "
                + "which the \(rule) result function does not allow"
        case .invalidValue(let key, let value, let reason):
            return "target sent invalid \(key)=\(TextKeyError.quote(value)): \(reason)"
        case .rejected(let key, let offered, let answer):
            return "target answered \(key)=\(answer) to our offer \(offered), and the RFC default is not acceptable with our settings"
        case .noCommonValue(let key, let ours, let theirs):
            return "target offered \(key)=\(TextKeyError.quote(theirs)) but we accept only \(ours)"
        case .renegotiated(let key):
            return "target negotiated \(key) a second time"
        case .firstBurstExceedsMaxBurst(let first, let max):
            return "negotiated FirstBurstLength \(first) exceeds MaxBurstLength \(max)"
        case .invalidOffer(let key, let value, let reason):
            return "invalid configured \(key)=\(value): \(reason)"
        }
    }
}

/// Drives operational negotiation for one connection: builds our offer, checks the target's
/// answers against the result functions, and answers the target's own offers.
public struct OperationalNegotiator {
    /// What we ask for.
    public let offer: OperationalOffer
    public let sessionType: SessionType
    /// Current values: defaults, then results as keys settle.
    public private(set) var parameters: OperationalParameters
    /// TargetAddress values the target declared.
    public private(set) var targetAddresses: [String] = []

    /// Keys we offered that the target has not answered yet (name → our value).
    private var awaiting: [String: Value] = [:]
    /// Keys whose negotiation is over.
    private var settled: Set<String> = []

    public init(offer: OperationalOffer, sessionType: SessionType) {
        self.offer = offer
        self.sessionType = sessionType
        var parameters = OperationalParameters()
        parameters.maxRecvDataSegmentLength = offer.maxRecvDataSegmentLength
        if let cap = offer.maxXmitDataSegmentLength {
            parameters.maxXmitDataSegmentLength = min(parameters.maxXmitDataSegmentLength, cap)
        }
        self.parameters = parameters
    }

    /// Names of offered keys still waiting for the target's answer.
    public var pendingKeys: [String] {
        KeySpec.all.map(\.name).filter { awaiting[$0] != nil }
    }

    /// Our opening keys: every key whose value differs from the RFC default, plus the
    /// MaxRecvDataSegmentLength declaration. Keys already settled (the target offered them
    /// first) are left out.
    public mutating func initialKeys() -> TextParameters {
        var keys = TextParameters()
        for spec in KeySpec.all where spec.offerable && !settled.contains(spec.name) && awaiting[spec.name] == nil {
            if spec.name == "MaxBurstLength" {
                // Declarations go in the usual open-iscsi position, before the burst sizes.
                keys.append("MaxRecvDataSegmentLength", String(offer.maxRecvDataSegmentLength))
            }
            if sessionType == .discovery && spec.irrelevantInDiscovery { continue }
            if sessionType == .discovery && !spec.isDigest { continue }
            if spec.name == "FirstBurstLength" && firstBurstIsIrrelevant { continue }
            let ours = spec.ours(offer)
            guard ours != spec.rfcDefault else { continue }
            keys.append(spec.name, ours.text)
            awaiting[spec.name] = ours
        }
        if !keys.contains(key: "MaxRecvDataSegmentLength") {
            keys.append("MaxRecvDataSegmentLength", String(offer.maxRecvDataSegmentLength))
        }
        return keys
    }

    /// Consumes keys from a login (or text) response and returns our replies to the target's
    /// offers. Keys not known here are answered NotUnderstood.
    public mutating func receive(_ keys: TextParameters) throws(NegotiationError) -> TextParameters {
        var reply = TextParameters()
        for entry in keys {
            if let answer = try receive(key: entry.key, value: entry.value) {
                reply.append(entry.key, answer)
            }
        }
        return reply
    }

    /// Ends negotiation: unanswered offers fall back to the RFC default (when acceptable)
    /// and cross-key constraints are checked.
    public mutating func finish() throws(NegotiationError) -> OperationalParameters {
        for spec in KeySpec.all {
            guard let ours = awaiting[spec.name] else { continue }
            try fallBack(spec, ours: ours, answer: "(no answer)")
        }
        if !firstBurstIsIrrelevant && sessionType == .normal
            && parameters.firstBurstLength > parameters.maxBurstLength
        {
            throw .firstBurstExceedsMaxBurst(
                firstBurstLength: parameters.firstBurstLength, maxBurstLength: parameters.maxBurstLength)
        }
        return parameters
    }

    // MARK: - One key

    private mutating func receive(key: String, value: String) throws(NegotiationError) -> String? {
        switch key {
        case "MaxRecvDataSegmentLength":
            // Declarative: the target's receive limit is our transmit limit.
            if isSpecialAnswer(value) { return nil }
            let declared = Int(try number(key, value, in: 512...16_777_215))
            parameters.maxXmitDataSegmentLength = min(declared, offer.maxXmitDataSegmentLength ?? declared)
            return nil
        case "TargetAlias":
            parameters.targetAlias = value
            return nil
        case "TargetPortalGroupTag":
            parameters.targetPortalGroupTag = UInt16(try number(key, value, in: 0...65535))
            return nil
        case "TargetAddress":
            targetAddresses.append(value)
            return nil
        case "InitiatorName", "InitiatorAlias", "SessionType", "TargetName":
            // Declaratives that belong to us; an echo carries no information.
            return nil
        default:
            break
        }
        guard let spec = KeySpec.named(key) else {
            // Answers to keys we never sent carry nothing to act on.
            return isSpecialAnswer(value) ? nil : TextValue.notUnderstood
        }
        if let ours = awaiting.removeValue(forKey: key) {
            settled.insert(key)
            try handleAnswer(spec, ours: ours, value: value)
            return nil
        }
        guard !settled.contains(key) else { throw .renegotiated(key: key) }
        settled.insert(key)
        return try handleOffer(spec, value: value)
    }

    /// The target answered one of our offers.
    private mutating func handleAnswer(_ spec: KeySpec, ours: Value, value: String) throws(NegotiationError) {
        switch value {
        case TextValue.irrelevant:
            spec.apply(&parameters, spec.rfcDefault)
            return
        case TextValue.notUnderstood, TextValue.reject:
            try fallBack(spec, ours: ours, answer: value)
            return
        default:
            break
        }
        let answer = try parse(spec, value)
        guard spec.rule.allows(answer: answer, ours: ours) else {
            throw .illegalAnswer(key: spec.name, offered: ours.text, answered: value, rule: spec.rule.name)
        }
        spec.apply(&parameters, answer)
    }

    /// The target offered a key first; we answer with the result function over both values.
    private mutating func handleOffer(_ spec: KeySpec, value: String) throws(NegotiationError) -> String {
        if isSpecialAnswer(value) {
            throw .invalidValue(key: spec.name, value: value, reason: "not a valid offer")
        }
        if case .alwaysIrrelevant = spec.rule { return TextValue.irrelevant }
        if sessionType == .discovery && spec.irrelevantInDiscovery { return TextValue.irrelevant }
        if spec.name == "FirstBurstLength" && firstBurstIsIrrelevant { return TextValue.irrelevant }
        let theirs = try parse(spec, value)
        let ours = spec.ours(offer)
        guard let result = spec.rule.result(ours: ours, theirs: theirs) else {
            // No common list value: answer Reject and live with the default if we can.
            guard spec.rule.allows(answer: spec.rfcDefault, ours: ours) else {
                throw .noCommonValue(key: spec.name, ours: ours.text, theirs: value)
            }
            spec.apply(&parameters, spec.rfcDefault)
            return TextValue.reject
        }
        spec.apply(&parameters, result)
        return result.text
    }

    /// Uses the RFC default for a key the target did not settle, if our offer permits it.
    private mutating func fallBack(_ spec: KeySpec, ours: Value, answer: String) throws(NegotiationError) {
        awaiting[spec.name] = nil
        settled.insert(spec.name)
        guard !spec.strictFallback || spec.rule.allows(answer: spec.rfcDefault, ours: ours) else {
            throw .rejected(key: spec.name, offered: ours.text, answer: answer)
        }
        spec.apply(&parameters, spec.rfcDefault)
    }

    /// FirstBurstLength does not matter when unsolicited data is impossible
    /// (InitialR2T=Yes and ImmediateData=No); uses results where settled, else our offer.
    private var firstBurstIsIrrelevant: Bool {
        let initialR2T = settled.contains("InitialR2T") ? parameters.initialR2T : offer.initialR2T
        let immediateData = settled.contains("ImmediateData") ? parameters.immediateData : offer.immediateData
        return initialR2T && !immediateData
    }

    private func isSpecialAnswer(_ value: String) -> Bool {
        value == TextValue.notUnderstood || value == TextValue.irrelevant || value == TextValue.reject
    }

    private func parse(_ spec: KeySpec, _ value: String) throws(NegotiationError) -> Value {
        switch spec.rule {
        case .minimum(let range), .maximum(let range):
            return .number(try number(spec.name, value, in: range))
        case .or, .and:
            do { return .boolean(try TextValue.boolean(value, key: spec.name)) } catch {
                throw .invalidValue(key: spec.name, value: value, reason: "expected Yes or No")
            }
        case .list, .alwaysIrrelevant:
            do { return .list(try TextValue.list(value, key: spec.name)) } catch {
                throw .invalidValue(key: spec.name, value: value, reason: "empty element in list")
            }
        }
    }

    private func number(_ key: String, _ value: String, in range: ClosedRange<UInt64>) throws(NegotiationError) -> UInt64 {
        do {
            return try TextValue.number(value, key: key, in: range)
        } catch {
            if case .invalidValue(_, _, let reason) = error {
                throw .invalidValue(key: key, value: value, reason: reason)
            }
            throw .invalidValue(key: key, value: value, reason: error.description)
        }
    }
}

// MARK: - Key table

extension OperationalNegotiator {
    /// A negotiable value in comparable form.
    enum Value: Equatable {
        case number(UInt64)
        case boolean(Bool)
        case list([String])

        var text: String {
            switch self {
            case .number(let n): return String(n)
            case .boolean(let b): return TextValue.encodeBoolean(b)
            case .list(let items): return TextValue.encodeList(items)
            }
        }
    }

    /// RFC 7143 result functions.
    enum Rule {
        case minimum(ClosedRange<UInt64>)
        case maximum(ClosedRange<UInt64>)
        case or
        case and
        case list
        /// Obsolete keys (RFC 3720 markers) that are irrelevant once markers are off.
        case alwaysIrrelevant

        var name: String {
            switch self {
            case .minimum: return "Minimum"
            case .maximum: return "Maximum"
            case .or: return "OR"
            case .and: return "AND"
            case .list: return "list"
            case .alwaysIrrelevant: return "Irrelevant"
            }
        }

        /// Whether `answer` is a legal response to our offer `ours`.
        func allows(answer: Value, ours: Value) -> Bool {
            switch (self, answer, ours) {
            case (.minimum, .number(let a), .number(let o)): return a <= o
            case (.maximum, .number(let a), .number(let o)): return a >= o
            case (.or, .boolean(let a), .boolean(let o)): return a || !o
            case (.and, .boolean(let a), .boolean(let o)): return !a || o
            case (.list, .list(let a), .list(let o)): return a.count == 1 && o.contains(a[0])
            default: return false
            }
        }

        /// Our answer to an offer; nil when a list has nothing in common.
        func result(ours: Value, theirs: Value) -> Value? {
            switch (self, ours, theirs) {
            case (.minimum, .number(let o), .number(let t)): return .number(Swift.min(o, t))
            case (.maximum, .number(let o), .number(let t)): return .number(Swift.max(o, t))
            case (.or, .boolean(let o), .boolean(let t)): return .boolean(o || t)
            case (.and, .boolean(let o), .boolean(let t)): return .boolean(o && t)
            case (.list, .list(let o), .list(let t)):
                // RFC 7143 §6.2.1: the responder picks the first offered value it supports.
                return t.first(where: { o.contains($0) }).map { .list([$0]) }
            default: return nil
            }
        }
    }

    /// One negotiable key.
    struct KeySpec {
        let name: String
        let rule: Rule
        let rfcDefault: Value
        /// Whether we ever put it in our own offer (obsolete keys are only answered).
        let offerable: Bool
        let irrelevantInDiscovery: Bool
        /// Whether falling back to the RFC default must respect our offer. Timers are lenient:
        /// a different wait or retain time is harmless, unlike a larger burst or a missing digest.
        var strictFallback: Bool { name != "DefaultTime2Wait" && name != "DefaultTime2Retain" }
        let ours: (OperationalOffer) -> Value
        let apply: (inout OperationalParameters, Value) -> Void

        var isDigest: Bool { name == "HeaderDigest" || name == "DataDigest" }

        static func named(_ name: String) -> KeySpec? { all.first(where: { $0.name == name }) }

        private static let lengthRange: ClosedRange<UInt64> = 512...16_777_215

        private static func number(
            _ name: String, _ rule: Rule, default value: UInt64, discovery irrelevant: Bool,
            _ path: WritableKeyPath<OperationalParameters, Int>, _ offer: KeyPath<OperationalOffer, Int>
        ) -> KeySpec {
            KeySpec(
                name: name, rule: rule, rfcDefault: .number(value), offerable: true,
                irrelevantInDiscovery: irrelevant,
                ours: { .number(UInt64($0[keyPath: offer])) },
                apply: { params, v in if case .number(let n) = v { params[keyPath: path] = Int(n) } })
        }

        private static func boolean(
            _ name: String, _ rule: Rule, default value: Bool,
            _ path: WritableKeyPath<OperationalParameters, Bool>, _ offer: KeyPath<OperationalOffer, Bool>
        ) -> KeySpec {
            KeySpec(
                name: name, rule: rule, rfcDefault: .boolean(value), offerable: true,
                irrelevantInDiscovery: true,
                ours: { .boolean($0[keyPath: offer]) },
                apply: { params, v in if case .boolean(let b) = v { params[keyPath: path] = b } })
        }

        private static func digest(
            _ name: String, _ path: WritableKeyPath<OperationalParameters, DigestType>,
            _ offer: KeyPath<OperationalOffer, [DigestType]>
        ) -> KeySpec {
            KeySpec(
                name: name, rule: .list, rfcDefault: .list([DigestType.none.rawValue]), offerable: true,
                irrelevantInDiscovery: false,
                ours: { .list($0[keyPath: offer].map(\.rawValue)) },
                apply: { params, v in
                    if case .list(let items) = v, let first = items.first, let digest = DigestType(rawValue: first) {
                        params[keyPath: path] = digest
                    }
                })
        }

        /// Answer-only key with a fixed value of ours and no parameter to store.
        private static func answerOnly(_ name: String, _ rule: Rule, default value: Value, ours: Value) -> KeySpec {
            KeySpec(
                name: name, rule: rule, rfcDefault: value, offerable: false, irrelevantInDiscovery: true,
                ours: { _ in ours }, apply: { _, _ in })
        }

        /// Keys in the order we send them.
        static let all: [KeySpec] = [
            digest("HeaderDigest", \.headerDigest, \.headerDigest),
            digest("DataDigest", \.dataDigest, \.dataDigest),
            number("MaxConnections", .minimum(1...65535), default: 1, discovery: true, \.maxConnections, \.maxConnections),
            boolean("InitialR2T", .or, default: true, \.initialR2T, \.initialR2T),
            boolean("ImmediateData", .and, default: true, \.immediateData, \.immediateData),
            number("MaxBurstLength", .minimum(lengthRange), default: 262_144, discovery: true, \.maxBurstLength, \.maxBurstLength),
            number("FirstBurstLength", .minimum(lengthRange), default: 65536, discovery: true, \.firstBurstLength, \.firstBurstLength),
            number("DefaultTime2Wait", .maximum(0...3600), default: 2, discovery: false, \.defaultTime2Wait, \.defaultTime2Wait),
            number("DefaultTime2Retain", .minimum(0...3600), default: 20, discovery: false, \.defaultTime2Retain, \.defaultTime2Retain),
            number("MaxOutstandingR2T", .minimum(1...65535), default: 1, discovery: true, \.maxOutstandingR2T, \.maxOutstandingR2T),
            boolean("DataPDUInOrder", .or, default: true, \.dataPDUInOrder, \.dataPDUInOrder),
            boolean("DataSequenceInOrder", .or, default: true, \.dataSequenceInOrder, \.dataSequenceInOrder),
            number("ErrorRecoveryLevel", .minimum(0...2), default: 0, discovery: false, \.errorRecoveryLevel, \.errorRecoveryLevel),
            // RFC 7143 §13.22: we implement the RFC 3720-compatible task reporting only.
            answerOnly("TaskReporting", .list, default: .list(["RFC3720"]), ours: .list(["RFC3720"])),
            // RFC 7144: we speak RFC 7143 (level 1).
            answerOnly("iSCSIProtocolLevel", .minimum(0...31), default: .number(1), ours: .number(1)),
            // RFC 3720 markers, obsoleted by RFC 7143: old targets still offer them.
            answerOnly("IFMarker", .and, default: .boolean(false), ours: .boolean(false)),
            answerOnly("OFMarker", .and, default: .boolean(false), ours: .boolean(false)),
            answerOnly("IFMarkInt", .alwaysIrrelevant, default: .list(["2048"]), ours: .list(["2048"])),
            answerOnly("OFMarkInt", .alwaysIrrelevant, default: .list(["2048"]), ours: .list(["2048"])),
        ]
    }
}
