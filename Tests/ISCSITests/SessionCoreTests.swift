import NIOCore
import XCTest
@testable import ISCSI

final class SessionCoreTests: XCTestCase {
    typealias Core = SessionCore<Int>

    func makeCore(maxCmdSN: UInt32 = 100, limits: TransferLimits = TransferLimits(), maxOutstanding: Int = 128) -> Core {
        Core(cmdSN: 10, expCmdSN: 10, maxCmdSN: maxCmdSN, expStatSN: 50, limits: limits, maxOutstanding: maxOutstanding)
    }

    func sent(_ out: [Core.Output]) -> [PDU] {
        out.compactMap { if case .send(let pdu) = $0 { return pdu } else { return nil } }
    }

    func completions(_ out: [Core.Output]) -> [(Int, Result<SCSITaskResponse, ISCSITaskError>)] {
        out.compactMap { if case .scsiCompleted(let c, let r) = $0 { return (c, r) } else { return nil } }
    }

    func read(_ length: Int) -> SCSITaskRequest {
        SCSITaskRequest(lun: 1 << 48, cdb: [0x28, 0, 0, 0, 0, 0, 0, 0, 8, 0], direction: .read, expectedReadLength: length)
    }

    func write(_ length: Int) -> SCSITaskRequest {
        SCSITaskRequest(lun: 1 << 48, cdb: [0x2a], direction: .write,
                        dataOut: ByteBuffer(bytes: (0..<length).map { UInt8(truncatingIfNeeded: $0) }))
    }

    func response(itt: UInt32, statSN: UInt32, status: UInt8 = 0, expCmdSN: UInt32 = 11, maxCmdSN: UInt32 = 100,
                  sense: [UInt8]? = nil) -> PDU {
        var rsp = SCSIResponsePDU()
        rsp.initiatorTaskTag = itt
        rsp.statSN = statSN
        rsp.status = status
        rsp.expCmdSN = expCmdSN
        rsp.maxCmdSN = maxCmdSN
        if let sense {
            var data = ByteBuffer()
            data.writeInteger(UInt16(sense.count))
            data.writeBytes(sense)
            rsp.data = data
        }
        return rsp.pdu()
    }

    func testCommandsWaitForTheWindowAndAreNumberedInOrder() throws {
        var core = makeCore(maxCmdSN: 11)  // room for CmdSN 10 and 11
        var out: [Core.Output] = []
        let itts = (0..<4).map { core.submit(read(512), context: $0, into: &out) }
        var cmds = try sent(out).map { try SCSICommandPDU(pdu: $0) }
        XCTAssertEqual(cmds.map(\.cmdSN), [10, 11])
        XCTAssertEqual(cmds.map(\.expStatSN), [50, 50])
        XCTAssertEqual(core.waitingCount, 2)
        out.removeAll()
        // A NOP-In window update opens the window by two.
        var nop = NOPInPDU()
        nop.expCmdSN = 10
        nop.maxCmdSN = 13
        try core.receive(nop.pdu(), into: &out)
        cmds = try sent(out).map { try SCSICommandPDU(pdu: $0) }
        XCTAssertEqual(cmds.map(\.cmdSN), [12, 13])
        XCTAssertEqual(cmds.map(\.initiatorTaskTag), Array(itts[2...]))
        XCTAssertEqual(core.waitingCount, 0)
    }

    func testStaleWindowUpdatesAreIgnored() throws {
        var core = makeCore(maxCmdSN: 20)
        var out: [Core.Output] = []
        var nop = NOPInPDU()
        nop.expCmdSN = 10
        nop.maxCmdSN = 5  // MaxCmdSN < ExpCmdSN - 1: invalid, ignored
        try core.receive(nop.pdu(), into: &out)
        XCTAssertEqual(core.window.maxCmdSN, 20)
    }

