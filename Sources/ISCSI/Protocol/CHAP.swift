import Crypto

/// CHAP authentication, initiator side (RFC 1994, RFC 7143 §12.1.3).

/// CHAP_A hash algorithms (IANA PPP authentication algorithm numbers).
public enum CHAPAlgorithm: Int, Sendable, Hashable, CaseIterable {
    case md5 = 5
    case sha1 = 6
    case sha256 = 7

    /// Digest size in bytes.
    public var digestLength: Int {
        switch self {
        case .md5: return 16
        case .sha1: return 20
        case .sha256: return 32
        }
    }

    /// The name open-iscsi uses in node.session.auth.chap_algs.
    public var name: String {
        switch self {
        case .md5: return "MD5"
        case .sha1: return "SHA1"
        case .sha256: return "SHA256"
        }
    }

    /// H(parts[0] ‖ parts[1] ‖ …).
    func hash(_ parts: [[UInt8]]) -> [UInt8] {
        func run<H: HashFunction>(_ hasher: inout H) -> [UInt8] {
            for part in parts {
                part.withUnsafeBytes { hasher.update(bufferPointer: $0) }
            }
            return Array(hasher.finalize())
        }
        switch self {
        case .md5:
            var hasher = Insecure.MD5()
            return run(&hasher)
        case .sha1:
            var hasher = Insecure.SHA1()
            return run(&hasher)
        case .sha256:
            var hasher = SHA256()
            return run(&hasher)
        }
    }
}

/// A CHAP name and secret. Printing, dumping or interpolating it never shows the secret.
public struct CHAPCredentials: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// CHAP_N: the name sent with the response.
    public var username: String
    /// The shared secret bytes; internal so that it cannot leak through the public API.
    let secret: [UInt8]

    /// Credentials with a text secret (its UTF-8 bytes are used, as open-iscsi does).
    public init(username: String, secret: String) {
        self.username = username
        self.secret = Array(secret.utf8)
    }

    /// Credentials with a binary secret.
    public init(username: String, secret: [UInt8]) {
        self.username = username
        self.secret = secret
    }

    /// Whether both credentials use the same secret (not constant time: configuration check only).
    func hasSameSecret(as other: CHAPCredentials) -> Bool { secret == other.secret }

    public var description: String { "CHAPCredentials(username: \"\(username)\", secret: <redacted>)" }
    public var debugDescription: String { description }
    public var customMirror: Mirror {
        Mirror(self, children: ["username": username, "secret": "<redacted>"], displayStyle: .struct)
    }
}

/// Source of random bytes for CHAP identifiers and challenges; injectable for tests.
public struct RandomSource {
    private let generate: (Int) -> [UInt8]

    /// Wraps a generator that returns `count` bytes.
    public init(_ generate: @escaping (Int) -> [UInt8]) {
        self.generate = generate
    }

    /// Cryptographically secure bytes from the system generator.
    public static var system: RandomSource {
        RandomSource { count in
            var generator = SystemRandomNumberGenerator()
            return (0..<count).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        }
    }

    /// Exactly `count` bytes (a short generator is topped up from the system generator).
    func bytes(_ count: Int) -> [UInt8] {
        var out = Array(generate(count).prefix(count))
        if out.count < count {
            var generator = SystemRandomNumberGenerator()
            out += (out.count..<count).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        }
        return out
    }
}

/// Why CHAP authentication failed on our side.
public enum CHAPError: Error, Equatable, Sendable, CustomStringConvertible {
    /// No CHAP algorithm configured.
    case noAlgorithmsConfigured
    /// Empty username or secret in the configuration (`direction`: "outgoing" or "incoming").
    case incompleteCredentials(direction: String)
    /// The target answered CHAP_A=Reject (or NotUnderstood): none of our algorithms is acceptable.
    case algorithmRejected(offered: [Int])
    /// The target chose a CHAP_A we did not offer.
    case targetRequestedUnofferedAlgorithm(Int)
    /// CHAP_A, CHAP_I or CHAP_C from the target is missing or malformed.
    case malformedChallenge(key: String, reason: String)
    /// The target's challenge equals ours (reflection attack).
    case reflectedChallenge
    /// Mutual CHAP configured with the same secret both ways (RFC 7143 §12.1.3: MUST NOT).
    case sameSecretBothWays
    /// The target's CHAP_N is not the configured incoming username.
    case targetNameMismatch(expected: String, got: String)
    /// The target's CHAP_R does not match the incoming secret.
    case targetResponseMismatch
    /// The target's CHAP_R cannot be decoded.
    case malformedResponse(key: String, reason: String)
    /// Mutual CHAP: the target completed the stage without sending CHAP_N and CHAP_R.
    case targetDidNotAuthenticate

