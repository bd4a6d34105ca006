import Foundation
import XCTest

@testable import MPathConfig

final class ISCSIDConfTests: XCTestCase {
    func testDefaults() {
        let settings = SessionSettings()
        XCTAssertEqual(settings.startup, .manual)
        XCTAssertEqual(settings.noopOutInterval, 1)
        XCTAssertEqual(settings.noopOutTimeout, 2)
        XCTAssertEqual(settings.loginTimeout, 15)
        XCTAssertEqual(settings.logoutTimeout, 15)
        XCTAssertEqual(settings.replacementTimeout, 120)
        XCTAssertEqual(settings.cmdsMax, 128)
        XCTAssertEqual(settings.queueDepth, 32)
        XCTAssertEqual(settings.chapAlgorithms, [.md5])
        XCTAssertEqual(settings.operational.maxRecvDataSegmentLength, 262_144)
        XCTAssertEqual(settings.discoveryMaxRecvDataSegmentLength, 32_768)
        XCTAssertEqual(settings.operational.headerDigest, .none)
    }

    func testGoldenParse() throws {
        let text = """
            # comment
            node.startup=automatic
              node.session.auth.authmethod   =   CHAP
            node.session.auth.username = alice
            node.session.auth.password = s3cr#t = with spaces
            node.session.auth.chap_algs = SHA3-256, sha256 ,MD5
            node.conn[0].timeo.noop_out_interval =5
            node.session.timeo.replacement_timeout = -1
            node.session.cmds_max = 1024
            node.session.iscsi.InitialR2T = yes
            node.session.iscsi.FastAbort = No
            node.conn[0].iscsi.HeaderDigest = CRC32C, None
            node.conn[0].iscsi.DataDigest = crc32c
            node.session.scan = manual
            iscsid.startup = /bin/systemctl start iscsid.socket

            """
        let result = try ISCSIDConf.parse(text, file: "/etc/mpathd/iscsid.conf")
        XCTAssertEqual(result.diagnostics, [])
        var expected = SessionSettings()
        expected.startup = .automatic
        expected.auth.authMethod = .chap
        expected.auth.username = "alice"
        expected.auth.password = "s3cr#t = with spaces"
        expected.chapAlgorithms = [.sha3_256, .sha256, .md5]
        expected.noopOutInterval = 5
        expected.replacementTimeout = -1
        expected.cmdsMax = 1024
        expected.operational.initialR2T = true
        expected.fastAbort = false
        expected.operational.headerDigest = .crc32cOrNone
        expected.operational.dataDigest = .crc32c
        expected.scan = .manual
        XCTAssertEqual(result.value, expected)
        XCTAssertEqual(result.value.operational.headerDigest.offer, ["CRC32C", "None"])
        XCTAssertTrue(result.value.auth.usesCHAP)
        XCTAssertFalse(result.value.auth.isMutual)
    }

    func testUnknownAndRepeatedKeysAreWarnings() throws {
        let text = """
            node.session.timeo.replacment_timeout = 5
            node.session.xmit_thread_priority = 0
            node.startup = automatic
            node.startup = manual
            """
        let result = try ISCSIDConf.parse(text, file: "f.conf")
        XCTAssertEqual(
            result.diagnostics.map(\.description),
            [
                "f.conf:1: warning: unknown key 'node.session.timeo.replacment_timeout'; ignored",
                "f.conf:2: warning: open-iscsi key 'node.session.xmit_thread_priority' is not used by mpath-iscsi; ignored",
                "f.conf:4: warning: 'node.startup' repeated; this value replaces the one on line 3",
            ])
        XCTAssertEqual(result.value.startup, .manual)
        XCTAssertEqual(result.value.replacementTimeout, 120)
    }

