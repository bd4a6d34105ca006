import XCTest
@testable import Multipath

final class FailbackTests: XCTestCase {
    func testParsing() throws {
        XCTAssertEqual(try FailbackPolicy(parsing: "immediate"), .immediate)
        XCTAssertEqual(try FailbackPolicy(parsing: "manual"), .manual)
        XCTAssertEqual(try FailbackPolicy(parsing: "followover"), .followover)
        XCTAssertEqual(try FailbackPolicy(parsing: "30"), .deferred(seconds: 30))
        XCTAssertEqual(FailbackPolicy.deferred(seconds: 30).description, "30")
        for bad in ["0", "-5", "soon", ""] {
            XCTAssertThrowsError(try FailbackPolicy(parsing: bad)) { error in
                XCTAssertEqual((error as? MultipathPolicyError)?.message,
                               "failback: expected immediate, manual, followover or seconds ≥ 1, found '\(bad)'")
            }
        }
    }

    func testManualNeverSwitches() {
        var controller = FailbackController(policy: .manual)
        XCTAssertEqual(controller.evaluate(FailbackInput(currentGroup: 1, bestGroup: 0, now: 0, pathCameUp: true,
                                                         followoverTriggered: true)), .stay)
    }

    func testImmediate() {
        var controller = FailbackController(policy: .immediate)
        XCTAssertEqual(controller.evaluate(FailbackInput(currentGroup: 1, bestGroup: 0, now: 0)), .switchTo(group: 0))
        XCTAssertEqual(controller.evaluate(FailbackInput(currentGroup: 0, bestGroup: 0, now: 1)), .stay)
    }

    func testFollowoverOnlyOnTrigger() {
        var controller = FailbackController(policy: .followover)
        XCTAssertEqual(controller.evaluate(FailbackInput(currentGroup: 1, bestGroup: 0, now: 0, pathCameUp: true)), .stay)
        XCTAssertEqual(controller.evaluate(FailbackInput(currentGroup: 1, bestGroup: 0, now: 5, pathCameUp: true,
                                                         followoverTriggered: true)), .switchTo(group: 0))
        XCTAssertTrue(FailbackController.followoverShouldFailback(restoredPathGroup: 0, bestGroup: 0, otherPathsOfGroupUp: 0))
        XCTAssertFalse(FailbackController.followoverShouldFailback(restoredPathGroup: 0, bestGroup: 0, otherPathsOfGroupUp: 1))
        XCTAssertFalse(FailbackController.followoverShouldFailback(restoredPathGroup: 1, bestGroup: 0, otherPathsOfGroupUp: 0))
    }

    func testDeferredTimeline() {
        var controller = FailbackController(policy: .deferred(seconds: 10))
        func check(_ now: Double, current: Int = 1, up: Bool = false) -> FailbackDecision {
            controller.evaluate(FailbackInput(currentGroup: current, bestGroup: 0, now: now, pathCameUp: up))
        }
        XCTAssertEqual(check(0, up: true), .waitUntil(10))
        XCTAssertEqual(check(5), .waitUntil(10))
        // Another path of the better group comes up: the wait starts over.
        XCTAssertEqual(check(7, up: true), .waitUntil(17))
        XCTAssertEqual(check(16.9), .waitUntil(17))
        XCTAssertEqual(check(17), .switchTo(group: 0))
        XCTAssertNil(controller.deadline)
        XCTAssertEqual(check(18, current: 0), .stay)
    }

    func testDeferredForgetsWhenNoLongerNeeded() {
        var controller = FailbackController(policy: .deferred(seconds: 10))
        XCTAssertEqual(controller.evaluate(FailbackInput(currentGroup: 1, bestGroup: 0, now: 0, pathCameUp: true)),
                       .waitUntil(10))
        // The better group failed again, so group 1 is best now.
        XCTAssertEqual(controller.evaluate(FailbackInput(currentGroup: 1, bestGroup: 1, now: 4)), .stay)
        XCTAssertNil(controller.deadline)
        XCTAssertEqual(controller.evaluate(FailbackInput(currentGroup: 1, bestGroup: 0, now: 20)), .waitUntil(30))
    }
}

