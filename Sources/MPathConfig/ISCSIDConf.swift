/// Parser for iscsid.conf (open-iscsi syntax).
///
/// One `key = value` per line (spaces around '=' optional), '#' comment lines and blank lines.
/// Values run to the end of the line: there are no trailing comments, because CHAP secrets
/// may contain '#'. A repeated key replaces the earlier value, as in open-iscsi.
public enum ISCSIDConf {
    /// Keys open-iscsi knows that mpath-iscsi deliberately does not use; they get a milder
    /// warning than a misspelt key.
    static let ignoredOpenISCSIKeys: Set<String> = [
        "iscsid.safe_logout", "iscsid.ipc_auth_uid",
        "node.session.xmit_thread_priority", "node.session.sess_reopen_log_freq",
        "node.conn[0].tcp.window_size", "node.conn[0].tcp.congestion_control",
        "node.conn[0].iscsi.IFMarker", "node.conn[0].iscsi.OFMarker",
        "discovery.sendtargets.use_discoveryd", "discovery.sendtargets.discoveryd_poll_inval",
        "discovery.sendtargets.reopen_max", "discovery.sendtargets.timeo.login_timeout",
        "discovery.sendtargets.timeo.auth_timeout", "discovery.sendtargets.timeo.active_timeout",
    ]

    /// Parses iscsid.conf text on top of `base` (built-in defaults unless given).
    ///
    /// Unknown keys become warnings; malformed lines and invalid values throw a `ConfigError`
    /// naming `file`, the line, the key and what is allowed.
    public static func parse(
        _ text: String, file: String, base: SessionSettings = SessionSettings()
    ) throws -> ParseResult<SessionSettings> {
        var settings = base
        var diagnostics: [ConfigDiagnostic] = []
        var lineOfKey: [String: Int] = [:]

        for (index, rawLine) in splitLines(text).enumerated() {
            let lineNumber = index + 1
            let line = rawLine.trimmed
            if line.isEmpty || line.hasPrefix("#") { continue }
            // The line itself is not echoed: it could be a secret missing its key.
            guard let equals = line.firstIndex(of: "=") else {
                throw ConfigError(file: file, line: lineNumber, message: "expected 'key = value'")
            }
            let key = line[..<equals].trimmed
            let value = line[line.index(after: equals)...].trimmed
            if key.isEmpty {
                throw ConfigError(file: file, line: lineNumber, message: "missing key before '='")
            }
            if key.contains(where: { $0 == " " || $0 == "\t" }) {
                throw ConfigError(
                    file: file, line: lineNumber, key: ISCSIName.printable(key),
                    message: "keys cannot contain spaces")
            }
            if key == "iscsid.startup" {
                // Names the command that starts open-iscsi's daemon; meaningless here.
                continue
            }
            guard SettingKey.byName[key] != nil else {
                let shownKey = ISCSIName.printable(key)
                let message =
                    ignoredOpenISCSIKeys.contains(key) || key.hasPrefix("discovery.isns.")
                    ? "open-iscsi key '\(shownKey)' is not used by mpath-iscsi; ignored"
                    : "unknown key '\(shownKey)'; ignored"
                diagnostics.append(ConfigDiagnostic(file: file, line: lineNumber, message: message))
                continue
            }
            if let previous = lineOfKey[key] {
                diagnostics.append(
                    ConfigDiagnostic(
                        file: file, line: lineNumber,
                        message: "'\(key)' repeated; this value replaces the one on line \(previous)"))
            }
            do {
                try settings.set(key: key, value: value)
            } catch let error as ConfigError {
                throw error.located(file: file, line: lineNumber)
            }
            lineOfKey[key] = lineNumber
        }
        if let problem = settings.relationProblem() {
            // Point at whichever of the conflicting keys was written last.
            let line = problem.involved.compactMap { lineOfKey[$0] }.max()
            throw ConfigError(file: file, line: line, key: problem.key, message: problem.message)
        }
        return ParseResult(value: settings, diagnostics: diagnostics)
    }

    /// Reads and parses the file at `path`; a missing file yields the built-in defaults.
    public static func load(path: String) throws -> ParseResult<SessionSettings> {
        guard let text = try FileIO.readText(path) else {
            return ParseResult(value: SessionSettings(), diagnostics: [])
        }
        return try parse(text, file: path)
    }
}