    func testErrorsNameFileLineKeyAndAllowedValues() {
        let cases: [(String, String)] = [
            ("node.startup", "f:2: expected 'key = value'"),
            ("= 5", "f:2: missing key before '='"),
            ("node startup = manual", "f:2: node startup: keys cannot contain spaces"),
            (
                "node.startup = sometimes",
                "f:2: node.startup: 'sometimes' is not allowed; expected one of: manual, automatic, onboot"
            ),
            (
                "node.session.cmds_max = 100",
                "f:2: node.session.cmds_max: 100 is out of range; expected an integer 2...2048, a power of two"
            ),
            (
                "node.session.cmds_max = 4096",
                "f:2: node.session.cmds_max: 4096 is out of range; expected an integer 2...2048, a power of two"
            ),
            (
                "node.session.queue_depth = 0",
                "f:2: node.session.queue_depth: 0 is out of range; expected an integer 1...1024"
            ),
            (
                "node.conn[0].timeo.login_timeout = 1O",
                "f:2: node.conn[0].timeo.login_timeout: '1O' is not a number; expected an integer 1...3600"
            ),
            (
                "node.conn[0].timeo.noop_out_interval =",
                "f:2: node.conn[0].timeo.noop_out_interval: '' is not a number; expected an integer 0...3600"
            ),
            ("node.leading_login = maybe", "f:2: node.leading_login: 'maybe' is not allowed; expected Yes or No"),
            (
                "node.conn[0].iscsi.DataDigest = CRC32",
                "f:2: node.conn[0].iscsi.DataDigest: 'CRC32' is not allowed; expected None, CRC32C, \"CRC32C,None\" or \"None,CRC32C\""
            ),
            (
                "node.session.auth.chap_algs = MD5,MD4",
                "f:2: node.session.auth.chap_algs: 'MD4' is not a CHAP algorithm; expected a comma list of MD5, SHA1, SHA256, SHA3-256"
            ),
            ("node.session.auth.chap_algs = MD5,md5", "f:2: node.session.auth.chap_algs: MD5 is listed twice"),
            (
                "node.conn[0].iscsi.MaxXmitDataSegmentLength = 100",
                "f:2: node.conn[0].iscsi.MaxXmitDataSegmentLength: 100 is out of range; expected an integer 0...16777215, 0 (use the target's value) or at least 512"
            ),
            (
                "node.session.iscsi.ERL = 3",
                "f:2: node.session.iscsi.ERL: 3 is out of range; expected an integer 0...2"
            ),
        ]
        for (line, expected) in cases {
            let error = expectConfigError { _ = try ISCSIDConf.parse("# header\n\(line)\n", file: "f") }
            XCTAssertEqual(error?.description, expected, line)
        }
    }

    func testFirstBurstMustNotExceedMaxBurst() {
        let text = """
            node.session.iscsi.MaxBurstLength = 65536
            node.session.iscsi.FirstBurstLength = 131072
            node.startup = manual
            """
        let error = expectConfigError { _ = try ISCSIDConf.parse(text, file: "f") }
        XCTAssertEqual(
            error?.description,
            "f:2: node.session.iscsi.FirstBurstLength: 131072 exceeds node.session.iscsi.MaxBurstLength (65536); "
                + "FirstBurstLength must not be larger")
    }

    func testSecretsNeverAppearInErrorsOrDescriptions() throws {
        let secret = String(repeating: "Q", count: 300)
        let error = expectConfigError {
            _ = try ISCSIDConf.parse("node.session.auth.password = \(secret)\n", file: "f")
        }
        XCTAssertEqual(error?.description, "f:1: node.session.auth.password: value is longer than 255 bytes")

        // A secret typed without its key must not be echoed either.
        let bare = expectConfigError { _ = try ISCSIDConf.parse("hunter2hunter2\n", file: "f") }
        XCTAssertFalse(bare?.description.contains("hunter2") ?? true)

        var settings = SessionSettings()
        settings.auth.password = "topsecret1"
        settings.discoveryAuth.passwordIn = "topsecret2"
        for text in ["\(settings)", String(reflecting: settings), "\(settings.auth)"] {
            XCTAssertFalse(text.contains("topsecret"), text)
        }
        var dumped = ""
        dump(settings, to: &dumped)
        XCTAssertFalse(dumped.contains("topsecret"), dumped)
    }

