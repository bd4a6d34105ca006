import Foundation

/// A fault-injection rule in the filter table's INPUT chain for loopback TCP traffic, tagged
/// `-m comment --comment mpath-test` so tools/test can remove leftovers. Added by `init`,
/// removed by `remove()` or at the latest when the object is deallocated.
///
///     let rule = try IPTablesRule(action: .drop, destination: "127.0.0.3", port: 3260)
///     defer { try? rule.remove() }
final class IPTablesRule {
    /// The comment every rule carries.
    static let tag = "mpath-test"

    enum Action {
        /// Black hole: packets vanish, connects and I/O time out.
        case drop
        /// Answer with a TCP reset: connects are refused, established connections break.
        case reset
    }

    /// Which packets of the (source, destination:port) conversation are hit.
    enum Direction {
        /// Packets sent to destination:port (initiator to target).
        case toDestination
        /// Packets sent from destination:port (target to initiator).
        case fromDestination
        /// Both of the above.
        case both
    }

    let action: Action
    let source: String?
    let destination: String
    let port: Int
    let direction: Direction
    private var installed: [[String]] = []

    /// Inserts the rule(s) at the top of INPUT. Addresses must be in 127.0.0.0/8; `source` nil
    /// matches any (loopback) source.
    init(action: Action, source: String? = nil, destination: String, port: Int,
         direction: Direction = .toDestination) throws {
        if let source { try LoopbackAddress.validate(source) }
        try LoopbackAddress.validate(destination)
        guard (1...65535).contains(port) else {
            throw TestSupportError("iptables rule port must be 1-65535, got \(port)")
        }
        self.action = action
        self.source = source
        self.destination = destination
        self.port = port
        self.direction = direction

        var specs: [[String]] = []
        if direction != .fromDestination { specs.append(spec(towardDestination: true)) }
        if direction != .toDestination { specs.append(spec(towardDestination: false)) }
        for rule in specs {
            do {
                try Command.run("iptables", ["-w", "-I", "INPUT", "1"] + rule, timeout: 30)
                installed.append(rule)
            } catch {
                try? remove()
                throw TestSupportError("could not add iptables rule: \(error)")
            }
        }
    }

    deinit {
        try? remove()
    }

    /// Deletes the rule(s); calling it again does nothing.
    func remove() throws {
        var failures: [String] = []
        for rule in installed.reversed() {
            do {
                try Command.run("iptables", ["-w", "-D", "INPUT"] + rule, timeout: 30)
            } catch {
                failures.append("\(error)")
            }
        }
        installed = []
        if !failures.isEmpty {
            throw TestSupportError("could not remove iptables rule(s): \(failures.joined(separator: "; "))")
        }
    }

    /// The `iptables -S` lines (all chains of the filter table) that carry the mpath-test tag.
    static func taggedRules() throws -> [String] {
        let output = try Command.run("iptables", ["-w", "-S"], timeout: 30).stdout
        return output.split(separator: "\n").map(String.init).filter {
            $0.contains("--comment \(tag)") || $0.contains("--comment \"\(tag)\"")
        }
    }

    private func spec(towardDestination: Bool) -> [String] {
        var rule = ["-i", "lo", "-p", "tcp"]
        if towardDestination {
            if let source { rule += ["-s", source] }
            rule += ["-d", destination, "--dport", String(port)]
        } else {
            rule += ["-s", destination, "--sport", String(port)]
            if let source { rule += ["-d", source] }
        }
        rule += ["-m", "comment", "--comment", Self.tag]
        switch action {
        case .drop: rule += ["-j", "DROP"]
        case .reset:
            // Let RSTs pass: with `.both` the reset sent for one direction would otherwise be
            // swallowed by the other direction's rule and the peer would just time out.
            rule += ["!", "--tcp-flags", "RST", "RST", "-j", "REJECT", "--reject-with", "tcp-reset"]
        }
        return rule
    }
}
