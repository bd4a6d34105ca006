import ArgumentParser
import Foundation
import ISCSI
import Multipath
import NIOCore
import NIOPosix

extension MPathCtl {
    /// IO straight to one LUN over one session, the way iscsi-perf does it, for comparing the
    /// protocol core with libiscsi.
    struct Bench: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run a pipelined IO load on one LUN named by an iscsi:// URL.",
            discussion: "URL: iscsi://[user[%password]@]host[:port]/IQN/LUN. Credentials not in the URL come from iscsid.conf.")

        @OptionGroup var locations: LocationOptions

        @Argument(help: "iscsi://[user[%password]@]host[:port]/IQN/LUN")
        var url: String

        @Option(help: "read | write | randread | randwrite")
        var rw: String = "randread"

        @Option(help: "IO size, e.g. 512, 4k, 128k, 1m.")
        var bs: String = "4k"

        @Option(help: "Commands in flight.")
        var qd: Int = 32

        @Option(help: "Duration in seconds.")
        var seconds: Double = 10

        @Flag(help: "Write patterned blocks, then read every written byte back and compare.")
        var verify = false

        @Flag(help: "Print one JSON object.")
        var json = false

        func run() async throws {
            let context = CommandContext(locations)
            let target: ISCSIURL
            do { target = try ISCSIURL(parsing: url) } catch { MPathCtl.fail("\(error)") }
            guard let pattern = IOBenchmark.Pattern(rawValue: rw) else {
                MPathCtl.fail("--rw must be one of \(IOBenchmark.Pattern.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            guard let blockSize = parseSize(bs), blockSize >= 512, blockSize <= 16 << 20 else {
                MPathCtl.fail("--bs '\(bs)' is not a size between 512 and 16m")
            }
            guard seconds > 0 else { MPathCtl.fail("--seconds must be positive") }

            var settings = context.settings
            if let user = target.username {
                settings.auth.authMethod = .chap
                settings.auth.username = user
                settings.auth.password = target.password
            }
            let group = MultiThreadedEventLoopGroup.singleton
            let initiator = context.initiatorName()
            var login = LoginSettings.target(host: target.host, port: target.port, targetName: target.target,
                                             iface: "default", localAddress: nil, settings: settings,
                                             initiatorName: initiator.name)
            // Its own ISID qualifier: with the daemon's ISID the target would reinstate (kill)
            // the daemon's session on this path the moment the benchmark logs in.
            login.isid |= UInt64(0x8000 | (UInt16(truncatingIfNeeded: getpid()) & 0x7fff))
            let connection: ISCSIConnection
            do {
                (connection, _) = try await Initiator.login(login, group: group)
            } catch {
                MPathCtl.fail("\(error)")
            }
            let unit = LogicalUnit(connection: connection, lun: UInt64(target.lun))
            let capacity: LogicalUnit.Capacity
            do {
                try await unit.requirePresent(targetName: target.target)
                try await unit.clearUnitAttentions()
                capacity = try await unit.readCapacity()
            } catch {
                connection.close()
                MPathCtl.fail("\(error)")
            }
            let options = IOBenchmark.Options(pattern: pattern, blockSizeBytes: blockSize, queueDepth: qd,
                                              seconds: seconds, verify: verify)
            let report: IOBenchmark.Report
            do {
                let bench = try IOBenchmark(connection: connection, lun: unit.samLUN, logicalBlockLength: capacity.blockLength,
                                            blockCount: capacity.blockCount, options: options)
                report = try await bench.run().get()
            } catch {
                connection.close()
                MPathCtl.fail("\(error)")
            }
            try? await connection.logout(timeout: .seconds(5)).get()
            let p50 = report.latency.value(atQuantile: 0.5)
            let p99 = report.latency.value(atQuantile: 0.99)
            if json {
                var object = "{\"iops\":\(Int(report.iops.rounded())),\"mbps\":\(String(format: "%.1f", report.megabytesPerSecond))"
                object += ",\"lat_us\":{\"p50\":\(p50),\"p99\":\(p99),\"max\":\(report.latency.max)}"
                object += ",\"errors\":\(report.errors + report.verifyFailures)"
                if verify { object += ",\"blocks_verified\":\(report.blocksVerified),\"verify_failures\":\(report.verifyFailures)" }
                object += "}"
                print(object)
            } else {
                print("\(pattern.rawValue): bs=\(blockSize) qd=\(qd) \(String(format: "%.1f", report.seconds)) s on \(target)")
                print(String(format: "  IOPS %.0f  MB/s %.1f", report.iops, report.megabytesPerSecond))
                print("  latency us: p50 \(p50)  p99 \(p99)  max \(report.latency.max)")
                print("  errors \(report.errors)" + (verify ? "  blocks verified \(report.blocksVerified)  verify failures \(report.verifyFailures)" : ""))
                if let first = report.firstError { print("  first error: \(first)") }
            }
            if report.errors + report.verifyFailures > 0 { throw ExitCode(1) }
        }
    }
}

/// "4k" → 4096, "1m" → 1048576, "512" → 512.
func parseSize(_ text: String) -> Int? {
    let lower = text.lowercased()
    let units: [(String, Int)] = [("k", 1024), ("m", 1 << 20), ("g", 1 << 30)]
    for (suffix, factor) in units where lower.hasSuffix(suffix) {
        return Int(lower.dropLast()).map { $0 * factor }
    }
    return Int(lower)
}
