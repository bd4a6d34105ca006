import XCTest

@testable import BlockExport

final class RangeLockTableTests: XCTestCase {
    func testSharedLocksOverlapFreely() {
        var table = RangeLockTable<String>()
        XCTAssertTrue(table.acquire(0..<100, mode: .shared, payload: "a").granted)
        XCTAssertTrue(table.acquire(50..<150, mode: .shared, payload: "b").granted)
        XCTAssertEqual(table.heldCount, 2)
    }

    func testExclusiveWaitsForOverlappingSharedAndResumesOnRelease() {
        var table = RangeLockTable<String>()
        let first = table.acquire(0..<4096, mode: .shared, payload: "write")
        let rmw = table.acquire(4000..<8192, mode: .exclusive, payload: "rmw")
        XCTAssertTrue(first.granted)
        XCTAssertFalse(rmw.granted)
        XCTAssertEqual(table.waitingCount, 1)
        XCTAssertEqual(table.release(first.ticket), ["rmw"])
        XCTAssertEqual(table.waitingCount, 0)
        XCTAssertEqual(table.heldCount, 1)
    }

    func testDisjointExclusiveLocksDoNotBlock() {
        var table = RangeLockTable<Int>()
        XCTAssertTrue(table.acquire(0..<512, mode: .exclusive, payload: 1).granted)
        XCTAssertTrue(table.acquire(512..<1024, mode: .exclusive, payload: 2).granted)
    }

    func testSharedWaitsBehindExclusive() {
        var table = RangeLockTable<Int>()
        let rmw = table.acquire(0..<512, mode: .exclusive, payload: 1)
        let write = table.acquire(256..<768, mode: .shared, payload: 2)
        XCTAssertFalse(write.granted)
        XCTAssertEqual(table.release(rmw.ticket), [2])
    }

    func testFIFOAmongConflictingWaiters() {
        var table = RangeLockTable<String>()
        let holder = table.acquire(0..<100, mode: .shared, payload: "h")
        // An exclusive waiter blocks later shared requests on the same range,
        // so a stream of shared writers cannot starve it.
        XCTAssertFalse(table.acquire(0..<100, mode: .exclusive, payload: "x").granted)
        XCTAssertFalse(table.acquire(0..<100, mode: .shared, payload: "s").granted)
        // A request elsewhere is not held up.
        XCTAssertTrue(table.acquire(200..<300, mode: .shared, payload: "other").granted)
        XCTAssertEqual(table.release(holder.ticket), ["x"])
        XCTAssertEqual(table.waitingCount, 1)
    }

    func testReleaseGrantsAllCompatibleWaiters() {
        var table = RangeLockTable<String>()
        let rmw = table.acquire(0..<1000, mode: .exclusive, payload: "x")
        _ = table.acquire(0..<10, mode: .shared, payload: "a")
        _ = table.acquire(500..<600, mode: .shared, payload: "b")
        XCTAssertEqual(table.waitingCount, 2)
        XCTAssertEqual(table.release(rmw.ticket), ["a", "b"])
        XCTAssertEqual(table.heldCount, 2)
    }

    func testDoubleReleaseIsHarmless() {
        var table = RangeLockTable<Int>()
        let lock = table.acquire(0..<10, mode: .exclusive, payload: 1)
        _ = table.acquire(0..<10, mode: .exclusive, payload: 2)
        XCTAssertEqual(table.release(lock.ticket), [2])
        XCTAssertEqual(table.release(lock.ticket), [])
        XCTAssertEqual(table.heldCount, 1)
    }
}
