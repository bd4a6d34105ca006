import ArgumentParser
import Foundation
import MPathConfig
import MPathControl

extension MPathCtl {
    /// `iscsiadm -m node [-T … -p … -I …] -l` and `iscsiadm -m node -L all`.
    struct Login: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Log in to the matching node records (or --all of them) through mpathd.",
            discussion: "Exit status 21 when no record matches, 1 when any login failed.")
        @OptionGroup var locations: LocationOptions
        @Flag(help: "Every node record.")
        var all = false
        @OptionGroup var selection: NodeSelection

        func run() throws {
            let selector = SessionSelection.selector(all: all, selection: selection, verb: "login")
            let response = Daemon.send(.login(selector), locations: locations, timeout: Daemon.networkTimeout)
            guard case .logins(let outcomes) = response else { Daemon.unexpected(response) }
            guard !outcomes.isEmpty else { MPathCtl.fail("no records found", code: 21) }
            for outcome in outcomes { print("Logging in to \(SessionSelection.describe(outcome))") }
            var failures = 0
            for outcome in outcomes {
                if let error = outcome.error {
                    failures += 1
                    SessionSelection.warn("Login to \(SessionSelection.describe(outcome)) failed: \(error)")
                } else {
                    print("Login to \(SessionSelection.describe(outcome)) successful.")
                }
            }
            if failures > 0 { MPathCtl.fail("Could not log into all portals") }
        }
    }

    /// `iscsiadm -m node [-T … -p … -I …] -u` and `iscsiadm -m node -U all`.
    struct Logout: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Log out of the matching sessions (or --all of them) through mpathd.",
            discussion: """
                mpathd refuses to log out the last path of a map that is in use unless --force is given.
                Exit status 21 when no session matches, 1 when any logout failed.
                """)
        @OptionGroup var locations: LocationOptions
        @Flag(help: "Every session.")
        var all = false
        @OptionGroup var selection: NodeSelection
        @Flag(help: "Log out even when that leaves a map in use without a path.")
        var force = false

        func run() throws {
            let selector = SessionSelection.selector(all: all, selection: selection, verb: "logout")
            let response = Daemon.send(.logout(selector, force: force), locations: locations, timeout: Daemon.networkTimeout)
            guard case .logins(let outcomes) = response else { Daemon.unexpected(response) }
            guard !outcomes.isEmpty else { MPathCtl.fail("no matching sessions", code: 21) }
            for outcome in outcomes { print("Logging out of session \(SessionSelection.describe(outcome))") }
            var failures = 0
            for outcome in outcomes {
                if let error = outcome.error {
                    failures += 1
                    SessionSelection.warn("Logout of \(SessionSelection.describe(outcome)) failed: \(error)")
                } else {
                    print("Logout of \(SessionSelection.describe(outcome)) successful.")
                }
            }
            if failures > 0 { MPathCtl.fail("Could not logout of all requested sessions") }
        }
    }
}

/// What login and logout share: turning --all / -T -p -I into a selector, and iscsiadm's
/// `[iface: …, target: …, portal: host,port]` wording.
enum SessionSelection {
    /// The selector, after checking the combination and the portal's syntax (sent as typed).
    static func selector(all: Bool, selection: NodeSelection, verb: String) -> NodeSelector {
        let narrowed = selection.target != nil || selection.portal != nil || selection.iface != nil
        if all && narrowed { MPathCtl.fail("--all cannot be combined with -T, -p or -I") }
        if !all && !narrowed { MPathCtl.fail("\(verb) needs --all, or -T IQN (optionally with -p PORTAL and -I IFACE)") }
        if let portal = selection.portal {
            do { _ = try Portal(parsing: portal) } catch { MPathCtl.fail("\(error)") }
        }
        if let iface = selection.iface {
            do { try IfaceRecord.validate(name: iface) } catch { MPathCtl.fail("\(error)") }
        }
        return NodeSelector(all: all, target: selection.target, portal: selection.portal, iface: selection.iface)
    }

    /// `[iface: default, target: iqn…, portal: 127.0.0.2,3260]` as iscsiadm prints it.
    static func describe(_ outcome: LoginOutcome) -> String {
        "[iface: \(outcome.iface), target: \(outcome.target), portal: \(hostCommaPort(outcome.portal))]"
    }

    /// `127.0.0.2:3260,1` → `127.0.0.2,3260` (iscsiadm's form in login messages); text that
    /// does not parse as a portal is shown unchanged.
    static func hostCommaPort(_ portal: String) -> String {
        guard let parsed = try? Portal(parsing: portal) else { return portal }
        return "\(parsed.host),\(parsed.port)"
    }

    /// One `mpathctl: …` line on stderr without exiting.
    static func warn(_ message: String) {
        FileHandle.standardError.write(Data("mpathctl: \(message)\n".utf8))
    }
}