    public var description: String {
        switch self {
        case .noAlgorithmsConfigured:
            return "CHAP: no hash algorithm configured (node.session.auth.chap_algs)"
        case .incompleteCredentials(let direction):
            return "CHAP: the \(direction) username or secret is empty"
        case .algorithmRejected(let offered):
            return "CHAP: the target supports none of the offered algorithms CHAP_A=\(offered.map(String.init).joined(separator: ","))"
        case .targetRequestedUnofferedAlgorithm(let n):
            return "CHAP: the target chose algorithm CHAP_A=\(n), which we did not offer"
        case .malformedChallenge(let key, let reason):
            return "CHAP: the target's \(key) is unusable: \(reason)"
        case .reflectedChallenge:
            return "CHAP: the target's challenge equals ours (possible reflection attack)"
        case .sameSecretBothWays:
            return "mutual CHAP: the incoming and outgoing secrets are identical, which RFC 7143 forbids"
        case .targetNameMismatch(let expected, let got):
            return "mutual CHAP: the target named itself \"\(got)\", expected \"\(expected)\""
        case .targetResponseMismatch:
            return "mutual CHAP: the target's response does not match the configured incoming secret"
        case .malformedResponse(let key, let reason):
            return "mutual CHAP: the target's \(key) is unusable: \(reason)"
        case .targetDidNotAuthenticate:
            return "mutual CHAP: the target did not send CHAP_N/CHAP_R to authenticate itself"
        }
    }
}

/// The initiator's half of a CHAP exchange, one- or two-way.
public struct CHAPInitiator {
    /// RFC 7143 leaves the challenge size to implementations; more than this is treated as hostile.
    public static let maxChallengeLength = 1024

    public let credentials: CHAPCredentials
    /// Incoming credentials: set for mutual CHAP.
    public let mutual: CHAPCredentials?
    public let algorithms: [CHAPAlgorithm]
    private let randomSource: RandomSource

    /// The algorithm the target chose.
    public private(set) var algorithm: CHAPAlgorithm?
    /// Our identifier and challenge for the target (mutual CHAP).
    private var ourIdentifier: UInt8?
    private var ourChallenge: [UInt8]?

    public init(
        credentials: CHAPCredentials, mutual: CHAPCredentials?, algorithms: [CHAPAlgorithm],
        randomSource: RandomSource = .system
    ) throws(CHAPError) {
        guard !algorithms.isEmpty else { throw .noAlgorithmsConfigured }
        guard !credentials.username.isEmpty, !credentials.secret.isEmpty else {
            throw .incompleteCredentials(direction: "outgoing")
        }
        if let mutual {
            guard !mutual.username.isEmpty, !mutual.secret.isEmpty else {
                throw .incompleteCredentials(direction: "incoming")
            }
            guard !mutual.hasSameSecret(as: credentials) else { throw .sameSecretBothWays }
        }
        self.credentials = credentials
        self.mutual = mutual
        self.algorithms = algorithms
        self.randomSource = randomSource
    }

    /// Whether we also authenticate the target.
    public var isMutual: Bool { mutual != nil }

    /// Our CHAP_A offer, in configured preference order.
    public func algorithmOffer() -> TextParameters {
        var keys = TextParameters()
        keys.append("CHAP_A", TextValue.encodeList(uniqueAlgorithms.map { String($0.rawValue) }))
        return keys
    }

    private var uniqueAlgorithms: [CHAPAlgorithm] {
        var seen = Set<CHAPAlgorithm>()
        return algorithms.filter { seen.insert($0).inserted }
    }

