import Dispatch
import Foundation
import Multipath
#if canImport(Glibc)
import Glibc
#endif

/// A drill failure: one clear line for the operator.
struct DrillError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// This project only ever touches loopback: every address the drill puts in a rule is checked.
enum LoopbackAddress {
    /// Throws unless `text` is a dotted-quad IPv4 address in 127.0.0.0/8.
    static func validate(_ text: String, what: String) throws {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        let octets = parts.compactMap { part -> Int? in
            guard (1...3).contains(part.count), part.allSatisfy(\.isASCII), let value = Int(part), (0...255).contains(value)
            else { return nil }
            return value
        }
        guard parts.count == 4, octets.count == 4, octets[0] == 127 else {
            throw DrillError("refusing to touch \(what) '\(text)': the drill only cuts loopback addresses (127.0.0.0/8)")
        }
    }
}

/// The iptables rules that cut one path: every packet between the portal and the initiator,
/// in the INPUT chain (a DROP in OUTPUT would fail sends at once with EPERM: not a black hole).
/// Every rule carries `-m comment --comment mpath-drill`. Thread-safe: the signal handler and the
/// normal end may both remove, and removal happens once.
final class DrillFirewall: @unchecked Sendable {
    static let tag = "mpath-drill"

    let host: String
    let port: Int
    /// The initiator's source address when the path is bound to one, else any (loopback) source.
    let local: String?
    let mode: DrillMode
    private let lock = NSLock()
    private var installed: [[String]] = []

    init(host: String, port: Int, local: String?, mode: DrillMode) throws {
        try LoopbackAddress.validate(host, what: "portal address")
        if let local { try LoopbackAddress.validate(local, what: "initiator address") }
        guard (1...65535).contains(port) else { throw DrillError("portal port must be 1-65535, got \(port)") }
        self.host = host
        self.port = port
        self.local = local
        self.mode = mode
    }

    /// `initiator → portal` first: once it is in, nothing new reaches the target.
    var ruleSpecs: [[String]] { [spec(towardPortal: true), spec(towardPortal: false)] }

    private func spec(towardPortal: Bool) -> [String] {
        var rule = ["-i", "lo", "-p", "tcp"]
        if towardPortal {
            if let local { rule += ["-s", local] }
            rule += ["-d", host, "--dport", String(port)]
        } else {
            rule += ["-s", host, "--sport", String(port)]
            if let local { rule += ["-d", local] }
        }
        rule += ["-m", "comment", "--comment", Self.tag]
        switch mode {
        case .blackhole:
            rule += ["-j", "DROP"]
        case .reset:
            // The reset REJECT sends for one direction travels the other direction: let RSTs
            // through, or the other rule would swallow it and the peer would only time out.
            rule += ["!", "--tcp-flags", "RST", "RST", "-j", "REJECT", "--reject-with", "tcp-reset"]
        }
        return rule
    }

    /// Inserts the rules at the top of INPUT; returns the monotonic time the first one was in
    /// place (the kill). On failure whatever went in is removed again.
    func install() throws -> UInt64 {
        try lock.withLock {
            var killAt: UInt64?
            for rule in ruleSpecs {
                do {
                    try IPTables.run(["-I", "INPUT", "1"] + rule)
                } catch {
                    _ = removeLocked()
                    throw DrillError("could not add the iptables rule: \(error)")
                }
                installed.append(rule)
                if killAt == nil { killAt = DrillClock.now() }
            }
            return killAt ?? DrillClock.now()
        }
    }

    /// Deletes the installed rules (each tried three times); returns the commands that still
    /// failed, for the operator to run by hand. Calling it again does nothing.
    @discardableResult
    func remove() -> [String] {
        lock.withLock { removeLocked() }
    }

    private func removeLocked() -> [String] {
        var left: [String] = []
        for rule in installed.reversed() {
            var removed = false
            for attempt in 0..<3 where !removed {
                if attempt > 0 { usleep(100_000) }
                do {
                    try IPTables.run(["-D", "INPUT"] + rule)
                    removed = true
                } catch {
                    // Already gone (someone else removed it) counts as removed.
                    removed = (try? IPTables.run(["-C", "INPUT"] + rule)) == nil && IPTables.available
                }
            }
            if !removed { left.append((["iptables", "-w", "-D", "INPUT"] + rule).joined(separator: " ")) }
        }
        installed = []
        return left
    }

    /// Removes every `mpath-drill` rule in INPUT that matches this portal (any mode, any source),
    /// left behind by a drill that was killed hard. Returns how many were removed.
    func removeLeftovers() throws -> Int {
        let listing = try IPTables.run(["-S", "INPUT"])
        var removed = 0
        for line in listing.split(separator: "\n") {
            let words = line.split(separator: " ").map { $0.trimmingCharacters(in: CharacterSet(charactersIn: "\"")) }
            guard words.count > 2, words[0] == "-A", words[1] == "INPUT", words.contains(Self.tag) else { continue }
            guard Self.matches(words, host: host, port: port) else { continue }
            try IPTables.run(["-D", "INPUT"] + words.dropFirst(2))
            removed += 1
        }
        return removed
    }

