import NIOCore
import XCTest
@testable import ISCSI

final class PDUCodecTests: XCTestCase {
    func hex(_ buffer: ByteBuffer) -> String {
        buffer.readableBytesView.map { String(format: "%02x", $0) }.joined()
    }

    func bytes(_ hex: String) -> [UInt8] {
        let clean = hex.filter { !$0.isWhitespace }
        var out: [UInt8] = []
        var index = clean.startIndex
        while index < clean.endIndex {
            let next = clean.index(index, offsetBy: 2)
            out.append(UInt8(clean[index..<next], radix: 16)!)
            index = next
        }
        return out
    }

    /// READ(10) of 8 blocks at LBA 0x1234 on LUN 1, written out by hand from RFC 7143 §11.3.
    func testSCSICommandGoldenBytes() {
        var cmd = SCSICommandPDU()
        cmd.read = true
        cmd.lun = 0x0001_0000_0000_0000
        cmd.initiatorTaskTag = 0x0000_0007
        cmd.expectedDataTransferLength = 4096
        cmd.cmdSN = 0x0000_0102
        cmd.expStatSN = 0x0000_0203
        cmd.cdb = [0x28, 0, 0, 0, 0x12, 0x34, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0]
        let encoded = PDUFrameEncoder().encodeContiguous(cmd.pdu())
        XCTAssertEqual(hex(encoded), """
            01c100000000000000010000000000000000000700001000000001020000020328000000123400000800000000000000
            """)
        var decoder = PDUFrameDecoder(acceptTargetOpcodes: false)
        var buffer = encoded
        let pdu = try! decoder.next(from: &buffer)!
        XCTAssertEqual(try SCSICommandPDU(pdu: pdu), cmd)
    }

    /// Login Request with ISID 0x80123456000a, TSIH 0, CSG 0 → NSG 1 with T set.
    func testLoginRequestGoldenBytes() {
        var login = LoginRequestPDU()
        login.transit = true
        login.currentStage = 0
        login.nextStage = 1
        login.isid = 0x8012_3456_000a
        login.initiatorTaskTag = 1
        login.cid = 0
        login.cmdSN = 5
        login.expStatSN = 0
        login.data = ByteBuffer(bytes: Array("AuthMethod=None\0".utf8))
        let encoded = PDUFrameEncoder().encodeContiguous(login.pdu())
        XCTAssertEqual(Array(encoded.readableBytesView.prefix(48)), bytes("""
            43 81 00 00 00 00 00 10 80 12 34 56 00 0a 00 00 00 00 00 01 00 00 00 00 00 00 00 05 00 00 00 00
            00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
            """))
        XCTAssertEqual(encoded.readableBytes, 48 + 16)
    }

    func roundTrip<P: PDUConvertible & Equatable>(_ value: P, targetSide: Bool, digests: Bool = false,
                                                  file: StaticString = #filePath, line: UInt = #line) {
        let encoder = PDUFrameEncoder(headerDigest: digests, dataDigest: digests)
        var buffer = encoder.encodeContiguous(value.pdu())
        var decoder = PDUFrameDecoder(headerDigest: digests, dataDigest: digests, maxDataSegmentLength: 1 << 20,
                                      acceptTargetOpcodes: targetSide)
        do {
            let pdu = try XCTUnwrap(decoder.next(from: &buffer), file: file, line: line)
            XCTAssertEqual(try P(pdu: pdu), value, file: file, line: line)
            XCTAssertEqual(buffer.readableBytes, 0, "whole PDU consumed", file: file, line: line)
        } catch {
            XCTFail("\(error)", file: file, line: line)
        }
    }