    func testCmdsMaxBoundsOutstandingCommands() throws {
        var core = makeCore(maxOutstanding: 2)
        var out: [Core.Output] = []
        let itts = (0..<3).map { core.submit(read(512), context: $0, into: &out) }
        XCTAssertEqual(sent(out).count, 2)
        out.removeAll()
        try core.receive(response(itt: itts[0], statSN: 50), into: &out)
        XCTAssertEqual(try sent(out).map { try SCSICommandPDU(pdu: $0).initiatorTaskTag }, [itts[2]])
    }

    func testDataInInOnePDUIsDeliveredWithoutCopy() throws {
        var core = makeCore()
        var out: [Core.Output] = []
        let itt = core.submit(read(4096), context: 1, into: &out)
        out.removeAll()
        var din = DataInPDU()
        din.initiatorTaskTag = itt
        din.final = true
        din.statusPresent = true
        din.statSN = 50
        din.data = ByteBuffer(bytes: Array(repeating: 0xab, count: 4096))
        try core.receive(din.pdu(), into: &out)
        let done = completions(out)
        XCTAssertEqual(done.count, 1)
        let rsp = try done[0].1.get()
        XCTAssertEqual(rsp.status, 0)
        XCTAssertEqual(rsp.data, din.data)
        XCTAssertEqual(core.expStatSN, 51)
        XCTAssertEqual(core.taskCount, 0)
    }

    func testDataInAcrossPDUsIsAssembledByOffset() throws {
        var core = makeCore()
        var out: [Core.Output] = []
        let itt = core.submit(read(10_000), context: 1, into: &out)
        out.removeAll()
        let payload = (0..<10_000).map { UInt8(truncatingIfNeeded: $0 * 31) }
        var offset = 0
        var dataSN: UInt32 = 0
        while offset < payload.count {
            let n = min(4096, payload.count - offset)
            var din = DataInPDU()
            din.initiatorTaskTag = itt
            din.dataSN = dataSN
            din.bufferOffset = UInt32(offset)
            din.data = ByteBuffer(bytes: payload[offset..<offset + n])
            try core.receive(din.pdu(), into: &out)
            offset += n
            dataSN += 1
        }
        XCTAssertTrue(completions(out).isEmpty)
        try core.receive(response(itt: itt, statSN: 50), into: &out)
        let rsp = try completions(out)[0].1.get()
        XCTAssertEqual(Array(rsp.data.readableBytesView), payload)
    }

    func testDataInProtocolViolationsDropTheConnection() throws {
        var core = makeCore()
        var out: [Core.Output] = []
        let itt = core.submit(read(1024), context: 1, into: &out)
        var din = DataInPDU()
        din.initiatorTaskTag = itt
        din.dataSN = 1  // expected 0
        din.data = ByteBuffer(bytes: [1])
        XCTAssertThrowsError(try core.receive(din.pdu(), into: &out)) { XCTAssertTrue("\($0)".contains("DataSN 1, expected 0")) }
        din.dataSN = 0
        din.bufferOffset = 1020
        din.data = ByteBuffer(bytes: Array(repeating: 1, count: 8))
        XCTAssertThrowsError(try core.receive(din.pdu(), into: &out)) { XCTAssertTrue("\($0)".contains("overruns")) }
        din.initiatorTaskTag = 0x999
        XCTAssertThrowsError(try core.receive(din.pdu(), into: &out)) { XCTAssertTrue("\($0)".contains("unknown task")) }
    }

    func testCheckConditionCarriesSense() throws {
        var core = makeCore()
        var out: [Core.Output] = []
        let itt = core.submit(read(512), context: 7, into: &out)
        out.removeAll()
        let sense: [UInt8] = [0x70, 0, 0x06, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x2a, 0x09, 0, 0, 0, 0]
        try core.receive(response(itt: itt, statSN: 50, status: 2, sense: sense), into: &out)
        let (context, result) = completions(out)[0]
        XCTAssertEqual(context, 7)
        let rsp = try result.get()
        XCTAssertEqual(rsp.status, 2)
        XCTAssertEqual(rsp.sense, sense)
    }

