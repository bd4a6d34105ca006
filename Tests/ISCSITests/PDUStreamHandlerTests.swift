import NIOCore
import NIOEmbedded
import XCTest
@testable import ISCSI

final class PDUStreamHandlerTests: XCTestCase {
    func makeStream(count: Int, digests: Bool) -> (ByteBuffer, [PDU]) {
        var stream = ByteBuffer()
        var pdus: [PDU] = []
        for i in 0..<count {
            var din = DataInPDU()
            din.initiatorTaskTag = UInt32(i)
            din.data = ByteBuffer(bytes: (0..<(i * 997 % 5000)).map { UInt8(truncatingIfNeeded: $0 &+ i) })
            let pdu = din.pdu()
            pdus.append(pdu)
            var bytes = PDUFrameEncoder(headerDigest: digests, dataDigest: digests).encodeContiguous(pdu)
            stream.writeBuffer(&bytes)
        }
        return (stream, pdus)
    }

    /// Any split of the stream into reads yields the same PDUs, in order.
    func testAnyReadBoundariesYieldTheSamePDUs() throws {
        for digests in [false, true] {
            let (stream, expected) = makeStream(count: 12, digests: digests)
            let all = Array(stream.readableBytesView)
            for chunk in [1, 7, 47, 48, 49, 1000, 4099, all.count] {
                let settings = FrameSettings()
                settings.headerDigest = digests
                settings.dataDigest = digests
                settings.maxDataSegmentLength = 65536
                let channel = EmbeddedChannel(handler: PDUStreamHandler(settings: settings))
                var offset = 0
                while offset < all.count {
                    try channel.writeInbound(ByteBuffer(bytes: all[offset..<min(all.count, offset + chunk)]))
                    offset += chunk
                }
                var got: [PDU] = []
                while let pdu = try channel.readInbound(as: PDU.self) { got.append(pdu) }
                XCTAssertEqual(got.count, expected.count, "chunk \(chunk)")
                for (a, b) in zip(got, expected) {
                    XCTAssertEqual(a.header.initiatorTaskTag, b.header.initiatorTaskTag)
                    XCTAssertEqual(a.data, b.data, "chunk \(chunk)")
                }
                _ = try channel.finish()
            }
        }
    }

    func testHostileLengthIsAnErrorNotAnAllocation() throws {
        let settings = FrameSettings()
        settings.maxDataSegmentLength = 8192
        let channel = EmbeddedChannel(handler: PDUStreamHandler(settings: settings))
        // A Data-In header claiming 16 MiB of data, cut after 60 bytes.
        var bytes: [UInt8] = [0x25, 0x80, 0, 0, 0, 0xff, 0xff, 0xff] + Array(repeating: 0, count: 40)
        bytes += Array(repeating: 0, count: 12)
        XCTAssertThrowsError(try channel.writeInbound(ByteBuffer(bytes: bytes))) {
            XCTAssertEqual($0 as? PDUError, .dataSegmentTooLong(length: 0xffffff, limit: 8192))
        }
        _ = try? channel.finish()
    }
}