    func testEveryOpcodeRoundTrips() {
        let payload = ByteBuffer(bytes: Array(0..<37).map { UInt8($0) })
        for digests in [false, true] {
            var cmd = SCSICommandPDU(); cmd.write = true; cmd.cdb = Array(1...16); cmd.data = payload; cmd.attribute = .ordered
            roundTrip(cmd, targetSide: false, digests: digests)
            var rsp = SCSIResponsePDU(); rsp.status = 2; rsp.residualFlags = .underflow; rsp.residualCount = 512; rsp.data = payload
            roundTrip(rsp, targetSide: true, digests: digests)
            var din = DataInPDU(); din.final = true; din.statusPresent = true; din.dataSN = 3; din.bufferOffset = 8192; din.data = payload
            roundTrip(din, targetSide: true, digests: digests)
            var dout = DataOutPDU(); dout.final = true; dout.targetTransferTag = 9; dout.dataSN = 2; dout.bufferOffset = 4096; dout.data = payload
            roundTrip(dout, targetSide: false, digests: digests)
            var r2t = R2TPDU(); r2t.targetTransferTag = 0x55; r2t.r2tSN = 1; r2t.bufferOffset = 65536; r2t.desiredDataTransferLength = 262144
            roundTrip(r2t, targetSide: true, digests: digests)
            var nopOut = NOPOutPDU(); nopOut.initiatorTaskTag = 42; nopOut.data = payload
            roundTrip(nopOut, targetSide: false, digests: digests)
            var nopIn = NOPInPDU(); nopIn.targetTransferTag = 77; nopIn.lun = 0x0002_0000_0000_0000
            roundTrip(nopIn, targetSide: true, digests: digests)
            var login = LoginRequestPDU(); login.continueFlag = true; login.currentStage = 1; login.nextStage = 3; login.isid = 0x8000_0000_0001; login.tsih = 7; login.cid = 3; login.data = payload
            roundTrip(login, targetSide: false, digests: digests)
            var loginRsp = LoginResponsePDU(); loginRsp.transit = true; loginRsp.currentStage = 1; loginRsp.nextStage = 3; loginRsp.statusClass = 2; loginRsp.statusDetail = 1; loginRsp.tsih = 0x1234
            roundTrip(loginRsp, targetSide: true, digests: digests)
            var text = TextRequestPDU(); text.data = payload
            roundTrip(text, targetSide: false, digests: digests)
            var textRsp = TextResponsePDU(); textRsp.final = false; textRsp.continueFlag = true; textRsp.targetTransferTag = 5; textRsp.data = payload
            roundTrip(textRsp, targetSide: true, digests: digests)
            var logout = LogoutRequestPDU(); logout.reason = .closeConnection; logout.cid = 2
            roundTrip(logout, targetSide: false, digests: digests)
            var logoutRsp = LogoutResponsePDU(); logoutRsp.response = 1; logoutRsp.time2Wait = 2; logoutRsp.time2Retain = 20
            roundTrip(logoutRsp, targetSide: true, digests: digests)
            var tmf = TaskManagementRequestPDU(); tmf.function = .logicalUnitReset; tmf.referencedTaskTag = 9; tmf.refCmdSN = 8
            roundTrip(tmf, targetSide: false, digests: digests)
            var tmfRsp = TaskManagementResponsePDU(); tmfRsp.response = 5
            roundTrip(tmfRsp, targetSide: true, digests: digests)
            var async = AsyncMessagePDU(); async.asyncEvent = 1; async.parameter3 = 10; async.parameter1 = 1; async.parameter2 = 2
            roundTrip(async, targetSide: true, digests: digests)
            var reject = RejectPDU(); reject.reason = 9; reject.data = PDUFrameEncoder().encodeContiguous(cmd.pdu()).getSlice(at: 0, length: 48)!
            roundTrip(reject, targetSide: true, digests: digests)
            var snack = SNACKRequestPDU(); snack.type = 1; snack.begRun = 4; snack.runLength = 2
            roundTrip(snack, targetSide: false, digests: digests)
        }
    }

    func testDataSegmentIsPaddedAndDigestIsLittleEndian() {
        var nop = NOPOutPDU()
        nop.data = ByteBuffer(bytes: [1, 2, 3, 4, 5])
        let encoded = PDUFrameEncoder(headerDigest: true, dataDigest: true).encodeContiguous(nop.pdu())
        XCTAssertEqual(encoded.readableBytes, 48 + 4 + 8 + 4)
        let bytes = Array(encoded.readableBytesView)
        XCTAssertEqual(Array(bytes[52..<60]), [1, 2, 3, 4, 5, 0, 0, 0])
        let headerCRC = CRC32C.checksum(Array(bytes[0..<48]))
        XCTAssertEqual(Array(bytes[48..<52]), [UInt8(headerCRC & 0xff), UInt8(headerCRC >> 8 & 0xff), UInt8(headerCRC >> 16 & 0xff), UInt8(headerCRC >> 24)])
        let dataCRC = CRC32C.checksum(Array(bytes[52..<60]))
        XCTAssertEqual(Array(bytes[60..<64]), [UInt8(dataCRC & 0xff), UInt8(dataCRC >> 8 & 0xff), UInt8(dataCRC >> 16 & 0xff), UInt8(dataCRC >> 24)])
    }

