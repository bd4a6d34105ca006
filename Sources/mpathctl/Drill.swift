import ArgumentParser
import Foundation
import MPathConfig
import MPathControl
import Multipath

extension MPathCtl {
    /// A built-in failover drill: cut one path with iptables for a while, under a verified IO
    /// load (or just watching), and time detection, failover, stalls and the path's return.
    struct Drill: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Cut one path of a map for a while and time the failover.",
            discussion: """
                The path's connections (its portal HOST:PORT, and its source address when it has one) are cut
                with iptables rules in INPUT tagged `mpath-drill`: blackhole drops every packet, reset answers
                them with TCP resets. The rules are always removed: at the end, on error, on SIGINT/SIGTERM,
                and stale ones for the same portal at the next start. Loopback (127.0.0.0/8) only.
                Meanwhile a verified IO load runs on the map's device (O_DIRECT, 8 threads, 4-64 KiB), writing
                over the region --offset/--size; with --watch it only watches status (for a map in use).
                Exit status: 0 when no IO error and no verify failure, 1 otherwise.
                """)

        @OptionGroup var locations: LocationOptions

        @Argument(help: "Map name (alias or WWID).")
        var map: String

        @Option(help: "Path to cut, as `mpathctl status` names it, e.g. p2.")
        var kill: String

        @Option(help: "blackhole (drop every packet) or reset (answer every packet with a TCP reset).")
        var mode: String = "blackhole"

        @Option(help: "How long the path stays cut.")
        var seconds: Double = 10

        @Flag(help: "Print one JSON object instead of the text report.")
        var json = false

        @Flag(help: "Only watch status, no IO of the drill's own (for a map in use, e.g. mounted).")
        var watch = false

        @Flag(help: "Cut the path even if it is the map's last active one or shares its connection with other paths.")
        var force = false

        @Option(help: "Start of the device region the IO load overwrites (bytes, or 64k, 1m, 1g).")
        var offset: String = "0"

        @Option(help: "Size of that region (capped at the device's end).")
        var size: String = "64m"

        func run() throws {
            guard let mode = DrillMode(rawValue: mode.lowercased()) else {
                MPathCtl.fail("--mode must be blackhole or reset, got '\(self.mode)'")
            }
            guard seconds.isFinite, seconds > 0, seconds <= 3600 else {
                MPathCtl.fail("--seconds must be more than 0 and at most 3600, got \(seconds)")
            }
            let chunk = DrillLoad.maxBlocks * DrillLoad.blockSize
            guard let regionOffset = parseSize(offset), regionOffset >= 0, regionOffset % chunk == 0 else {
                MPathCtl.fail("--offset '\(offset)' is not a size that is a multiple of 64k")
            }
            guard let regionSize = parseSize(size), regionSize >= chunk * DrillSession.threads else {
                MPathCtl.fail("--size '\(size)' is not a size of at least \(chunk * DrillSession.threads / 1024)k (\(DrillSession.threads) threads × 64k)")
            }

            let status = Daemon.send(.status(map: nil), locations: locations)
            guard case .status(let report) = status else { Daemon.unexpected(status) }
            let sessionAnswer = Daemon.send(.sessions(printLevel: 1), locations: locations)
            guard case .sessions(let sessions) = sessionAnswer else { Daemon.unexpected(sessionAnswer) }
            let target: DrillTarget
            let firewall: DrillFirewall
            var notes: [String] = []
            do {
                target = try DrillTarget.locate(report: report, sessions: sessions, map: map, path: kill, force: force)
                firewall = try DrillFirewall(host: target.host, port: target.port, local: target.local, mode: mode)
                // Before the state checks: stale rules keep the path failed.
                let leftovers = try firewall.removeLeftovers()
                if leftovers > 0 { notes.append("removed \(leftovers) leftover mpath-drill rule(s) for \(target.host):\(target.port)") }
                try target.checkState(force: force, leftoversRemoved: leftovers)
            } catch {
                MPathCtl.fail("\(error)")
            }
            let resolved = ConfigLocations.resolve(configDir: locations.configDir, stateDir: locations.stateDir,
                                                   runDir: locations.runDir)
            let client = ControlClient(socketPath: ControlWire.socketPath(runDir: resolved.runDir))
            let session = DrillSession(target: target, firewall: firewall, mode: mode, seconds: seconds, watch: watch, verbose: !json,
                                       regionOffset: UInt64(regionOffset), regionSize: UInt64(regionSize), client: client)
            var outcome: DrillSession.Outcome
            do {
                outcome = try session.execute()
            } catch {
                MPathCtl.fail("\(error)")
            }
            outcome.notes = notes + outcome.notes
            if json {
                do { print(try outcome.report.jsonString()) } catch { MPathCtl.fail("could not encode the report: \(error)") }
                for note in outcome.notes { FileHandle.standardError.write(Data("mpathctl: \(note)\n".utf8)) }
            } else {
                print(outcome.report.text(), terminator: "")
                for note in outcome.notes { print("note: \(note)") }
            }
            if !outcome.rulesLeft.isEmpty {
                MPathCtl.fail("could not remove the drill's iptables rules; remove them by hand: "
                              + outcome.rulesLeft.joined(separator: "; "))
            }
            if !outcome.report.passed { throw ExitCode(1) }
        }
    }
}

