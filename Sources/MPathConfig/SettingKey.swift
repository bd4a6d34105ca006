/// One iscsid.conf / node record key: how to validate and store a value, and how to render it.
/// A single table drives parsing, overrides, rendering and `node show`.
struct SettingKey {
    let name: String
    let isSecret: Bool
    /// Validates `text` and stores it; throws `ValueError` saying what is allowed.
    let apply: (inout SessionSettings, String) throws -> Void
    /// The canonical text of the current value; nil when unset.
    let render: (SessionSettings) -> String?

    static let all: [SettingKey] = [
        enumeration("node.startup", \.startup),
        bool("node.leading_login", \.leadingLogin),
        enumeration("node.session.auth.authmethod", \.auth.authMethod),
        text("node.session.auth.username", \.auth.username, secret: false),
        text("node.session.auth.password", \.auth.password, secret: true),
        text("node.session.auth.username_in", \.auth.usernameIn, secret: false),
        text("node.session.auth.password_in", \.auth.passwordIn, secret: true),
        chapAlgorithms("node.session.auth.chap_algs"),
        enumeration("discovery.sendtargets.auth.authmethod", \.discoveryAuth.authMethod),
        text("discovery.sendtargets.auth.username", \.discoveryAuth.username, secret: false),
        text("discovery.sendtargets.auth.password", \.discoveryAuth.password, secret: true),
        text("discovery.sendtargets.auth.username_in", \.discoveryAuth.usernameIn, secret: false),
        text("discovery.sendtargets.auth.password_in", \.discoveryAuth.passwordIn, secret: true),
        integer(
            "discovery.sendtargets.iscsi.MaxRecvDataSegmentLength", \.discoveryMaxRecvDataSegmentLength,
            512...16_777_215),
        integer("node.conn[0].timeo.noop_out_interval", \.noopOutInterval, 0...3600),
        integer("node.conn[0].timeo.noop_out_timeout", \.noopOutTimeout, 0...3600),
        integer("node.conn[0].timeo.login_timeout", \.loginTimeout, 1...3600),
        integer("node.conn[0].timeo.logout_timeout", \.logoutTimeout, 1...3600),
        integer(
            "node.session.timeo.replacement_timeout", \.replacementTimeout,
            Int(Int32.min)...Int(Int32.max)),
        integer("node.session.err_timeo.abort_timeout", \.abortTimeout, 0...3600),
        integer("node.session.err_timeo.lu_reset_timeout", \.luResetTimeout, 0...3600),
        integer("node.session.err_timeo.tgt_reset_timeout", \.targetResetTimeout, 0...3600),
        integer("node.session.err_timeo.host_reset_timeout", \.hostResetTimeout, 0...3600),
        integer("node.session.initial_login_retry_max", \.initialLoginRetryMax, 0...65535),
        integer("node.session.reopen_max", \.reopenMax, 0...Int(Int32.max)),
        integer("node.session.cmds_max", \.cmdsMax, 2...2048, rule: "a power of two") {
            $0 & ($0 - 1) == 0
        },
        integer("node.session.queue_depth", \.queueDepth, 1...1024),
        integer("node.session.nr_sessions", \.nrSessions, 1...64),
        enumeration("node.session.scan", \.scan),
        bool("node.session.iscsi.InitialR2T", \.operational.initialR2T),
        bool("node.session.iscsi.ImmediateData", \.operational.immediateData),
        integer("node.session.iscsi.FirstBurstLength", \.operational.firstBurstLength, 512...16_777_215),
        integer("node.session.iscsi.MaxBurstLength", \.operational.maxBurstLength, 512...16_777_215),
        integer("node.session.iscsi.DefaultTime2Wait", \.operational.defaultTime2Wait, 0...3600),
        integer("node.session.iscsi.DefaultTime2Retain", \.operational.defaultTime2Retain, 0...3600),
        integer("node.session.iscsi.MaxOutstandingR2T", \.operational.maxOutstandingR2T, 1...65535),
        integer("node.session.iscsi.MaxConnections", \.operational.maxConnections, 1...65535),
        integer("node.session.iscsi.ERL", \.operational.errorRecoveryLevel, 0...2),
        bool("node.session.iscsi.DataPDUInOrder", \.operational.dataPDUInOrder),
        bool("node.session.iscsi.DataSequenceInOrder", \.operational.dataSequenceInOrder),
        bool("node.session.iscsi.FastAbort", \.fastAbort),
        integer(
            "node.conn[0].iscsi.MaxRecvDataSegmentLength", \.operational.maxRecvDataSegmentLength,
            512...16_777_215),
        integer(
            "node.conn[0].iscsi.MaxXmitDataSegmentLength", \.operational.maxXmitDataSegmentLength,
            0...16_777_215, rule: "0 (use the target's value) or at least 512"
        ) { $0 == 0 || $0 >= 512 },
        digest("node.conn[0].iscsi.HeaderDigest", \.operational.headerDigest),
        digest("node.conn[0].iscsi.DataDigest", \.operational.dataDigest),
    ]