    func testTargetFailureResponse() throws {
        var core = makeCore()
        var out: [Core.Output] = []
        let itt = core.submit(read(512), context: 7, into: &out)
        var rsp = SCSIResponsePDU()
        rsp.initiatorTaskTag = itt
        rsp.response = 1
        out.removeAll()
        try core.receive(rsp.pdu(), into: &out)
        XCTAssertThrowsError(try completions(out)[0].1.get()) { XCTAssertEqual($0 as? ISCSITaskError, .targetFailure(response: 1)) }
    }

    /// ImmediateData=Yes, InitialR2T=Yes: only the immediate part goes unasked; the rest waits
    /// for R2Ts, cut to MaxXmitDataSegmentLength with DataSN restarting per R2T.
    func testWriteWithImmediateDataAndR2T() throws {
        let limits = TransferLimits(immediateData: true, initialR2T: true, firstBurstLength: 16384,
                                    maxBurstLength: 65536, maxXmitDataSegmentLength: 8192)
        var core = makeCore(limits: limits)
        var out: [Core.Output] = []
        let itt = core.submit(write(100_000), context: 1, into: &out)
        var pdus = sent(out)
        XCTAssertEqual(pdus.count, 1)
        let cmd = try SCSICommandPDU(pdu: pdus[0])
        XCTAssertTrue(cmd.final)
        XCTAssertTrue(cmd.write)
        XCTAssertEqual(cmd.expectedDataTransferLength, 100_000)
        XCTAssertEqual(cmd.data.readableBytes, 8192)  // min(FirstBurstLength, MaxXmitDSL)
        out.removeAll()
        var r2t = R2TPDU()
        r2t.initiatorTaskTag = itt
        r2t.targetTransferTag = 0x77
        r2t.bufferOffset = 8192
        r2t.desiredDataTransferLength = 20_000
        try core.receive(r2t.pdu(), into: &out)
        pdus = sent(out)
        let outs = try pdus.map { try DataOutPDU(pdu: $0) }
        XCTAssertEqual(outs.map(\.bufferOffset), [8192, 16384, 24576])
        XCTAssertEqual(outs.map { $0.data.readableBytes }, [8192, 8192, 3616])
        XCTAssertEqual(outs.map(\.dataSN), [0, 1, 2])
        XCTAssertEqual(outs.map(\.final), [false, false, true])
        XCTAssertEqual(Set(outs.map(\.targetTransferTag)), [0x77])
        XCTAssertEqual(outs[1].data.getBytes(at: outs[1].data.readerIndex, length: 3), [0, 1, 2].map { UInt8(truncatingIfNeeded: 16384 + $0) })
        // An R2T past the end of the data is a protocol violation.
        r2t.bufferOffset = 99_000
        r2t.desiredDataTransferLength = 5000
        XCTAssertThrowsError(try core.receive(r2t.pdu(), into: &out))
    }

    /// InitialR2T=No: unsolicited Data-Out up to FirstBurstLength follows the command.
    func testUnsolicitedDataOutUpToFirstBurst() throws {
        let limits = TransferLimits(immediateData: false, initialR2T: false, firstBurstLength: 20_000,
                                    maxBurstLength: 65536, maxXmitDataSegmentLength: 8192)
        var core = makeCore(limits: limits)
        var out: [Core.Output] = []
        _ = core.submit(write(50_000), context: 1, into: &out)
        let pdus = sent(out)
        let cmd = try SCSICommandPDU(pdu: pdus[0])
        XCTAssertFalse(cmd.final)
        XCTAssertEqual(cmd.data.readableBytes, 0)
        let outs = try pdus.dropFirst().map { try DataOutPDU(pdu: $0) }
        XCTAssertEqual(outs.map(\.bufferOffset), [0, 8192, 16384])
        XCTAssertEqual(outs.map { $0.data.readableBytes }, [8192, 8192, 3616])
        XCTAssertEqual(Set(outs.map(\.targetTransferTag)), [reservedTag])
        XCTAssertEqual(outs.last?.final, true)
    }

