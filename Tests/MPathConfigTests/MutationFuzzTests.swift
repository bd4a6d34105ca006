import XCTest

@testable import MPathConfig

/// Seeded random mutations of valid inputs: every parser must either succeed or throw a
/// `ConfigError` that names the file — never crash, never throw anything else.
final class MutationFuzzTests: XCTestCase {
    static let alphabet: [Unicode.Scalar] = [
        "{", "}", "\"", "#", "!", "=", "\n", "\t", " ", "a", "Z", "0", "9", "-", ",", "[", "]", ":", "/", "\\",
        "\r", "\u{0}", "\u{7f}", "é", "\u{1F600}", "(", "*", ".",
    ]
    static let chunks = ["99999999999999999999999", "-1", "0", "\"\"", "{", "}", "\n}\n", "defaults {", "= ="]

    func mutate(_ text: String, using generator: inout SeededGenerator) -> String {
        var scalars = Array(text.unicodeScalars)
        let rounds = Int.random(in: 1...4, using: &generator)
        for _ in 0..<rounds {
            let position = scalars.isEmpty ? 0 : Int.random(in: 0..<scalars.count, using: &generator)
            switch Int.random(in: 0..<7, using: &generator) {
            case 0 where !scalars.isEmpty:
                scalars[position] = Self.alphabet.randomElement(using: &generator)!
            case 1:
                scalars.insert(Self.alphabet.randomElement(using: &generator)!, at: position)
            case 2 where !scalars.isEmpty:
                let end = min(scalars.count, position + Int.random(in: 1...40, using: &generator))
                scalars.removeSubrange(position..<end)
            case 3:
                scalars.insert(contentsOf: Self.chunks.randomElement(using: &generator)!.unicodeScalars, at: position)
            case 4:
                var lines = String(String.UnicodeScalarView(scalars)).split(separator: "\n", omittingEmptySubsequences: false)
                if lines.count > 1 {
                    let a = Int.random(in: 0..<lines.count, using: &generator)
                    let b = Int.random(in: 0..<lines.count, using: &generator)
                    if Bool.random(using: &generator) { lines.swapAt(a, b) } else { lines.insert(lines[a], at: b) }
                    scalars = Array(lines.joined(separator: "\n").unicodeScalars)
                }
            case 5:
                scalars.removeSubrange(position..<scalars.count)
            default:
                // Flip the value part of a random line to a random word.
                if let newline = scalars[position...].firstIndex(of: "\n") {
                    let word = ["yes", "no", "queue", "fail", "2048", "abc", "CRC32C,None", "-5", ""].randomElement(using: &generator)!
                    scalars.insert(contentsOf: (" " + word).unicodeScalars, at: newline)
                }
            }
        }
        return String(String.UnicodeScalarView(scalars))
    }

    /// Runs `parse` on `iterations` mutants of each seed text; returns (successes, errors).
    func fuzz(
        seeds: [String], file: String, iterations: Int, seed: UInt64, parse: (String) throws -> Void
    ) -> (ok: Int, failed: Int) {
        var generator = SeededGenerator(seed: seed)
        var ok = 0, failed = 0
        for iteration in 0..<iterations {
            let base = seeds[iteration % seeds.count]
            let text = mutate(base, using: &generator)
            do {
                try parse(text)
                ok += 1
            } catch let error as ConfigError {
                failed += 1
                XCTAssertTrue(error.description.contains(file), "error without the file name: \(error)")
            } catch {
                XCTFail("unexpected error type \(type(of: error)): \(error)\n--- input ---\n\(text)")
            }
        }
        return (ok, failed)
    }

    func testISCSIDConfMutations() throws {
        let sample = try sampleConfig("iscsid.conf").text
        let golden = """
            node.startup = automatic
            node.session.auth.chap_algs = SHA256,MD5
            node.session.auth.username = u
            node.session.auth.password = p
            node.conn[0].iscsi.HeaderDigest = CRC32C,None
            node.session.iscsi.FirstBurstLength = 65536
            node.session.cmds_max = 256
            """
        let result = fuzz(seeds: [sample, golden], file: "fuzz/iscsid.conf", iterations: 3000, seed: 0x5EED_0001) {
            let parsed = try ISCSIDConf.parse($0, file: "fuzz/iscsid.conf")
            // Whatever parses must render and re-parse to the same settings.
            let again = try ISCSIDConf.parse(
                parsed.value.renderedLines(showSecrets: true).joined(separator: "\n"), file: "fuzz/iscsid.conf")
            XCTAssertEqual(again.value, parsed.value)
        }
        XCTAssertGreaterThan(result.ok, 100)
        XCTAssertGreaterThan(result.failed, 100)
    }

    func testMultipathConfMutations() throws {
        let sample = try sampleConfig("multipath.conf").text
        let examples = sample.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
            line.hasPrefix("#\t") || line.hasPrefix("#}") || line.hasPrefix("#b") || line.hasPrefix("#d")
                || line.hasPrefix("#m") || line.hasPrefix("#o") ? String(line.dropFirst()) : String(line)
        }.joined(separator: "\n")
        let golden = """
            defaults {
            \tno_path_retry queue
            \tfeatures "1 queue_if_no_path"
            }
            blacklist {
            \twwid "!^36"
            \tdevice {
            \t\tvendor "say ""x""\"
            \t\tproduct ".*"
            \t}
            }
            multipaths {
            \tmultipath {
            \t\twwid 3600a
            \t\talias a
            \t}
            }
            """
        let result = fuzz(
            seeds: [sample, examples, golden], file: "fuzz/multipath.conf", iterations: 3000, seed: 0x5EED_0002
        ) {
            let configuration = try MultipathConfiguration.parse($0, file: "fuzz/multipath.conf").value
            _ = configuration.effective(forWWID: "3600a", vendor: "LIO-ORG", product: "x")
            _ = configuration.isBlacklisted(wwid: "3600a", vendor: "say \"x\"", product: "p", devnode: "sda")
        }
        XCTAssertGreaterThan(result.ok, 100)
        XCTAssertGreaterThan(result.failed, 100)
    }

    func testRecordAndBindingsMutations() throws {
        let record = """
            # BEGIN RECORD mpath-iscsi 1
            node.name = iqn.2003-01.org.x:t
            node.tpgt = 1
            node.conn[0].address = 10.0.0.1
            node.conn[0].port = 3260
            iface.iscsi_ifacename = default
            node.discovery_address = 10.0.0.1
            node.session.auth.password = pw
            # END RECORD

            """
        let records = fuzz(seeds: [record], file: "fuzz/record", iterations: 1500, seed: 0x5EED_0003) {
            _ = try NodeRecord.parse($0, file: "fuzz/record")
        }
        XCTAssertGreaterThan(records.failed, 100)

        let bindings = "# header\nmpatha 3600a\nmpathb 3600b\n\nmpathc 3600c\n"
        let results = fuzz(seeds: [bindings], file: "fuzz/bindings", iterations: 1500, seed: 0x5EED_0004) {
            let parsed = try Bindings.parse($0, file: "fuzz/bindings")
            _ = parsed.nextFriendlyName(prefix: "mpath")
        }
        XCTAssertGreaterThan(results.ok, 100)
    }
}
