import XCTest
@testable import Multipath

/// Seeded random mutation of valid table and status lines: the parsers must either accept the
/// result (and then read their own rendering back identically) or throw their error type.
final class ParserFuzzTests: XCTestCase {
    /// SplitMix64, so failures reproduce from the seed.
    struct SplitMix64: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static let tokens = [
        "0", "1", "2", "8", "9", "1024", "1025", "-1", "99999999999999999999", "18446744073709551616",
        "A", "E", "D", "F", "X", "x", "8:16", "8:", ":16", "/dev/sdb", "/", "p1", "round-robin", "service-time",
        "queue-length", "queue_if_no_path", "pg_init_retries", "queue_mode", "multipath", "linear", "mpatha:",
        "\u{00e9}", "\t", "\n", "",
    ]

    private func mutate(_ line: String, _ rng: inout SplitMix64) -> String {
        var words = line.split(separator: " ").map(String.init)
        let rounds = Int.random(in: 1...3, using: &rng)
        for _ in 0..<rounds {
            guard !words.isEmpty else { words = [Self.tokens.randomElement(using: &rng) ?? "0"]; continue }
            let index = Int.random(in: 0..<words.count, using: &rng)
            switch Int.random(in: 0..<7, using: &rng) {
            case 0: words.remove(at: index)
            case 1: words.insert(words[index], at: index)
            case 2: words[index] = Self.tokens.randomElement(using: &rng) ?? "0"
            case 3: words.insert(Self.tokens.randomElement(using: &rng) ?? "0", at: index)
            case 4:
                let other = Int.random(in: 0..<words.count, using: &rng)
                words.swapAt(index, other)
            case 5: words.removeSubrange(index...)
            default:
                var chars = Array(words[index])
                if !chars.isEmpty {
                    chars[Int.random(in: 0..<chars.count, using: &rng)] =
                        Character(Unicode.Scalar(UInt8.random(in: 0x20...0x7E, using: &rng)))
                }
                words[index] = String(chars)
            }
        }
        return words.joined(separator: " ")
    }

    func testTableParserSurvivesMutations() {
        var rng = SplitMix64(state: 0x6D70_6D6F_6465_6C01)
        let corpus = DMTableTests.noteExamples + DMTableTests.measured
        var accepted = 0
        for _ in 0..<4000 {
            let source = corpus.randomElement(using: &rng) ?? corpus[0]
            let line = mutate(source, &rng)
            do throws(DMTableError) {
                let table = try DMMultipathTable.parse(line)
                accepted += 1
                XCTAssertEqual(try DMMultipathTable.parse(table.render()), table, line)
                XCTAssertNoThrow(try table.validate(), line)
            } catch {
                XCTAssertTrue(error.message.hasPrefix("dm table: "), error.message)
            }
        }
        // Some mutations (a changed device or length) stay valid; most do not.
        XCTAssertGreaterThan(accepted, 0)
        XCTAssertLessThan(accepted, 4000)
    }

    func testStatusParserSurvivesMutations() {
        var rng = SplitMix64(state: 0x6D70_6D6F_6465_6C02)
        let corpus = [DMStatusTests.kernelDoc, DMStatusTests.failedPath,
                      "mpathb: 0 2048 multipath 2 1 3 0 1 1 A 0 2 0 8:16 A 0 8:32 F 7 "]
        var accepted = 0
        for _ in 0..<4000 {
            let source = corpus.randomElement(using: &rng) ?? corpus[0]
            let line = mutate(source, &rng)
            do throws(DMStatusError) {
                let status = try DMMultipathStatus.parse(line)
                accepted += 1
                XCTAssertEqual(try DMMultipathStatus.parse(status.render()), status, line)
            } catch {
                XCTAssertTrue(error.message.hasPrefix("dm status: "), error.message)
            }
        }
        XCTAssertGreaterThan(accepted, 0)
        XCTAssertLessThan(accepted, 4000)
    }

    func testMessageParserSurvivesMutations() {
        var rng = SplitMix64(state: 0x6D70_6D6F_6465_6C03)
        let corpus = ["fail_path 8:16", "reinstate_path /dev/sdb", "switch_group 2", "disable_group 1",
                      "enable_group 3", "queue_if_no_path", "fail_if_no_path"]
        for _ in 0..<2000 {
            let line = mutate(corpus.randomElement(using: &rng) ?? corpus[0], &rng)
            do throws(DMMessageError) {
                let message = try DMMessage.parse(line)
                XCTAssertEqual(try DMMessage.parse(message.text), message)
            } catch {
                XCTAssertTrue(error.message.hasPrefix("dm message: "), error.message)
            }
        }
    }
}
