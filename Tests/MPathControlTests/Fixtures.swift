import MPathControl
import Multipath

/// Sample messages shared by the wire-format and formatter tests.
enum Fixtures {
    static let target = "iqn.2026-11.test:lun1"

    static let report = StatusReport(maps: [
        MapView(
            name: "mpatha", wwid: "360000000000000000000a000e0000001", device: "/dev/loop3",
            vendor: "IET", product: "VIRTUAL-DISK", sizeBytes: 1 << 30,
            groups: [
                PathGroupView(status: .active, paths: [
                    PathView(id: .byPath(name: "p1", portal: "127.0.0.2:3260", target: target, lun: 1),
                             device: "8:16", portal: "127.0.0.2:3260", target: target, lun: 1, nopRTTMicros: 210),
                ]),
                PathGroupView(status: .enabled, paths: [
                    PathView(id: .byPath(name: "p2", portal: "127.0.0.3:3260", target: target, lun: 1),
                             device: "8:32", portal: "127.0.0.3:3260", target: target, lun: 1,
                             dmState: .failed, checker: .faulty, deviceState: .blocked, failCount: 3),
                ]),
            ]),
    ])

    static let negotiated: [SessionInfo.KeyValue] = [
        .init("HeaderDigest", "None"), .init("DataDigest", "None"),
        .init("MaxRecvDataSegmentLength", "262144"), .init("MaxXmitDataSegmentLength", "65536"),
        .init("FirstBurstLength", "65536"), .init("MaxBurstLength", "262144"),
        .init("ImmediateData", "Yes"), .init("InitialR2T", "Yes"), .init("MaxOutstandingR2T", "1"),
    ]

    static let timeouts: [SessionInfo.KeyValue] = [
        .init("noop_out_interval", "5"), .init("noop_out_timeout", "5"),
        .init("replacement_timeout", "120"), .init("login_timeout", "15"),
    ]

    /// Two sessions to one target over two portals, plus a second session on the first portal
    /// (listed last, so the formatter has to regroup it) and a failed one to another target.
    static let sessions: [SessionInfo] = [
        SessionInfo(
            sid: 1, target: target, portal: "127.0.0.2:3260,1", iface: "default", localAddress: "127.0.0.1",
            isid: "400001370000", tsih: 1, state: "LOGGED_IN", negotiated: negotiated, timeouts: timeouts,
            chapUsername: "alice",
            attached: [.init(lun: 1, path: "p1", map: "mpatha", device: "/dev/loop3", state: "running")]),
        SessionInfo(
            sid: 2, target: target, portal: "127.0.0.3:3260,1", iface: "default", localAddress: nil,
            isid: "400001370001", tsih: 2, state: "LOGGED_IN", negotiated: negotiated, timeouts: timeouts,
            chapUsername: nil,
            attached: [.init(lun: 1, path: "p2", map: "mpatha", device: "/dev/loop3", state: "running")]),
        SessionInfo(
            sid: 3, target: "iqn.2026-11.test:lun2", portal: "127.0.0.2:3260,1", iface: "iface0",
            localAddress: "127.0.0.9", isid: "400001370002", tsih: 0, state: "FAILED", negotiated: [],
            timeouts: [.init("node.session.timeo.replacement_timeout", "10")], chapUsername: nil,
            attached: [.init(lun: 0, path: "p3", map: nil, device: nil, state: "failed")]),
        SessionInfo(
            sid: 4, target: target, portal: "127.0.0.2:3260,1", iface: "iface0", localAddress: "127.0.0.9",
            isid: "400001370003", tsih: 3, state: "LOGGED_IN", negotiated: [], timeouts: [],
            chapUsername: nil, attached: []),
    ]

    static let allRequests: [ControlRequest] = [
        .status(map: nil), .status(map: "mpatha"), .table(map: nil), .table(map: "mpatha"),
        .sessions(printLevel: 3),
        .login(NodeSelector(all: true)),
        .login(NodeSelector(target: target, portal: "127.0.0.2:3260,1", iface: "iface0")),
        .logout(NodeSelector(target: target), force: true),
        .failPath(path: "p1"), .reinstatePath(path: "p1"), .switchGroup(map: "mpatha", group: 2),
        .rescan(map: nil), .rescan(map: "mpatha"), .resize(map: "mpatha", force: false), .ping,
    ]

    static let allResponses: [ControlResponse] = [
        .ok(message: ""), .ok(message: "ok: p1 failed"), .status(report), .status(StatusReport(maps: [])),
        .table(lines: ["mpatha: 0 2097152 multipath 0 0 1 1 service-time 0 1 1 8:16 1"]),
        .sessions(sessions), .sessions([]),
        .logins([
            LoginOutcome(target: target, portal: "127.0.0.2:3260,1", iface: "default", error: nil),
            LoginOutcome(target: target, portal: "127.0.0.3:3260,1", iface: "default", error: "connection refused"),
        ]),
        .error(message: "no map named 'x'", code: 21), .pong(version: "0.1.0", pid: 4242),
    ]
}
