import XCTest

@testable import BlockExport

final class AlignedSpanTests: XCTestCase {
    func testAlignedRequestIsItsOwnSpan() {
        let span = AlignedSpan(offset: 8192, length: 4096, blockSize: 4096)
        XCTAssertEqual(span.start, 8192)
        XCTAssertEqual(span.length, 4096)
        XCTAssertEqual(span.headOffset, 0)
        XCTAssertTrue(span.isAligned)
        XCTAssertFalse(span.hasPartialHead)
        XCTAssertFalse(span.hasPartialTail)
        XCTAssertEqual(span.blocksToPreRead, [])
    }

    func testUnalignedInsideOneBlockReadsThatBlockOnce() {
        let span = AlignedSpan(offset: 1000, length: 10, blockSize: 512)
        XCTAssertEqual(span.start, 512)
        XCTAssertEqual(span.length, 512)
        XCTAssertEqual(span.headOffset, 488)
        XCTAssertEqual(span.payloadLength, 10)
        XCTAssertFalse(span.isAligned)
        XCTAssertTrue(span.hasPartialHead)
        XCTAssertTrue(span.hasPartialTail)
        XCTAssertEqual(span.blocksToPreRead, [512])
    }

    func testUnalignedAcrossBlocksReadsBothEdges() {
        let span = AlignedSpan(offset: 4095, length: 4098, blockSize: 4096)
        XCTAssertEqual(span.start, 0)
        XCTAssertEqual(span.length, 12288)
        XCTAssertEqual(span.headOffset, 4095)
        XCTAssertEqual(span.blocksToPreRead, [0, 8192])
    }

    func testAlignedStartUnalignedEndReadsOnlyTail() {
        let span = AlignedSpan(offset: 4096, length: 5000, blockSize: 4096)
        XCTAssertEqual(span.start, 4096)
        XCTAssertEqual(span.length, 8192)
        XCTAssertFalse(span.hasPartialHead)
        XCTAssertTrue(span.hasPartialTail)
        XCTAssertEqual(span.blocksToPreRead, [8192])
    }

    func testUnalignedStartAlignedEndReadsOnlyHead() {
        let span = AlignedSpan(offset: 100, length: 412, blockSize: 512)
        XCTAssertEqual(span.start, 0)
        XCTAssertEqual(span.length, 512)
        XCTAssertTrue(span.hasPartialHead)
        XCTAssertFalse(span.hasPartialTail)
        XCTAssertEqual(span.blocksToPreRead, [0])
    }

    func testEmptyRequest() {
        let span = AlignedSpan(offset: 700, length: 0, blockSize: 512)
        XCTAssertEqual(span.length, 0)
        XCTAssertEqual(span.blocksToPreRead, [])
    }

    func testRounding() {
        XCTAssertEqual(roundDown(4097, to: 4096), 4096)
        XCTAssertEqual(roundUp(4097, to: 4096), 8192)
        XCTAssertEqual(roundUp(4096, to: 4096), 4096)
        XCTAssertEqual(roundDown(511, to: 512), 0)
        XCTAssertEqual(roundUp(0, to: 512), 0)
    }
}
