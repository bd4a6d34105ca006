import Foundation
import MPathControl
import Multipath
import XCTest

final class WireFormatTests: XCTestCase {
    private func line(_ message: some Encodable) throws -> String {
        String(decoding: try ControlWire.encodeLine(message), as: UTF8.self)
    }

    func testEveryRequestRoundTrips() throws {
        for request in Fixtures.allRequests {
            let bytes = try ControlWire.encodeLine(request)
            XCTAssertEqual(bytes.last, UInt8(ascii: "\n"), "\(request)")
            XCTAssertEqual(bytes.filter { $0 == UInt8(ascii: "\n") }.count, 1, "one line: \(request)")
            XCTAssertEqual(try ControlWire.decode(ControlRequest.self, line: bytes), request)
        }
    }

    func testEveryResponseRoundTrips() throws {
        for response in Fixtures.allResponses {
            let bytes = try ControlWire.encodeLine(response)
            XCTAssertEqual(bytes.filter { $0 == UInt8(ascii: "\n") }.count, 1, "one line: \(response)")
            XCTAssertEqual(try ControlWire.decode(ControlResponse.self, line: bytes.dropLast()), response)
        }
    }

    func testRequestGoldenJSON() throws {
        XCTAssertEqual(try line(ControlRequest.status(map: nil)), "{\"status\":{}}\n")
        XCTAssertEqual(try line(ControlRequest.ping), "{\"ping\":{}}\n")
        XCTAssertEqual(try line(ControlRequest.switchGroup(map: "mpatha", group: 2)),
                       "{\"switchGroup\":{\"group\":2,\"map\":\"mpatha\"}}\n")
        XCTAssertEqual(
            try line(ControlRequest.logout(NodeSelector(target: "iqn.2026-11.test:lun1", portal: "127.0.0.2"), force: false)),
            "{\"logout\":{\"_0\":{\"all\":false,\"portal\":\"127.0.0.2\",\"target\":\"iqn.2026-11.test:lun1\"},\"force\":false}}\n")
    }

    func testResponseGoldenJSON() throws {
        XCTAssertEqual(try line(ControlResponse.error(message: "no map named 'x'", code: 21)),
                       "{\"error\":{\"code\":21,\"message\":\"no map named 'x'\"}}\n")
        XCTAssertEqual(
            try line(ControlResponse.logins([
                LoginOutcome(target: "iqn.2026-11.test:lun1", portal: "127.0.0.2:3260,1", iface: "default", error: nil),
            ])),
            "{\"logins\":{\"_0\":[{\"iface\":\"default\",\"portal\":\"127.0.0.2:3260,1\",\"target\":\"iqn.2026-11.test:lun1\"}]}}\n")
        let session = SessionInfo(
            sid: 7, target: "iqn.t:1", portal: "127.0.0.2:3260,1", iface: "default", localAddress: nil,
            isid: "400001370000", tsih: 5, state: "LOGGED_IN", negotiated: [.init("HeaderDigest", "None")],
            timeouts: [], chapUsername: nil,
            attached: [.init(lun: 1, path: "p1", map: "mpatha", device: "/dev/loop3", state: "running")])
        XCTAssertEqual(
            try line(ControlResponse.sessions([session])),
            "{\"sessions\":{\"_0\":[{\"attached\":[{\"device\":\"/dev/loop3\",\"lun\":1,\"map\":\"mpatha\",\"path\":\"p1\","
                + "\"state\":\"running\"}],\"iface\":\"default\",\"isid\":\"400001370000\",\"negotiated\":[{\"key\":"
                + "\"HeaderDigest\",\"value\":\"None\"}],\"portal\":\"127.0.0.2:3260,1\",\"sid\":7,\"state\":\"LOGGED_IN\","
                + "\"target\":\"iqn.t:1\",\"timeouts\":[],\"tsih\":5}]}}\n")
    }

    func testStatusResponseCarriesTheReportDocument() throws {
        let text = try line(ControlResponse.status(Fixtures.report))
        let document = try Fixtures.report.jsonString()
        XCTAssertEqual(text, "{\"status\":{\"_0\":\(document)}}\n")
    }

    func testDecodeErrorsNameTheProblem() {
        func message(_ text: String) -> String {
            do {
                _ = try ControlWire.decode(ControlRequest.self, line: Array(text.utf8))
                return "decoded"
            } catch {
                return "\(error)"
            }
        }
        XCTAssertEqual(message("hello"), "control protocol error: not a valid ControlRequest: not JSON")
        XCTAssertEqual(message(""), "control protocol error: empty line")
        XCTAssertEqual(message("{\"frobnicate\":{}}"),
                       "control protocol error: not a valid ControlRequest: expected an object with exactly one known kind as its key")
        XCTAssertEqual(message("{\"failPath\":{}}"),
                       "control protocol error: not a valid ControlRequest: missing key 'path' at 'failPath'")
        XCTAssertEqual(message("{\"switchGroup\":{\"map\":\"m\",\"group\":\"two\"}}"),
                       "control protocol error: not a valid ControlRequest: expected Int at 'switchGroup.group'")
        XCTAssertEqual(
            (try? ControlWire.decode(ControlRequest.self, line: [0x7B, 0xFF, 0x7D])).map { "\($0)" } ?? "refused", "refused")
    }

    func testCarriageReturnBeforeNewlineIsAccepted() throws {
        XCTAssertEqual(try ControlWire.decode(ControlRequest.self, line: Array("{\"ping\":{}}\r\n".utf8)), .ping)
    }

    func testOversizedMessageIsRefused() {
        let huge = ControlResponse.table(lines: [String(repeating: "x", count: ControlWire.maximumLineBytes)])
        XCTAssertThrowsError(try ControlWire.encodeLine(huge)) { error in
            guard case ControlError.protocolError(let detail) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(detail.hasSuffix("exceeds the 4 MiB line limit"), detail)
        }
    }

    func testSocketPath() {
        XCTAssertEqual(ControlWire.socketPath(runDir: "/run/mpathd"), "/run/mpathd/mpathd.sock")
        XCTAssertEqual(ControlWire.socketPath(runDir: "/run/mpathd/"), "/run/mpathd/mpathd.sock")
    }

    func testErrorDescriptions() {
        XCTAssertEqual(ControlError.alreadyRunning("/run/mpathd/mpathd.sock").description,
                       "another mpathd is already running on /run/mpathd (socket /run/mpathd/mpathd.sock answers)")
        XCTAssertEqual(ControlError.daemonNotRunning("/run/mpathd/mpathd.sock").description,
                       "mpathd is not running (no control socket at /run/mpathd/mpathd.sock)")
        XCTAssertEqual(ControlError.system(operation: "bind", path: "/x", errno: ENAMETOOLONG).description,
                       "bind /x: File name too long")
        XCTAssertEqual(ControlError.notASocket("/run/mpathd/mpathd.sock").description,
                       "/run/mpathd/mpathd.sock exists and is not a socket (remove it, or use another --run-dir)")
    }
}