    /// A rule (as `iptables -S` prints it) on this portal: `-d HOST/32 … --dport PORT` or
    /// `-s HOST/32 … --sport PORT`.
    static func matches(_ words: [String], host: String, port: Int) -> Bool {
        func value(after flag: String) -> String? {
            guard let i = words.firstIndex(of: flag), i + 1 < words.count else { return nil }
            return words[i + 1]
        }
        let hosts: Set<String> = [host, host + "/32"]
        let toPortal = value(after: "-d").map(hosts.contains) == true && value(after: "--dport") == String(port)
        let fromPortal = value(after: "-s").map(hosts.contains) == true && value(after: "--sport") == String(port)
        return toPortal || fromPortal
    }
}

/// Runs iptables (with -w, so a concurrent iptables waits instead of failing).
enum IPTables {
    static let executable: String? = {
        let dirs = ["/usr/sbin", "/sbin", "/usr/bin", "/bin"]
            + (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map(String.init)
        return dirs.map { $0 + "/iptables" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }()

    static var available: Bool { executable != nil }

    /// Returns stdout; throws with iptables' own message on a non-zero exit.
    @discardableResult
    static func run(_ arguments: [String], timeout: Double = 30) throws -> String {
        guard let executable else { throw DrillError("iptables not found (install the Debian package iptables)") }
        let result = try ChildProcess.run(executable, ["-w"] + arguments, timeout: timeout)
        guard result.status == 0 else {
            let message = result.stderr.trimmingCharacters(in: .whitespacesAndNewlines)
            throw DrillError("iptables \(arguments.joined(separator: " ")): \(message.isEmpty ? "exit \(result.status)" : message)")
        }
        return result.stdout
    }
}

/// A child process with its output collected and a deadline.
enum ChildProcess {
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static func run(_ executable: String, _ arguments: [String], timeout: Double) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        let exited = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in exited.signal() }
        do { try process.run() } catch { throw DrillError("could not run \(executable): \(error)") }
        // Drain both pipes while the child runs, so a chatty child cannot block on a full pipe.
        let group = DispatchGroup()
        let collected = LockedBox((Data(), Data()))
        DispatchQueue.global().async(group: group) {
            let data = out.fileHandleForReading.readDataToEndOfFile()
            collected.update { $0.0 = data }
        }
        DispatchQueue.global().async(group: group) {
            let data = err.fileHandleForReading.readDataToEndOfFile()
            collected.update { $0.1 = data }
        }
        if exited.wait(timeout: .now() + timeout) == .timedOut {
            process.terminate()
            _ = exited.wait(timeout: .now() + 5)
            throw DrillError("\(executable) \(arguments.joined(separator: " ")) did not finish within \(Int(timeout)) s")
        }
        _ = group.wait(timeout: .now() + 5)
        let (stdout, stderr) = collected.value
        return Result(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                      stderr: String(decoding: stderr, as: UTF8.self))
    }
}

/// A value behind a lock.
final class LockedBox<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Value

    init(_ value: Value) { stored = value }

    var value: Value { lock.withLock { stored } }

    func update<T>(_ body: (inout Value) -> T) -> T { lock.withLock { body(&stored) } }
}

/// SIGINT/SIGTERM/SIGHUP during a drill: remove the rules first, then restore the default
/// disposition and exit with 128+signal, as a shell would report it.
final class DrillSignalGuard {
    private let signals: [Int32]
    private var sources: [DispatchSourceSignal] = []
    private let queue = DispatchQueue(label: "mpathctl.drill.signals")

    init(signals: [Int32] = [SIGINT, SIGTERM, SIGHUP], onSignal: @escaping @Sendable (Int32) -> Void) {
        self.signals = signals
        for number in signals {
            // Ignored at the process level so only the dispatch source sees it.
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
            source.setEventHandler {
                onSignal(number)
                for restored in signals { signal(restored, SIG_DFL) }
                exit(128 + number)
            }
            source.resume()
            sources.append(source)
        }
    }

    /// Back to the default handling (the drill is over).
    func cancel() {
        for source in sources { source.cancel() }
        sources = []
        for number in signals { signal(number, SIG_DFL) }
    }
}

/// Monotonic nanoseconds (CLOCK_MONOTONIC), the time base of every drill measurement.
enum DrillClock {
    static func now() -> UInt64 {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return UInt64(spec.tv_sec) &* 1_000_000_000 &+ UInt64(spec.tv_nsec)
    }
}
