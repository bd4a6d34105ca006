/// `node.startup`: when a node record is logged in.
public enum NodeStartup: String, CaseIterable, Sendable {
    /// Only on explicit login.
    case manual
    /// At service start (`mpathctl node login --all automatic`).
    case automatic
    /// Like automatic, but never logged out by "logout all" (root on iSCSI).
    case onboot
}

/// `*.auth.authmethod`.
public enum AuthMethod: String, CaseIterable, Sendable {
    case none = "None"
    case chap = "CHAP"
}

/// CHAP digest algorithms (`node.session.auth.chap_algs`), with their CHAP_A codes.
public enum CHAPAlgorithm: String, CaseIterable, Sendable {
    case md5 = "MD5"
    case sha1 = "SHA1"
    case sha256 = "SHA256"
    case sha3_256 = "SHA3-256"

    /// The value sent in the CHAP_A key (RFC 1994 / RFC 7143 §12.1.3 and IANA registry).
    public var chapA: Int {
        switch self {
        case .md5: return 5
        case .sha1: return 6
        case .sha256: return 7
        case .sha3_256: return 8
        }
    }
}

/// HeaderDigest / DataDigest proposal, in preference order as open-iscsi writes it.
public enum DigestPreference: String, CaseIterable, Sendable {
    case none = "None"
    case crc32c = "CRC32C"
    case crc32cOrNone = "CRC32C,None"
    case noneOrCRC32C = "None,CRC32C"

    /// The values to offer in the Login key, most preferred first.
    public var offer: [String] { rawValue.split(separator: ",").map(String.init) }
}

/// `node.session.scan`: whether LUNs are scanned automatically after login and on AENs.
public enum ScanMode: String, CaseIterable, Sendable {
    case auto
    case manual
}

/// CHAP credentials and method for one kind of session (normal or discovery).
///
/// Descriptions, debug descriptions and mirrors mask the passwords, so logging a settings
/// value can never leak a secret.
public struct AuthSettings: Equatable, Sendable, CustomStringConvertible, CustomDebugStringConvertible,
    CustomReflectable
{
    /// Checked for validity; CHAP is used whenever credentials are set, as in open-iscsi.
    public var authMethod: AuthMethod = .none
    /// Initiator's CHAP name (target authenticates initiator).
    public var username: String?
    /// Initiator's CHAP secret.
    public var password: String?
    /// Target's CHAP name for mutual CHAP.
    public var usernameIn: String?
    /// Target's CHAP secret for mutual CHAP.
    public var passwordIn: String?

    public init() {}

    /// True when CHAP must be offered: a method of CHAP or any one-way credentials present.
    public var usesCHAP: Bool {
        authMethod == .chap || (username != nil && password != nil)
    }

    /// True when the target must authenticate itself too.
    public var isMutual: Bool { usernameIn != nil && passwordIn != nil }

    public var description: String {
        func show(_ value: String?) -> String { value ?? "<empty>" }
        func mask(_ value: String?) -> String { value == nil ? "<empty>" : SessionSettings.mask }
        return "AuthSettings(authmethod: \(authMethod.rawValue), username: \(show(username)), "
            + "password: \(mask(password)), username_in: \(show(usernameIn)), password_in: \(mask(passwordIn)))"
    }

    public var debugDescription: String { description }

    public var customMirror: Mirror {
        Mirror(self, children: ["masked": description], displayStyle: .struct)
    }
}

/// Negotiable iSCSI operational parameters (RFC 7143 §13) proposed at login.
public struct OperationalSettings: Equatable, Sendable {
    /// `InitialR2T`
    public var initialR2T = false
    /// `ImmediateData`
    public var immediateData = true
    /// `FirstBurstLength`
    public var firstBurstLength = 262_144
    /// `MaxBurstLength`
    public var maxBurstLength = 16_776_192
    /// `DefaultTime2Wait`
    public var defaultTime2Wait = 2
    /// `DefaultTime2Retain`
    public var defaultTime2Retain = 20
    /// `MaxOutstandingR2T`
    public var maxOutstandingR2T = 1
    /// `MaxConnections`
    public var maxConnections = 1
    /// ErrorRecoveryLevel.
    public var errorRecoveryLevel = 0
    /// `DataPDUInOrder`
    public var dataPDUInOrder = true
    /// `DataSequenceInOrder`
    public var dataSequenceInOrder = true
    /// What we can receive per data PDU (declared, not negotiated).
    public var maxRecvDataSegmentLength = 262_144
    /// Cap on what we send per PDU; 0 = use the target's declared MaxRecvDataSegmentLength.
    public var maxXmitDataSegmentLength = 0
    /// `HeaderDigest`
    public var headerDigest = DigestPreference.none
    /// `DataDigest`
    public var dataDigest = DigestPreference.none

    public init() {}
}

/// Every session setting of iscsid.conf / a node record, typed, with mpath-iscsi's defaults.
///
/// Defaults follow open-iscsi's shipped iscsid.conf except the NOP-Out timers (1 s interval,
/// 2 s timeout), chosen so a silent path is declared dead within ~3 s for multipath.
public struct SessionSettings: Equatable, Sendable {
    /// `node.startup`
    public var startup = NodeStartup.manual
    /// `node.leading_login`
    public var leadingLogin = false
    /// `node.session.auth.*` (except chap_algs)
    public var auth = AuthSettings()
    /// `node.session.auth.chap_algs`, preference order.
    public var chapAlgorithms: [CHAPAlgorithm] = [.md5]
    /// `discovery.sendtargets.auth.*`
    public var discoveryAuth = AuthSettings()
    /// `discovery.sendtargets.iscsi.MaxRecvDataSegmentLength`
    public var discoveryMaxRecvDataSegmentLength = 32_768