final class NoPathRetryTests: XCTestCase {
    func testParsingAndFeatures() throws {
        XCTAssertEqual(try NoPathRetry(parsing: "fail"), .fail)
        XCTAssertEqual(try NoPathRetry(parsing: "queue"), .queue)
        XCTAssertEqual(try NoPathRetry(parsing: "12"), .retries(12))
        XCTAssertEqual(try NoPathRetry(parsing: "0"), .fail)
        XCTAssertThrowsError(try NoPathRetry(parsing: "forever")) { error in
            XCTAssertEqual((error as? MultipathPolicyError)?.message,
                           "no_path_retry: expected fail, queue or a number of retries, found 'forever'")
        }
        XCTAssertEqual(NoPathRetry.fail.featuresString, "0")
        XCTAssertEqual(NoPathRetry.queue.featuresString, "1 queue_if_no_path")
        XCTAssertEqual(NoPathRetry.retries(12).featuresString, "1 queue_if_no_path")
        XCTAssertEqual(NoPathRetry.retries(12).features, ["queue_if_no_path"])
        XCTAssertEqual(NoPathRetry.fail.features, [])
        XCTAssertEqual(NoPathRetry.retries(12).queueingDuration(pollingInterval: 5), 60)
        XCTAssertNil(NoPathRetry.queue.queueingDuration(pollingInterval: 5))
        XCTAssertEqual(NoPathRetry.fail.queueingDuration(pollingInterval: 5), 0)
    }

    func testLegacyFeatureEquivalence() {
        XCTAssertEqual(NoPathRetry.resolve(noPathRetry: nil, features: ["queue_if_no_path"]), .queue)
        XCTAssertEqual(NoPathRetry.resolve(noPathRetry: nil, features: []), .fail)
        XCTAssertEqual(NoPathRetry.resolve(noPathRetry: .fail, features: ["queue_if_no_path"]), .fail)
        XCTAssertEqual(NoPathRetry.resolve(noPathRetry: .retries(3), features: []), .retries(3))
    }

    func testRetriesTimeline() {
        // The LIO/SCST hardware-table default: 12 retries × 5 s polling = 60 s of queueing.
        var controller = NoPathRetryController(policy: .retries(12), pollingInterval: 5)
        XCTAssertEqual(controller.handle(.allPathsDown(at: 100)), .queue(until: 160))
        XCTAssertTrue(controller.isQueueing)
        XCTAssertEqual(controller.handle(.allPathsDown(at: 101)), .none)
        XCTAssertEqual(controller.handle(.tick(now: 159.9)), .none)
        let failed = controller.handle(.tick(now: 160))
        XCTAssertEqual(failed, .failQueued(
            reason: "no usable path for 60 s: no_path_retry 12 × polling_interval 5 s exhausted"))
        XCTAssertEqual(failed.message, .failIfNoPath)
        XCTAssertEqual(controller.state, .failing)
        XCTAssertEqual(controller.handle(.tick(now: 200)), .none)
        let resumed = controller.handle(.pathRestored(at: 210))
        XCTAssertEqual(resumed, .resumeQueueing)
        XCTAssertEqual(resumed.message, .queueIfNoPath)
        XCTAssertEqual(controller.state, .normal)
        // The next outage gets the full 60 s again.
        XCTAssertEqual(controller.handle(.allPathsDown(at: 300)), .queue(until: 360))
    }

    func testPathBackBeforeDeadline() {
        var controller = NoPathRetryController(policy: .retries(2), pollingInterval: 5)
        XCTAssertEqual(controller.handle(.allPathsDown(at: 0)), .queue(until: 10))
        XCTAssertEqual(controller.handle(.pathRestored(at: 4)), .none)
        XCTAssertEqual(controller.handle(.tick(now: 11)), .none)
        XCTAssertEqual(controller.state, .normal)
    }