    func testLargeDataIsNotCopiedAndMatchesContiguous() {
        var dout = DataOutPDU()
        dout.data = ByteBuffer(bytes: (0..<10_001).map { UInt8(truncatingIfNeeded: $0 * 7) })
        let encoder = PDUFrameEncoder(headerDigest: true, dataDigest: true)
        let (head, data, tail) = encoder.encode(dout.pdu(), allocator: ByteBufferAllocator())
        XCTAssertEqual(head.readableBytes, 52)
        XCTAssertEqual(data?.readableBytes, 10_001)
        XCTAssertEqual(tail?.readableBytes, 3 + 4)
        var joined = head; var d = data!; var t = tail!
        joined.writeBuffer(&d); joined.writeBuffer(&t)
        XCTAssertEqual(joined, encoder.encodeContiguous(dout.pdu()))
    }

    func testDecoderHandlesAnyChunking() throws {
        var stream = ByteBuffer()
        var expected: [PDU] = []
        for i in 0..<5 {
            var din = DataInPDU()
            din.initiatorTaskTag = UInt32(i)
            din.data = ByteBuffer(bytes: Array(repeating: UInt8(i), count: i * 3))
            let pdu = din.pdu()
            expected.append(pdu)
            var one = PDUFrameEncoder(headerDigest: true, dataDigest: true).encodeContiguous(pdu)
            stream.writeBuffer(&one)
        }
        let all = Array(stream.readableBytesView)
        for chunk in [1, 3, 47, 48, 49, 1000] {
            var decoder = PDUFrameDecoder(headerDigest: true, dataDigest: true)
            var cumulation = ByteBuffer()
            var got: [PDU] = []
            var offset = 0
            while offset < all.count {
                cumulation.writeBytes(all[offset..<min(all.count, offset + chunk)])
                offset += chunk
                while let pdu = try decoder.next(from: &cumulation) { got.append(pdu) }
            }
            XCTAssertEqual(got.count, 5, "chunk \(chunk)")
            for (a, b) in zip(got, expected) {
                XCTAssertEqual(a.header.initiatorTaskTag, b.header.initiatorTaskTag)
                XCTAssertEqual(a.data, b.data)
            }
        }
    }

    func testDecoderErrorsNameTheProblem() {
        var nop = NOPInPDU()
        nop.data = ByteBuffer(bytes: [9, 9, 9, 9])
        let good = PDUFrameEncoder(headerDigest: true, dataDigest: true).encodeContiguous(nop.pdu())

        var corruptHeader = good
        corruptHeader.setInteger(UInt8(0x99), at: 20)
        var decoder = PDUFrameDecoder(headerDigest: true, dataDigest: true)
        XCTAssertThrowsError(try decoder.next(from: &corruptHeader)) {
            XCTAssertTrue("\($0)".contains("header digest mismatch"), "\($0)")
        }

        var corruptData = good
        corruptData.setInteger(UInt8(0), at: 52)
        XCTAssertThrowsError(try decoder.next(from: &corruptData)) {
            XCTAssertTrue("\($0)".contains("data digest mismatch"), "\($0)")
        }

        var huge = ByteBuffer(bytes: [0x20, 0x80, 0, 0, 0, 0xff, 0xff, 0xff] + Array(repeating: 0, count: 40))
        var plain = PDUFrameDecoder(maxDataSegmentLength: 65536)
        XCTAssertThrowsError(try plain.next(from: &huge)) {
            XCTAssertEqual($0 as? PDUError, .dataSegmentTooLong(length: 0xffffff, limit: 65536))
        }

        var unknown = ByteBuffer(bytes: [0x2a] + Array(repeating: 0, count: 47))
        XCTAssertThrowsError(try plain.next(from: &unknown)) { XCTAssertEqual($0 as? PDUError, .unknownOpcode(0x2a)) }

        var initiatorOpcode = ByteBuffer(bytes: [0x01] + Array(repeating: 0, count: 47))
        XCTAssertThrowsError(try plain.next(from: &initiatorOpcode)) {
            XCTAssertTrue("\($0)".contains("expected a target PDU"))
        }
    }