    func testSmallWriteFitsInImmediateData() throws {
        var core = makeCore(limits: TransferLimits(immediateData: true, initialR2T: false, firstBurstLength: 65536,
                                                   maxBurstLength: 262144, maxXmitDataSegmentLength: 262144))
        var out: [Core.Output] = []
        _ = core.submit(write(4096), context: 1, into: &out)
        let pdus = sent(out)
        XCTAssertEqual(pdus.count, 1)
        let cmd = try SCSICommandPDU(pdu: pdus[0])
        XCTAssertTrue(cmd.final)
        XCTAssertEqual(cmd.data.readableBytes, 4096)
    }

    func testTargetNOPInIsAnsweredWithItsTTTAndLUN() throws {
        var core = makeCore()
        var out: [Core.Output] = []
        var nop = NOPInPDU()
        nop.targetTransferTag = 0x1234
        nop.lun = 3 << 48
        nop.statSN = 50
        try core.receive(nop.pdu(), into: &out)
        let reply = try NOPOutPDU(pdu: sent(out)[0])
        XCTAssertEqual(reply.initiatorTaskTag, reservedTag)
        XCTAssertEqual(reply.targetTransferTag, 0x1234)
        XCTAssertEqual(reply.lun, 3 << 48)
        XCTAssertTrue(reply.immediate)
        XCTAssertEqual(core.expStatSN, 50, "an unsolicited NOP-In does not advance StatSN")
    }

    func testPingIsImmediateAndCompletes() throws {
        var core = makeCore(maxCmdSN: 9)  // window closed
        var out: [Core.Output] = []
        let itt = core.ping(data: ByteBuffer(bytes: [1, 2]), context: 5, into: &out)
        let ping = try NOPOutPDU(pdu: sent(out)[0])
        XCTAssertTrue(ping.immediate)
        XCTAssertEqual(ping.cmdSN, 10)
        out.removeAll()
        var nop = NOPInPDU()
        nop.initiatorTaskTag = itt
        nop.statSN = 50
        nop.data = ByteBuffer(bytes: [1, 2])
        try core.receive(nop.pdu(), into: &out)
        guard case .nopCompleted(5, .success(let echo)) = out.first else { return XCTFail("\(out)") }
        XCTAssertEqual(echo, ByteBuffer(bytes: [1, 2]))
        XCTAssertEqual(core.window.cmdSN, 10, "immediate commands do not advance CmdSN")
    }

    func testAbortTaskEndsTheTaskWhenTheTargetConfirms() throws {
        var core = makeCore()
        var out: [Core.Output] = []
        let victim = core.submit(read(512), context: 1, into: &out)
        let other = core.submit(read(512), context: 2, into: &out)
        out.removeAll()
        let tmfITT = try core.taskManagement(.abortTask, lun: 0, referencedTask: victim, context: 3, into: &out)
        let tmf = try TaskManagementRequestPDU(pdu: sent(out)[0])
        XCTAssertEqual(tmf.referencedTaskTag, victim)
        XCTAssertEqual(tmf.refCmdSN, 10)
        XCTAssertEqual(tmf.lun, 1 << 48)
        out.removeAll()
        var rsp = TaskManagementResponsePDU()
        rsp.initiatorTaskTag = tmfITT
        rsp.statSN = 50
        try core.receive(rsp.pdu(), into: &out)
        let done = completions(out)
        XCTAssertEqual(done.map(\.0), [1])
        XCTAssertThrowsError(try done[0].1.get())
        XCTAssertEqual(core.outstandingTasks.map(\.itt), [other])
    }

    func testLUNResetAbortsThatLUNsTasks() throws {
        var core = makeCore()
        var out: [Core.Output] = []
        _ = core.submit(read(512), context: 1, into: &out)
        var other = read(512)
        other.lun = 2 << 48
        let survivor = core.submit(other, context: 2, into: &out)
        out.removeAll()
        let tmfITT = try core.taskManagement(.logicalUnitReset, lun: 1 << 48, context: 3, into: &out)
        var rsp = TaskManagementResponsePDU()
        rsp.initiatorTaskTag = tmfITT
        try core.receive(rsp.pdu(), into: &out)
        XCTAssertEqual(completions(out).map(\.0), [1])
        XCTAssertEqual(core.outstandingTasks.map(\.itt), [survivor])
    }