    func testQueueForeverAndFail() {
        var queue = NoPathRetryController(policy: .queue)
        XCTAssertEqual(queue.handle(.allPathsDown(at: 0)), .queue(until: nil))
        XCTAssertEqual(queue.handle(.tick(now: 1e9)), .none)
        XCTAssertTrue(queue.isQueueing)
        XCTAssertEqual(queue.handle(.pathRestored(at: 1e9)), .none)

        var fail = NoPathRetryController(policy: .fail)
        let decision = fail.handle(.allPathsDown(at: 0))
        XCTAssertEqual(decision, .failQueued(reason: "no usable path and no_path_retry is fail"))
        XCTAssertEqual(fail.handle(.pathRestored(at: 1)), .none)
        XCTAssertNil(NoPathDecision.queue(until: nil).message)
        XCTAssertNil(NoPathDecision.none.message)
    }
}

final class PathHealthTests: XCTestCase {
    let policy = ShakyPathPolicy(threshold: 3, window: 60, initialHoldback: 30, maxHoldback: 120, forgetAfter: 600)

    func testThresholdWithinWindowMakesPathShaky() {
        var health = PathHealth(policy: policy)
        XCTAssertFalse(health.recordFailure(at: 0))
        XCTAssertFalse(health.recordFailure(at: 10))
        XCTAssertTrue(health.canReinstate(now: 15))
        XCTAssertTrue(health.recordFailure(at: 20))
        XCTAssertTrue(health.isShaky(now: 20))
        XCTAssertFalse(health.canReinstate(now: 49.9))
        XCTAssertEqual(health.holdbackRemaining(now: 40), 10)
        XCTAssertEqual(health.checkerState(now: 40), .shaky)
        XCTAssertTrue(health.canReinstate(now: 50))
        XCTAssertEqual(health.checkerState(now: 50), .ready)
        XCTAssertEqual(health.holdbackRemaining(now: 50), 0)
    }

    func testFailuresSpreadBeyondWindowNeverTrip() {
        var health = PathHealth(policy: policy)
        for time in stride(from: 0.0, through: 600, by: 30) {
            XCTAssertFalse(health.recordFailure(at: time), "t=\(time)")
        }
        XCTAssertEqual(health.episodes, 0)
        XCTAssertLessThan(health.recentFailures.count, 3)
    }

    func testHoldbackDoublesUpToCapThenIsForgiven() {
        var health = PathHealth(policy: policy)
        func burst(_ start: Double) -> Bool {
            health.recordFailure(at: start)
            health.recordFailure(at: start + 1)
            return health.recordFailure(at: start + 2)
        }
        XCTAssertTrue(burst(0))
        XCTAssertEqual(health.heldUntil, 32)
        XCTAssertTrue(burst(40))
        XCTAssertEqual(health.heldUntil, 102)
        XCTAssertTrue(burst(110))
        XCTAssertEqual(health.heldUntil, 232)
        XCTAssertTrue(burst(240))
        XCTAssertEqual(health.heldUntil, 362, "capped at 120 s")
        XCTAssertEqual(health.episodes, 4)
        // 600 s clean after the holdback ended: back to the initial 30 s.
        XCTAssertTrue(burst(962))
        XCTAssertEqual(health.episodes, 1)
        XCTAssertEqual(health.heldUntil, 994)
    }

    func testHoldbackFormulaAndValidation() {
        let health = PathHealth(policy: policy)
        XCTAssertEqual((0...6).map { health.holdback(forEpisode: $0) }, [0, 30, 60, 120, 120, 120, 120])
        XCTAssertEqual(health.holdback(forEpisode: Int.max), 120)
        XCTAssertNoThrow(try policy.validate())
        XCTAssertThrowsError(try ShakyPathPolicy(threshold: 0).validate())
        XCTAssertThrowsError(try ShakyPathPolicy(window: 0).validate())
        XCTAssertThrowsError(try ShakyPathPolicy(initialHoldback: 60, maxHoldback: 30).validate())
    }
}