    /// `node.conn[0].timeo.noop_out_interval` (s, 0 = no NOP-Out pings)
    public var noopOutInterval = 1
    /// `node.conn[0].timeo.noop_out_timeout` (s, 0 = never time out)
    public var noopOutTimeout = 2
    /// `node.conn[0].timeo.login_timeout` (s)
    public var loginTimeout = 15
    /// `node.conn[0].timeo.logout_timeout` (s)
    public var logoutTimeout = 15
    /// `node.session.timeo.replacement_timeout` (s; 0 = fail IO at once, < 0 = queue forever)
    public var replacementTimeout = 120
    /// `node.session.err_timeo.abort_timeout` (s)
    public var abortTimeout = 15
    /// `node.session.err_timeo.lu_reset_timeout` (s)
    public var luResetTimeout = 30
    /// `node.session.err_timeo.tgt_reset_timeout` (s)
    public var targetResetTimeout = 30
    /// `node.session.err_timeo.host_reset_timeout` (s)
    public var hostResetTimeout = 60
    /// `node.session.initial_login_retry_max`
    public var initialLoginRetryMax = 8
    /// `node.session.reopen_max` (0 = retry relogin forever)
    public var reopenMax = 0
    /// `node.session.cmds_max` (power of two, 2...2048)
    public var cmdsMax = 128
    /// `node.session.queue_depth` (per LUN, 1...1024)
    public var queueDepth = 32
    /// `node.session.nr_sessions` (sessions per node record and iface)
    public var nrSessions = 1
    /// `node.session.scan`
    public var scan = ScanMode.auto
    /// `node.session.iscsi.FastAbort`
    public var fastAbort = true
    /// `node.session.iscsi.*` and `node.conn[0].iscsi.*`
    public var operational = OperationalSettings()

    public init() {}

    /// The text shown in place of a secret.
    public static let mask = "********"

    /// All keys this type understands, in the order they are rendered.
    public static var knownKeys: [String] { SettingKey.all.map(\.name) }

    /// True for keys whose values are secrets (CHAP passwords).
    public static func isSecret(key: String) -> Bool {
        key.hasSuffix(".password") || key.hasSuffix(".password_in")
    }

    /// The rendered (unmasked) value of `key`, nil when the key is unknown or the value unset.
    public func value(forKey key: String) -> String? {
        SettingKey.byName[key]?.render(self)
    }

    /// Sets one key from its textual value with full validation. Errors carry the key but no
    /// location; callers add file and line.
    public mutating func set(key: String, value: String) throws {
        guard let setting = SettingKey.byName[key] else {
            throw ConfigError(key: key, message: "unknown setting")
        }
        do {
            try setting.apply(&self, value.trimmed)
        } catch let error as ValueError {
            throw ConfigError(key: key, message: error.message)
        }
    }

    /// A copy with `overrides` (key → value, e.g. from a node record) applied on top, validated
    /// exactly like iscsid.conf. `source` names where the overrides came from, for messages.
    public func applying(overrides: [String: String], source: String) throws -> SessionSettings {
        var result = self
        for key in overrides.keys.sorted() {
            guard let value = overrides[key] else { continue }
            do {
                try result.set(key: key, value: value)
            } catch let error as ConfigError {
                throw error.located(file: source, line: nil)
            }
        }
        if let problem = result.relationProblem() {
            throw ConfigError(file: source, key: problem.key, message: problem.message)
        }
        return result
    }

    /// `key = value` lines for every setting, in canonical order. Secrets are shown as
    /// `********` unless `showSecrets`; unset values are skipped unless `includeUnset`, in
    /// which case they read `<empty>` like `iscsiadm -o show`.
    public func renderedLines(showSecrets: Bool = false, includeUnset: Bool = false) -> [String] {
        var lines: [String] = []
        for setting in SettingKey.all {
            if let value = setting.render(self) {
                let shown = setting.isSecret && !showSecrets ? Self.mask : value
                lines.append("\(setting.name) = \(shown)")
            } else if includeUnset {
                lines.append("\(setting.name) = <empty>")
            }
        }
        return lines
    }

    /// The keys whose values differ from `base`, as key → unmasked value. Keys set in `base`
    /// but unset here are not representable as overrides and are left out.
    public func overrides(relativeTo base: SessionSettings) -> [String: String] {
        var result: [String: String] = [:]
        for setting in SettingKey.all {
            let mine = setting.render(self)
            if let mine, mine != setting.render(base) { result[setting.name] = mine }
        }
        return result
    }

    /// Cross-key rules that no single value can check (RFC 7143 §13.14).
    func relationProblem() -> (key: String, involved: [String], message: String)? {
        if operational.firstBurstLength > operational.maxBurstLength {
            return (
                "node.session.iscsi.FirstBurstLength",
                ["node.session.iscsi.FirstBurstLength", "node.session.iscsi.MaxBurstLength"],
                "\(operational.firstBurstLength) exceeds node.session.iscsi.MaxBurstLength "
                    + "(\(operational.maxBurstLength)); FirstBurstLength must not be larger"
            )
        }
        return nil
    }
}