    /// Answers the target's CHAP_A/CHAP_I/CHAP_C with CHAP_N/CHAP_R, plus our own
    /// CHAP_I/CHAP_C in mutual mode.
    public mutating func respond(to keys: TextParameters) throws(CHAPError) -> TextParameters {
        guard let algorithmText = keys["CHAP_A"] else {
            throw .malformedChallenge(key: "CHAP_A", reason: "missing")
        }
        if algorithmText == TextValue.reject || algorithmText == TextValue.notUnderstood {
            throw .algorithmRejected(offered: uniqueAlgorithms.map(\.rawValue))
        }
        let algorithmNumber: UInt64
        do {
            algorithmNumber = try TextValue.number(algorithmText, key: "CHAP_A")
        } catch {
            throw .malformedChallenge(key: "CHAP_A", reason: "expected one algorithm number")
        }
        guard let chosen = uniqueAlgorithms.first(where: { UInt64($0.rawValue) == algorithmNumber }) else {
            throw .targetRequestedUnofferedAlgorithm(Int(clamping: algorithmNumber))
        }
        guard let identifierText = keys["CHAP_I"] else {
            throw .malformedChallenge(key: "CHAP_I", reason: "missing")
        }
        let identifier: UInt8
        do {
            identifier = UInt8(try TextValue.number(identifierText, key: "CHAP_I", in: 0...255))
        } catch {
            throw .malformedChallenge(key: "CHAP_I", reason: "expected a number 0...255")
        }
        guard let challengeText = keys["CHAP_C"] else {
            throw .malformedChallenge(key: "CHAP_C", reason: "missing")
        }
        let challenge: [UInt8]
        do {
            challenge = try TextValue.binary(challengeText, key: "CHAP_C")
        } catch {
            if case .invalidValue(_, _, let reason) = error { throw .malformedChallenge(key: "CHAP_C", reason: reason) }
            throw .malformedChallenge(key: "CHAP_C", reason: error.description)
        }
        guard !challenge.isEmpty, challenge.count <= Self.maxChallengeLength else {
            throw .malformedChallenge(
                key: "CHAP_C", reason: "length \(challenge.count) bytes is outside 1...\(Self.maxChallengeLength)")
        }

        algorithm = chosen
        var reply = TextParameters()
        reply.append("CHAP_N", credentials.username)
        let response = Self.response(
            algorithm: chosen, identifier: identifier, secret: credentials.secret, challenge: challenge)
        reply.append("CHAP_R", TextValue.encodeHex(response))

        if isMutual {
            let ourChallenge = randomSource.bytes(max(16, chosen.digestLength))
            // Never answer a challenge we issued ourselves: a reflecting target could use our
            // own answer to pass mutual authentication.
            guard ourChallenge != challenge else { throw .reflectedChallenge }
            let ourIdentifier = randomSource.bytes(1)[0]
            self.ourChallenge = ourChallenge
            self.ourIdentifier = ourIdentifier
            reply.append("CHAP_I", String(ourIdentifier))
            reply.append("CHAP_C", TextValue.encodeHex(ourChallenge))
        }
        return reply
    }

    /// Mutual CHAP: checks the target's CHAP_N and CHAP_R.
    public func verifyTarget(_ keys: TextParameters) throws(CHAPError) {
        guard let mutual, let algorithm, let ourIdentifier, let ourChallenge else { return }
        guard let name = keys["CHAP_N"], let responseText = keys["CHAP_R"] else {
            throw .targetDidNotAuthenticate
        }
        guard name == mutual.username else {
            throw .targetNameMismatch(expected: mutual.username, got: name)
        }
        let response: [UInt8]
        do {
            response = try TextValue.binary(responseText, key: "CHAP_R")
        } catch {
            if case .invalidValue(_, _, let reason) = error { throw .malformedResponse(key: "CHAP_R", reason: reason) }
            throw .malformedResponse(key: "CHAP_R", reason: error.description)
        }
        let expected = Self.response(
            algorithm: algorithm, identifier: ourIdentifier, secret: mutual.secret, challenge: ourChallenge)
        guard Self.constantTimeEqual(response, expected) else { throw .targetResponseMismatch }
    }

    /// CHAP_R = H(identifier ‖ secret ‖ challenge) (RFC 1994 §4.1).
    public static func response(
        algorithm: CHAPAlgorithm, identifier: UInt8, secret: [UInt8], challenge: [UInt8]
    ) -> [UInt8] {
        algorithm.hash([[identifier], secret, challenge])
    }

    /// Compares without an early exit so timing does not reveal how many bytes matched.
    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in 0..<a.count {
            difference |= a[index] ^ b[index]
        }
        return difference == 0
    }
}