    func testRenderingMasksSecretsAndRoundTrips() throws {
        var settings = SessionSettings()
        settings.auth.username = "alice"
        settings.auth.password = "pw1"
        settings.auth.passwordIn = "pw2"
        settings.operational.dataDigest = .noneOrCRC32C
        settings.chapAlgorithms = [.sha256, .md5]

        let masked = settings.renderedLines()
        XCTAssertTrue(masked.contains("node.session.auth.password = ********"))
        XCTAssertTrue(masked.contains("node.session.auth.password_in = ********"))
        XCTAssertTrue(masked.contains("node.session.auth.username = alice"))
        XCTAssertFalse(masked.contains { $0.hasPrefix("node.session.auth.username_in") })
        XCTAssertFalse(masked.joined().contains("pw1"))

        let shown = settings.renderedLines(showSecrets: true)
        XCTAssertTrue(shown.contains("node.session.auth.password = pw1"))
        XCTAssertTrue(shown.contains("node.conn[0].iscsi.DataDigest = None,CRC32C"))
        XCTAssertTrue(shown.contains("node.session.auth.chap_algs = SHA256,MD5"))

        let withUnset = settings.renderedLines(includeUnset: true)
        XCTAssertTrue(withUnset.contains("node.session.auth.username_in = <empty>"))
        XCTAssertEqual(withUnset.count, SessionSettings.knownKeys.count)

        let reparsed = try ISCSIDConf.parse(shown.joined(separator: "\n"), file: "render")
        XCTAssertEqual(reparsed.value, settings)
        XCTAssertEqual(reparsed.diagnostics, [])
    }

    func testApplyingOverrides() throws {
        let base = SessionSettings()
        let result = try base.applying(
            overrides: ["node.session.timeo.replacement_timeout": "10", "node.startup": "onboot"],
            source: "node record x")
        XCTAssertEqual(result.replacementTimeout, 10)
        XCTAssertEqual(result.startup, .onboot)
        XCTAssertEqual(base.replacementTimeout, 120)

        let bad = expectConfigError {
            _ = try base.applying(overrides: ["node.session.queue_depth": "2000"], source: "node record x")
        }
        XCTAssertEqual(
            bad?.description, "node record x: node.session.queue_depth: 2000 is out of range; expected an integer 1...1024")
        let unknown = expectConfigError { _ = try base.applying(overrides: ["node.bogus": "1"], source: "src") }
        XCTAssertEqual(unknown?.description, "src: node.bogus: unknown setting")

        XCTAssertEqual(
            result.overrides(relativeTo: base),
            ["node.session.timeo.replacement_timeout": "10", "node.startup": "onboot"])
        XCTAssertEqual(result.value(forKey: "node.startup"), "onboot")
        XCTAssertNil(result.value(forKey: "node.session.auth.username"))
        XCTAssertTrue(SessionSettings.isSecret(key: "discovery.sendtargets.auth.password_in"))
        XCTAssertFalse(SessionSettings.isSecret(key: "node.session.auth.username"))
    }

    func testLoadMissingFileGivesDefaults() throws {
        let temp = try TemporaryDirectory()
        let result = try ISCSIDConf.load(path: temp.path + "/none.conf")
        XCTAssertEqual(result.value, SessionSettings())
    }

    func testInvalidUTF8IsAnError() throws {
        let temp = try TemporaryDirectory()
        let path = temp.path + "/bad.conf"
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data([0x6e, 0xff, 0xfe, 0x0a])))
        let error = expectConfigError { _ = try ISCSIDConf.load(path: path) }
        XCTAssertEqual(error?.description, "\(path): file is not valid UTF-8 text")
    }

    /// The shipped sample must parse cleanly and its active lines must be exactly the
    /// built-in defaults, in rendering order, so the documentation cannot drift.
    func testShippedSampleDocumentsTheDefaults() throws {
        let sample = try sampleConfig("iscsid.conf")
        let result = try ISCSIDConf.parse(sample.text, file: sample.path)
        XCTAssertEqual(result.diagnostics, [])
        XCTAssertEqual(result.value, SessionSettings())
        let activeLines = sample.text.split(separator: "\n").map(String.init)
            .filter { !$0.isEmpty && !$0.hasPrefix("#") }
        XCTAssertEqual(activeLines, SessionSettings().renderedLines())

        // The commented-out credential examples are valid too.
        let uncommented = sample.text.split(separator: "\n").map { line in
            line.hasPrefix("#node.") || line.hasPrefix("#discovery.") ? String(line.dropFirst()) : String(line)
        }.joined(separator: "\n")
        let full = try ISCSIDConf.parse(uncommented, file: sample.path)
        XCTAssertEqual(full.diagnostics, [])
        XCTAssertEqual(full.value.auth.username, "username")
        XCTAssertEqual(full.value.discoveryAuth.passwordIn, "password_in")
    }
}
