/// Renders sessions the way `iscsiadm -m session -P N` prints them (open-iscsi
/// usr/session_info.c), tabs and banner lines included, so operators and their scripts find the
/// same lines. Level 0 is one line per session; 1 adds the tree with interface and states; 2 adds
/// timeouts, CHAP (username only, password always masked) and the negotiated parameters; 3 adds
/// the LUNs with the multipath path and map each one serves.
public enum SessionFormatter {
    /// What a CHAP password is shown as.
    public static let maskedSecret = "********"

    /// The listing, each line ending in "\n"; empty when there are no sessions. Levels below 0
    /// print as 0 and above 3 as 3 (mpathctl refuses them before getting here).
    public static func render(_ sessions: [SessionInfo], printLevel: Int) -> String {
        let level = min(max(printLevel, 0), 3)
        if level == 0 {
            return sessions.map { "tcp: [\($0.sid)] \($0.portal) \($0.target) (non-flash)\n" }.joined()
        }
        var out = ""
        var previous: SessionInfo?
        for session in grouped(sessions) {
            if previous?.target != session.target {
                out += "Target: \(session.target) (non-flash)\n"
                previous = nil
            }
            if previous?.portal != session.portal {
                out += "\tCurrent Portal: \(session.portal)\n"
                out += "\tPersistent Portal: \(session.portal)\n"
            } else {
                out += "\n"
            }
            out += tree(session, level: level).map { "\t\t\($0)\n" }.joined()
            previous = session
        }
        return out
    }

    /// Sessions of one target together (targets in order of first appearance), and within a
    /// target those on one portal together, so the tree prints each heading once.
    static func grouped(_ sessions: [SessionInfo]) -> [SessionInfo] {
        var targets: [String] = []
        var byTarget: [String: [SessionInfo]] = [:]
        for session in sessions {
            if byTarget[session.target] == nil { targets.append(session.target) }
            byTarget[session.target, default: []].append(session)
        }
        return targets.flatMap { target -> [SessionInfo] in
            let members = byTarget[target] ?? []
            var portals: [String] = []
            for member in members where !portals.contains(member.portal) { portals.append(member.portal) }
            return portals.flatMap { portal in members.filter { $0.portal == portal } }
        }
    }

    /// The lines under a portal heading, without their two-tab indent.
    static func tree(_ session: SessionInfo, level: Int) -> [String] {
        var lines = banner("Interface:")
        lines.append("Iface Name: \(session.iface)")
        lines.append("Iface Transport: tcp")
        lines.append("Iface IPaddress: \(session.localAddress ?? "<empty>")")
        lines.append("SID: \(session.sid)")
        lines.append("iSCSI Connection State: \(connectionState(session.state))")
        lines.append("iSCSI Session State: \(session.state)")
        lines.append("Internal iscsid Session State: \(session.state == "FAILED" ? "REOPEN" : "NO CHANGE")")
        guard level >= 2 else { return lines }

        lines += banner("Timeouts:")
        lines += session.timeouts.map { "\(timeoutLabel($0.key)): \($0.value)" }
        lines += banner("CHAP:")
        lines.append("username: \(session.chapUsername ?? "<empty>")")
        lines.append("password: \(maskedSecret)")
        lines += banner("Negotiated iSCSI params:")
        lines += session.negotiated.map { "\($0.key): \($0.value)" }
        guard level >= 3 else { return lines }

        lines += banner("Attached SCSI devices:", width: 24)
        // No kernel SCSI host exists; the session id stands in for the host number.
        lines.append("Host Number: \(session.sid)\tState: \(session.state == "LOGGED_IN" ? "running" : "blocked")")
        for lun in session.attached {
            lines.append("scsi\(session.sid) Channel 00 Id 0 Lun: \(lun.lun)")
            var attached = "\tAttached mpath path \(lun.path)"
            if let map = lun.map { attached += " map \(map)" }
            if let device = lun.device { attached += " device \(device)" }
            lines.append(attached + "\t\tState: \(lun.state)")
        }
        return lines
    }

    /// A section heading between rows of asterisks, as long as the heading unless iscsiadm
    /// uses another width.
    static func banner(_ title: String, width: Int? = nil) -> [String] {
        let stars = String(repeating: "*", count: width ?? title.count)
        return [stars, title, stars]
    }

    /// iscsid's connection state words for a session state.
    static func connectionState(_ state: String) -> String {
        switch state {
        case "LOGGED_IN": return "LOGGED IN"
        case "LOGGING_IN": return "IN LOGIN"
        case "FAILED": return "TRANSPORT WAIT"
        default: return state
        }
    }

    /// iscsiadm's label for a timeout key (`replacement_timeout` or its full
    /// `node.session.timeo.replacement_timeout` form); unknown keys print as they are.
    static func timeoutLabel(_ key: String) -> String {
        let name = key.split(separator: ".").last.map(String.init) ?? key
        switch name {
        case "replacement_timeout": return "Recovery Timeout"
        case "login_timeout": return "Login Timeout"
        case "logout_timeout": return "Logout Timeout"
        case "noop_out_interval": return "NOP-Out Interval"
        case "noop_out_timeout": return "NOP-Out Timeout"
        case "abort_timeout": return "Abort Timeout"
        case "lu_reset_timeout": return "LUN Reset Timeout"
        case "tgt_reset_timeout": return "Target Reset Timeout"
        default: return key
        }
    }
}
