import MPathControl
import XCTest

final class SessionFormatterTests: XCTestCase {
    private func text(_ lines: [String]) -> String { lines.map { $0 + "\n" }.joined() }

    private let interfaceBanner = ["\t\t**********", "\t\tInterface:", "\t\t**********"]

    private func loggedIn(sid: Int, iface: String, address: String) -> [String] {
        interfaceBanner + [
            "\t\tIface Name: \(iface)",
            "\t\tIface Transport: tcp",
            "\t\tIface IPaddress: \(address)",
            "\t\tSID: \(sid)",
            "\t\tiSCSI Connection State: LOGGED IN",
            "\t\tiSCSI Session State: LOGGED_IN",
            "\t\tInternal iscsid Session State: NO CHANGE",
        ]
    }

    private let failedSession = [
        "\t\t**********", "\t\tInterface:", "\t\t**********",
        "\t\tIface Name: iface0",
        "\t\tIface Transport: tcp",
        "\t\tIface IPaddress: 127.0.0.9",
        "\t\tSID: 3",
        "\t\tiSCSI Connection State: TRANSPORT WAIT",
        "\t\tiSCSI Session State: FAILED",
        "\t\tInternal iscsid Session State: REOPEN",
    ]

    func testLevel0IsOneLinePerSessionInGivenOrder() {
        XCTAssertEqual(SessionFormatter.render(Fixtures.sessions, printLevel: 0), text([
            "tcp: [1] 127.0.0.2:3260,1 iqn.2026-11.test:lun1 (non-flash)",
            "tcp: [2] 127.0.0.3:3260,1 iqn.2026-11.test:lun1 (non-flash)",
            "tcp: [3] 127.0.0.2:3260,1 iqn.2026-11.test:lun2 (non-flash)",
            "tcp: [4] 127.0.0.2:3260,1 iqn.2026-11.test:lun1 (non-flash)",
        ]))
    }

    func testLevel1GroupsByTargetAndPortal() {
        let expected: [String] =
            ["Target: iqn.2026-11.test:lun1 (non-flash)",
             "\tCurrent Portal: 127.0.0.2:3260,1",
             "\tPersistent Portal: 127.0.0.2:3260,1"]
            + loggedIn(sid: 1, iface: "default", address: "127.0.0.1")
            + [""]  // second session on the same portal: iscsiadm prints an empty line instead of the portal
            + loggedIn(sid: 4, iface: "iface0", address: "127.0.0.9")
            + ["\tCurrent Portal: 127.0.0.3:3260,1",
               "\tPersistent Portal: 127.0.0.3:3260,1"]
            + loggedIn(sid: 2, iface: "default", address: "<empty>")
            + ["Target: iqn.2026-11.test:lun2 (non-flash)",
               "\tCurrent Portal: 127.0.0.2:3260,1",
               "\tPersistent Portal: 127.0.0.2:3260,1"]
            + failedSession
        XCTAssertEqual(SessionFormatter.render(Fixtures.sessions, printLevel: 1), text(expected))
    }

    private var level2Tail: [String] {
        [
            "\t\t*********",
            "\t\tTimeouts:",
            "\t\t*********",
            "\t\tNOP-Out Interval: 5",
            "\t\tNOP-Out Timeout: 5",
            "\t\tRecovery Timeout: 120",
            "\t\tLogin Timeout: 15",
            "\t\t*****",
            "\t\tCHAP:",
            "\t\t*****",
            "\t\tusername: alice",
            "\t\tpassword: ********",
            "\t\t************************",
            "\t\tNegotiated iSCSI params:",
            "\t\t************************",
            "\t\tHeaderDigest: None",
            "\t\tDataDigest: None",
            "\t\tMaxRecvDataSegmentLength: 262144",
            "\t\tMaxXmitDataSegmentLength: 65536",
            "\t\tFirstBurstLength: 65536",
            "\t\tMaxBurstLength: 262144",
            "\t\tImmediateData: Yes",
            "\t\tInitialR2T: Yes",
            "\t\tMaxOutstandingR2T: 1",
        ]
    }

    private let portalHeader = [
        "Target: iqn.2026-11.test:lun1 (non-flash)",
        "\tCurrent Portal: 127.0.0.2:3260,1",
        "\tPersistent Portal: 127.0.0.2:3260,1",
    ]

    func testLevel2AddsTimeoutsChapAndNegotiatedKeys() {
        let expected = portalHeader + loggedIn(sid: 1, iface: "default", address: "127.0.0.1") + level2Tail
        XCTAssertEqual(SessionFormatter.render([Fixtures.sessions[0]], printLevel: 2), text(expected))
    }

    func testLevel3AddsAttachedDevices() {
        let expected = portalHeader + loggedIn(sid: 1, iface: "default", address: "127.0.0.1") + level2Tail + [
            "\t\t************************",
            "\t\tAttached SCSI devices:",
            "\t\t************************",
            "\t\tHost Number: 1\tState: running",
            "\t\tscsi1 Channel 00 Id 0 Lun: 1",
            "\t\t\tAttached mpath path p1 map mpatha device /dev/loop3\t\tState: running",
        ]
        XCTAssertEqual(SessionFormatter.render([Fixtures.sessions[0]], printLevel: 3), text(expected))
    }

    func testLevel3ForAFailedSessionWithoutMapOrSecretsShown() {
        let expected = [
            "Target: iqn.2026-11.test:lun2 (non-flash)",
            "\tCurrent Portal: 127.0.0.2:3260,1",
            "\tPersistent Portal: 127.0.0.2:3260,1",
        ] + failedSession + [
            "\t\t*********", "\t\tTimeouts:", "\t\t*********",
            "\t\tRecovery Timeout: 10",
            "\t\t*****", "\t\tCHAP:", "\t\t*****",
            "\t\tusername: <empty>",
            "\t\tpassword: ********",
            "\t\t************************", "\t\tNegotiated iSCSI params:", "\t\t************************",
            "\t\t************************", "\t\tAttached SCSI devices:", "\t\t************************",
            "\t\tHost Number: 3\tState: blocked",
            "\t\tscsi3 Channel 00 Id 0 Lun: 0",
            "\t\t\tAttached mpath path p3\t\tState: failed",
        ]
        XCTAssertEqual(SessionFormatter.render([Fixtures.sessions[2]], printLevel: 3), text(expected))
    }

    func testOutOfRangeLevelsClampAndEmptyListIsEmpty() {
        XCTAssertEqual(SessionFormatter.render(Fixtures.sessions, printLevel: -1),
                       SessionFormatter.render(Fixtures.sessions, printLevel: 0))
        XCTAssertEqual(SessionFormatter.render(Fixtures.sessions, printLevel: 9),
                       SessionFormatter.render(Fixtures.sessions, printLevel: 3))
        XCTAssertEqual(SessionFormatter.render([], printLevel: 3), "")
    }
}