    func testTypedPDUsRejectIllegalFlagCombinations() {
        var h = BasicHeaderSegment(opcode: .dataIn, flags: 0x01)  // S without F
        XCTAssertThrowsError(try DataInPDU(header: h, data: ByteBuffer()))
        h = BasicHeaderSegment(opcode: .loginResponse, flags: 0xc0)  // T and C
        XCTAssertThrowsError(try LoginResponsePDU(header: h, data: ByteBuffer()))
        h = BasicHeaderSegment(opcode: .scsiResponse, flags: 0x86)  // O and U
        XCTAssertThrowsError(try SCSIResponsePDU(header: h, data: ByteBuffer()))
        var r2t = BasicHeaderSegment(opcode: .readyToTransfer)
        r2t.word20 = reservedTag
        XCTAssertThrowsError(try R2TPDU(header: r2t, data: ByteBuffer()))
        var rsp = SCSIResponsePDU()
        rsp.data = ByteBuffer(bytes: [0, 40, 1, 2])
        XCTAssertThrowsError(try rsp.senseBytes()) { XCTAssertTrue("\($0)".contains("SenseLength")) }
    }

    /// Seeded mutation of valid streams: the decoder and typed parsers must only ever return a
    /// PDU, ask for more bytes, or throw; never trap, never buffer beyond the limit.
    func testSeededMutationNeverCrashes() {
        var rng = SplitMix64(seed: 0x15c5_1)
        var samples: [ByteBuffer] = []
        var din = DataInPDU(); din.data = ByteBuffer(bytes: Array(repeating: 7, count: 100)); din.final = true
        var rsp = SCSIResponsePDU(); rsp.status = 2; rsp.data = ByteBuffer(bytes: [0, 18, 0x70, 0, 5] + Array(repeating: 0, count: 15))
        var login = LoginResponsePDU(); login.data = ByteBuffer(bytes: Array("TargetAlias=x\0".utf8))
        for pdu in [din.pdu(), rsp.pdu(), login.pdu(), R2TPDU().pdu(), NOPInPDU().pdu(), AsyncMessagePDU().pdu()] {
            samples.append(PDUFrameEncoder().encodeContiguous(pdu))
        }
        var decoded = 0, errors = 0
        for _ in 0..<20_000 {
            var bytes = Array(samples[Int(rng.next() % UInt64(samples.count))].readableBytesView)
            for _ in 0..<(1 + Int(rng.next() % 4)) {
                let at = Int(rng.next() % UInt64(bytes.count))
                switch rng.next() % 3 {
                case 0: bytes[at] = UInt8(truncatingIfNeeded: rng.next())
                case 1: bytes.removeSubrange(at..<min(bytes.count, at + Int(rng.next() % 8)))
                default: bytes.insert(UInt8(truncatingIfNeeded: rng.next()), at: at)
                }
                if bytes.isEmpty { bytes = [0] }
            }
            var buffer = ByteBuffer(bytes: bytes)
            var decoder = PDUFrameDecoder(maxDataSegmentLength: 8192)
            do {
                while let pdu = try decoder.next(from: &buffer) {
                    decoded += 1
                    var out: [SessionCore<Int>.Output] = []
                    var core = SessionCore<Int>(cmdSN: 1, expCmdSN: 1, maxCmdSN: 10, expStatSN: 1, limits: TransferLimits())
                    _ = core.submit(SCSITaskRequest(lun: 0, cdb: [0x28], direction: .read, expectedReadLength: 4096), context: 0, into: &out)
                    try? core.receive(pdu, into: &out)
                }
            } catch {
                errors += 1
            }
        }
        XCTAssertGreaterThan(decoded, 1000)
        XCTAssertGreaterThan(errors, 100)
    }
}

/// Deterministic generator for seeded tests.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}