/// The map, the path to cut and the address pair its connections use, checked against status.
struct DrillTarget {
    let map: MapView
    let path: PathView
    let host: String
    let port: Int
    /// The path's source address when its iface binds one.
    let local: String?

    /// Finds `path` in `map` and its address pair; refuses, with one line, a path that is not
    /// in the map, a non-loopback portal, or (without `force`) a cut that would hit other paths.
    static func locate(report: StatusReport, sessions: [SessionInfo], map name: String, path pathName: String,
                       force: Bool) throws -> DrillTarget {
        guard let map = report.maps.first(where: { $0.name == name || $0.wwid == name }) else {
            let names = report.maps.map(\.name)
            throw DrillError(names.isEmpty ? "mpathd has no maps (log in first)"
                                           : "no map named \(name) (maps: \(names.joined(separator: ", ")))")
        }
        guard let path = map.paths.first(where: { $0.name == pathName }) else {
            if let owner = report.maps.first(where: { $0.paths.contains { $0.name == pathName } }) {
                throw DrillError("path \(pathName) is not in map \(map.name) (it belongs to \(owner.name))")
            }
            throw DrillError("map \(map.name) has no path \(pathName) (its paths: \(map.paths.map(\.name).joined(separator: ", ")))")
        }
        let (host, port) = try portal(path.portal, of: pathName)
        try LoopbackAddress.validate(host, what: "portal address of \(pathName)")
        func localAddress(of name: String) -> String? {
            sessions.first { $0.attached.contains { $0.path == name } }?.localAddress
        }
        let local = localAddress(of: pathName)
        // Paths whose packets the rules would hit too: same portal, and a source the rules match.
        var collateral: [String] = []
        for other in report.maps {
            for candidate in other.paths where candidate.name != pathName {
                guard let pair = try? portal(candidate.portal, of: candidate.name), pair.host == host, pair.port == port else { continue }
                if local == nil || localAddress(of: candidate.name) == local { collateral.append("\(candidate.name) (\(other.name))") }
            }
        }
        if !collateral.isEmpty && !force {
            throw DrillError("cutting \(pathName) also cuts \(collateral.joined(separator: ", ")): same portal \(host):\(port)"
                             + (local.map { " and source \($0)" } ?? "") + " (add --force to drill anyway)")
        }
        return DrillTarget(map: map, path: path, host: host, port: port, local: local)
    }