    static let byName: [String: SettingKey] = Dictionary(
        all.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })

    // MARK: - Builders

    private static func integer(
        _ name: String, _ path: WritableKeyPath<SessionSettings, Int>, _ range: ClosedRange<Int>,
        rule: String? = nil, check: ((Int) -> Bool)? = nil
    ) -> SettingKey {
        var allowed = "an integer \(range.lowerBound)...\(range.upperBound)"
        if let rule { allowed += ", \(rule)" }
        return SettingKey(
            name: name, isSecret: false,
            apply: { settings, text in
                guard let value = Int(text) else {
                    throw ValueError("'\(ISCSIName.printable(text))' is not a number; expected \(allowed)")
                }
                guard range.contains(value), check?(value) ?? true else {
                    throw ValueError("\(value) is out of range; expected \(allowed)")
                }
                settings[keyPath: path] = value
            },
            render: { String($0[keyPath: path]) })
    }

    private static func bool(_ name: String, _ path: WritableKeyPath<SessionSettings, Bool>) -> SettingKey {
        SettingKey(
            name: name, isSecret: false,
            apply: { settings, text in
                switch text.lowercased() {
                case "yes": settings[keyPath: path] = true
                case "no": settings[keyPath: path] = false
                default: throw ValueError("'\(ISCSIName.printable(text))' is not allowed; expected Yes or No")
                }
            },
            render: { $0[keyPath: path] ? "Yes" : "No" })
    }

    private static func enumeration<E: RawRepresentable & CaseIterable>(
        _ name: String, _ path: WritableKeyPath<SessionSettings, E>
    ) -> SettingKey where E.RawValue == String {
        SettingKey(
            name: name, isSecret: false,
            apply: { settings, text in
                guard let value = E.allCases.first(where: { $0.rawValue.lowercased() == text.lowercased() }) else {
                    let allowed = E.allCases.map(\.rawValue).joined(separator: ", ")
                    throw ValueError("'\(ISCSIName.printable(text))' is not allowed; expected one of: \(allowed)")
                }
                settings[keyPath: path] = value
            },
            render: { $0[keyPath: path].rawValue })
    }

    /// Free text (CHAP names and secrets). Empty means unset. Secret values never appear in
    /// messages.
    private static func text(
        _ name: String, _ path: WritableKeyPath<SessionSettings, String?>, secret: Bool
    ) -> SettingKey {
        SettingKey(
            name: name, isSecret: secret,
            apply: { settings, text in
                // open-iscsi's AUTH_STR_MAX_LEN is 256 including the terminating NUL.
                if text.utf8.count > 255 {
                    throw ValueError("value is longer than 255 bytes")
                }
                if text.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f }) {
                    throw ValueError("value contains control characters")
                }
                settings[keyPath: path] = text.isEmpty ? nil : text
            },
            render: { $0[keyPath: path] })
    }

    private static func chapAlgorithms(_ name: String) -> SettingKey {
        let allowed = CHAPAlgorithm.allCases.map(\.rawValue).joined(separator: ", ")
        return SettingKey(
            name: name, isSecret: false,
            apply: { settings, text in
                var result: [CHAPAlgorithm] = []
                for item in text.split(separator: ",", omittingEmptySubsequences: false) {
                    let word = item.trimmed
                    guard let algorithm = CHAPAlgorithm.allCases.first(where: {
                        $0.rawValue.lowercased() == word.lowercased()
                    }) else {
                        throw ValueError(
                            "'\(ISCSIName.printable(word))' is not a CHAP algorithm; expected a comma list of \(allowed)"
                        )
                    }
                    if result.contains(algorithm) {
                        throw ValueError("\(algorithm.rawValue) is listed twice")
                    }
                    result.append(algorithm)
                }
                settings.chapAlgorithms = result
            },
            render: { $0.chapAlgorithms.map(\.rawValue).joined(separator: ",") })
    }

    private static func digest(
        _ name: String, _ path: WritableKeyPath<SessionSettings, DigestPreference>
    ) -> SettingKey {
        SettingKey(
            name: name, isSecret: false,
            apply: { settings, text in
                // Accept "CRC32C, None" as well as "CRC32C,None".
                let compact = text.split(separator: ",", omittingEmptySubsequences: false)
                    .map { $0.trimmed.lowercased() }.joined(separator: ",")
                guard let value = DigestPreference.allCases.first(where: { $0.rawValue.lowercased() == compact })
                else {
                    throw ValueError(
                        "'\(ISCSIName.printable(text))' is not allowed; expected None, CRC32C, \"CRC32C,None\" or \"None,CRC32C\""
                    )
                }
                settings[keyPath: path] = value
            },
            render: { $0[keyPath: path].rawValue })
    }
}