    func testRejectFailsTheRejectedTask() throws {
        var core = makeCore()
        var out: [Core.Output] = []
        let itt = core.submit(read(512), context: 4, into: &out)
        let rejectedHeader = PDUFrameEncoder().encodeContiguous(sent(out)[0])
        out.removeAll()
        var reject = RejectPDU()
        reject.reason = 0x05
        reject.statSN = 50
        reject.data = rejectedHeader.getSlice(at: 0, length: 48)!
        try core.receive(reject.pdu(), into: &out)
        XCTAssertThrowsError(try completions(out)[0].1.get()) { XCTAssertEqual($0 as? ISCSITaskError, .rejected(reason: 5)) }
        XCTAssertEqual(core.taskCount, 0)
        XCTAssertNotEqual(itt, 0)
    }

    func testTextContinuationAsksForTheRest() throws {
        var core = makeCore()
        var out: [Core.Output] = []
        let itt = core.text(ByteBuffer(bytes: Array("SendTargets=All\0".utf8)), context: 9, into: &out)
        out.removeAll()
        var part = TextResponsePDU()
        part.initiatorTaskTag = itt
        part.final = false
        part.continueFlag = true
        part.targetTransferTag = 0x42
        part.data = ByteBuffer(bytes: Array("TargetName=iqn.a\0".utf8))
        try core.receive(part.pdu(), into: &out)
        let follow = try TextRequestPDU(pdu: sent(out)[0])
        XCTAssertEqual(follow.targetTransferTag, 0x42)
        XCTAssertEqual(follow.data.readableBytes, 0)
        out.removeAll()
        part.final = true
        part.continueFlag = false
        part.data = ByteBuffer(bytes: Array("TargetAddress=127.0.0.2:3260,1\0".utf8))
        try core.receive(part.pdu(), into: &out)
        guard case .textCompleted(9, .success(let data)) = out.first else { return XCTFail("\(out)") }
        XCTAssertEqual(String(buffer: data), "TargetName=iqn.a\0TargetAddress=127.0.0.2:3260,1\0")
    }

    func testConnectionLossFailsEverything() {
        var core = makeCore(maxCmdSN: 10)
        var out: [Core.Output] = []
        for i in 0..<3 { _ = core.submit(read(512), context: i, into: &out) }
        _ = core.ping(context: 9, into: &out)
        out.removeAll()
        core.failAll(.connectionLost("reset"), into: &out)
        XCTAssertEqual(out.count, 4)
        XCTAssertEqual(core.taskCount, 0)
        XCTAssertEqual(core.waitingCount, 0)
    }

    func testManyCommandsInFlightAndITTReuse() throws {
        var core = makeCore(maxCmdSN: 10 + 255, maxOutstanding: 256)
        var out: [Core.Output] = []
        var itts = Set<UInt32>()
        for i in 0..<256 { itts.insert(core.submit(read(512), context: i, into: &out)) }
        XCTAssertEqual(itts.count, 256)
        XCTAssertEqual(sent(out).count, 256)
        var statSN: UInt32 = 50
        out.removeAll()
        for itt in itts.sorted() {
            try core.receive(response(itt: itt, statSN: statSN, expCmdSN: 10, maxCmdSN: 1000), into: &out)
            statSN += 1
        }
        XCTAssertEqual(completions(out).count, 256)
        XCTAssertEqual(core.expStatSN, statSN)
        XCTAssertEqual(core.taskCount, 0)
    }

    func testSerialArithmeticAcrossWrap() {
        XCTAssertTrue(SerialNumber.lessThan(0xffff_fff0, 5))
        XCTAssertFalse(SerialNumber.lessThan(5, 0xffff_fff0))
        var window = CommandWindow(initialCmdSN: 0xffff_ffff, expCmdSN: 0xffff_ffff, maxCmdSN: 1)
        XCTAssertEqual(window.available, 3)
        XCTAssertEqual(window.consume(), 0xffff_ffff)
        XCTAssertEqual(window.consume(), 0)
        XCTAssertEqual(window.consume(), 1)
        XCTAssertFalse(window.isOpen)
    }
}