    /// Refuses a path that is already failed, or (without `force`) the map's last active one.
    func checkState(force: Bool, leftoversRemoved: Int) throws {
        guard path.dmState == .active else {
            if leftoversRemoved > 0 {
                throw DrillError("path \(path.name) of \(map.name) is failed: \(leftoversRemoved) leftover mpath-drill rule(s) "
                                 + "were just removed, try again once it is active")
            }
            throw DrillError("path \(path.name) of \(map.name) is already failed: there is nothing to cut")
        }
        let othersActive = map.paths.filter { $0.name != path.name && $0.dmState == .active }
        if othersActive.isEmpty && !force {
            throw DrillError("\(path.name) is the last active path of \(map.name): cutting it stops all IO on the map "
                             + "(add --force to drill anyway)")
        }
    }

    /// `HOST:PORT[,TPGT]` → (HOST, PORT); the port defaults to 3260.
    static func portal(_ text: String, of path: String) throws -> (host: String, port: Int) {
        let address = text.split(separator: ",", maxSplits: 1).first.map(String.init) ?? text
        guard let colon = address.lastIndex(of: ":"), !address.hasPrefix("[") else {
            guard !address.isEmpty, !address.hasPrefix("[") else {
                throw DrillError("refusing to touch portal '\(text)' of \(path): the drill only cuts loopback addresses (127.0.0.0/8)")
            }
            return (address, 3260)
        }
        let host = String(address[..<colon])
        guard let port = Int(address[address.index(after: colon)...]), (1...65535).contains(port) else {
            throw DrillError("portal '\(text)' of \(path) has no valid port")
        }
        return (host, port)
    }
}

/// One drill from start to report; every exit path removes the rules.
struct DrillSession {
    struct Outcome {
        var report: DrillReport
        /// Extra lines for the operator (leftovers removed, stuck IO, first error…).
        var notes: [String]
        /// Removal commands that failed (the rules are still there).
        var rulesLeft: [String]
    }

    let target: DrillTarget
    let firewall: DrillFirewall
    let mode: DrillMode
    let seconds: Double
    let watch: Bool
    let verbose: Bool
    let regionOffset: UInt64
    let regionSize: UInt64
    let client: ControlClient

    /// IO threads, each doing one synchronous IO at a time: queue depth 8.
    static let threads = 8
    /// Load and sampling before the cut, for a baseline.
    static let warmup = 1.0
    /// Longest wait for the path to come back after the rules are gone.
    static let settle = 30.0
    /// Longest wait, once back, for the path to carry IO again.
    static let reuse = 5.0

    private func progress(_ line: String) {
        if verbose { FileHandle.standardError.write(Data("drill: \(line)\n".utf8)) }
    }

