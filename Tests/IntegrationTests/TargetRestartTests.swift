import Foundation
import ISCSI
import NIOCore
import XCTest

/// tgtd going away under a live session is reported, not hung on.
final class TargetRestartTests: XCTestCase {
    func testTGTDRestartedUnderASessionIsReportedCleanly() async throws {
        let fixture = try TGT.shared
        let target = try fixture.createTarget(luns: [(lun: 1, sizeBytes: 8 << 20)], iqnSuffix: "restart")
        defer { try? target.delete() }
        let unit = try await Live.unit(target)
        let closed = unit.connection.eventLoop.makePromise(of: String.self)
        unit.connection.onClose = { closed.succeed($0) }
        try fixture.restartTGTD()
        let reason = try await closed.futureResult.get()
        XCTAssertFalse(reason.isEmpty)
        do {
            _ = try await unit.read(lba: 0, blocks: 1, blockLength: 512)
            XCTFail("IO on a dead connection must fail")
        } catch let error as ISCSITaskError {
            guard case .connectionLost = error else { return XCTFail("\(error)") }
        }
        XCTAssertTrue(unit.connection.isClosed)
    }
}