    func execute() throws -> Outcome {
        let name = target.map.name
        let pathName = target.path.name
        var notes: [String] = []
        var events: [DrillEvent] = []

        var device: DrillDevice?
        var load: DrillLoad?
        var loadDescription = "watching status (no IO of the drill's own)"
        if !watch {
            // Status names the device "/dev/loop3", or "dm-0" for a kernel map; "-" when not exported.
            let shown = target.map.device
            guard shown != "-", !shown.isEmpty, !shown.contains("..") else {
                throw DrillError("map \(name) has no block device (status shows '\(shown)'); use --watch")
            }
            let opened = try DrillDevice.open(shown.hasPrefix("/") ? shown : "/dev/" + shown)
            device = opened
            guard regionOffset < opened.sizeBytes else {
                opened.close()
                throw DrillError("--offset \(regionOffset) is beyond the end of \(opened.path) (\(opened.sizeBytes) bytes)")
            }
            let chunk = UInt64(DrillLoad.maxBlocks * DrillLoad.blockSize)
            let length = min(regionSize, opened.sizeBytes - regionOffset) / chunk * chunk
            do {
                load = try DrillLoad(device: opened, offset: regionOffset, length: length, threads: Self.threads,
                                     runID: UInt64.random(in: 1...UInt64.max))
            } catch {
                opened.close()
                throw error
            }
            loadDescription = "IO load started: \(Self.threads) threads, 4-64 KiB, bytes \(regionOffset)-\(regionOffset + length) of \(opened.path)"
        }
        // A worker stuck in an IO still uses the descriptor: then it stays open until exit.
        var ioStuck = false
        defer { if !ioStuck { device?.close() } }

        let signals = DrillSignalGuard { number in
            let left = firewall.remove()
            var message = "mpathctl: drill stopped by signal \(number); "
            message += left.isEmpty ? "iptables rules removed\n" : "could not remove: \(left.joined(separator: "; "))\n"
            FileHandle.standardError.write(Data(message.utf8))
        }
        defer { signals.cancel() }
        defer { firewall.remove() }

        let monitor = DrillMonitor(client: client, map: name)
        monitor.start()
        guard monitor.wait(timeout: 5, until: { !$0.isEmpty }) else {
            let log = monitor.stop()
            throw DrillError("mpathd answers no status for \(name)" + (log.firstError.map { ": \($0.text)" } ?? ""))
        }
        let loadStart = DrillClock.now()
        load?.start()
        events.append(DrillEvent(at: loadStart, text: loadDescription))
        Thread.sleep(forTimeInterval: Self.warmup)

        let killAt: UInt64
        do {
            killAt = try firewall.install()
        } catch {
            _ = load?.stop(timeout: Self.settle)
            _ = monitor.stop()
            throw error
        }
        progress("cut \(pathName) (\(target.host):\(target.port)\(target.local.map { " from \($0)" } ?? "")) by \(mode.rawValue) for \(String(format: "%g", seconds)) s")
        Thread.sleep(forTimeInterval: seconds)
        let rulesLeft = firewall.remove()
        let restoreAt = DrillClock.now()
        progress(rulesLeft.isEmpty ? "rules removed; waiting for \(pathName) to come back" : "could not remove every rule")

        var restoredAt: UInt64?
        _ = monitor.wait(timeout: Self.settle) { samples in
            restoredAt = DrillAnalysis.restoration(samples: samples, path: pathName, killAt: killAt, restoreAt: restoreAt)
            return restoredAt != nil
        }
        if let restoredAt {
            _ = monitor.wait(timeout: Self.reuse) { samples in
                DrillAnalysis.backInUse(samples: samples, path: pathName, restoredAt: restoredAt) != nil
            }
            // A few more samples after the return, so the report shows the steady state.
            Thread.sleep(forTimeInterval: 0.3)
        } else {
            notes.append("\(pathName) was not seen active again within \(Int(Self.settle)) s of the rules' removal")
        }

        var blocksVerified: Int?
        var verifyFailures: Int?
        var records: [DrillIORecord]?
        var endAt = DrillClock.now()
        if let load {
            let summary = load.stop(timeout: Self.settle)
            endAt = DrillClock.now()
            records = summary.records
            var final = summary
            if summary.stuckWorkers > 0 {
                ioStuck = true
                notes.append("\(summary.stuckWorkers) IO(s) still not completed \(Int(Self.settle)) s after the drill stopped its load "
                             + "(counted as IO errors)")
            } else {
                progress("verifying every block written")
                if load.verifyEverything(timeout: 120) {
                    final = load.summary(stuck: 0)
                } else {
                    ioStuck = true
                    notes.append("the final read-back did not finish within 120 s")
                }
            }
            blocksVerified = final.blocksVerified
            verifyFailures = final.verifyFailures
            for event in [final.firstError, final.firstMismatch].compactMap({ $0 }) {
                events.append(event)
                notes.append(event.text)
            }
        }
        let log = monitor.stop()
        if let first = log.firstError {
            events.append(first)
            notes.append("\(log.errors) status poll(s) failed; first: \(first.text)")
        }
        let observations = DrillObservations(
            map: name, path: pathName, mode: mode, seconds: seconds, killAt: killAt, restoreAt: restoreAt, endAt: endAt,
            samples: log.samples, ios: records, blocksVerified: blocksVerified, verifyFailures: verifyFailures, events: events)
        return Outcome(report: DrillReport(analyzing: observations), notes: notes, rulesLeft: rulesLeft)
    }
}
