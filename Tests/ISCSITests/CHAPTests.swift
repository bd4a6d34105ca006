import XCTest

@testable import ISCSI

final class CHAPTests: XCTestCase {
    private let challenge: [UInt8] = [
        0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF, 0xFE, 0xDC, 0xBA, 0x98, 0x76, 0x54, 0x32, 0x10,
    ]
    private let user = CHAPCredentials(username: "initiator-user", secret: "initiatorsecret")
    private let target = CHAPCredentials(username: "target-user", secret: "targetsecret99")

    /// Always returns `byte` repeated: makes our mutual challenge and identifier predictable.
    private func constant(_ byte: UInt8) -> RandomSource { RandomSource { Array(repeating: byte, count: $0) } }

    private func chapError(_ body: () throws -> Void) -> CHAPError? {
        do {
            try body()
            return nil
        } catch let error as CHAPError {
            return error
        } catch {
            XCTFail("unexpected error type \(error)")
            return nil
        }
    }

    // MARK: - Vectors (expected values computed with Python hashlib)

    func testResponseVectors() {
        // hashlib.md5(bytes([42]) + b"secretsecret" + bytes.fromhex("0123456789abcdeffedcba9876543210"))
        let secret = Array("secretsecret".utf8)
        XCTAssertEqual(
            TextValue.encodeHex(CHAPInitiator.response(algorithm: .md5, identifier: 42, secret: secret, challenge: challenge)),
            "0x7633da181b8027cd87b942dca98c6a69")
        XCTAssertEqual(
            TextValue.encodeHex(CHAPInitiator.response(algorithm: .sha1, identifier: 42, secret: secret, challenge: challenge)),
            "0x5dbc779f409773e9f53115376d9e6fef8684df6c")
        XCTAssertEqual(
            TextValue.encodeHex(CHAPInitiator.response(algorithm: .sha256, identifier: 42, secret: secret, challenge: challenge)),
            "0xca9c70933028adf6a2e0549ced3d5df06e54b538a1bf38553db109f5504ab134")
    }

    func testAlgorithmNumbersAndSizes() {
        XCTAssertEqual(CHAPAlgorithm.md5.rawValue, 5)
        XCTAssertEqual(CHAPAlgorithm.sha1.rawValue, 6)
        XCTAssertEqual(CHAPAlgorithm.sha256.rawValue, 7)
        XCTAssertEqual(CHAPAlgorithm.allCases.map(\.digestLength), [16, 20, 32])
        for algorithm in CHAPAlgorithm.allCases {
            XCTAssertEqual(
                CHAPInitiator.response(algorithm: algorithm, identifier: 0, secret: [1], challenge: [2]).count,
                algorithm.digestLength)
        }
    }

    // MARK: - One-way

    func testOfferKeepsConfiguredOrder() throws {
        let chap = try CHAPInitiator(credentials: user, mutual: nil, algorithms: [.sha256, .md5, .sha256])
        XCTAssertEqual(chap.algorithmOffer(), ["CHAP_A": "7,5"])
    }

    func testRespondsToHexAndBase64Challenges() throws {
        for encoded in ["0x0102030405060708090a0b0c0d0e0f10", "0bAQIDBAUGBwgJCgsMDQ4PEA=="] {
            var chap = try CHAPInitiator(credentials: user, mutual: nil, algorithms: [.md5])
            let reply = try chap.respond(to: ["CHAP_A": "5", "CHAP_I": "1", "CHAP_C": encoded])
            // hashlib.md5(bytes([1]) + b"initiatorsecret" + bytes(range(1, 17)))
            XCTAssertEqual(reply, ["CHAP_N": "initiator-user", "CHAP_R": "0x1496d8a9e402d298727f489ae4cbb721"])
            XCTAssertEqual(chap.algorithm, .md5)
            XCTAssertNoThrow(try chap.verifyTarget([:]))  // one-way: nothing to verify
        }
        var sha = try CHAPInitiator(credentials: user, mutual: nil, algorithms: [.md5, .sha256])
        XCTAssertEqual(
            try sha.respond(to: ["CHAP_A": "7", "CHAP_I": "0x01", "CHAP_C": "0x0102030405060708090a0b0c0d0e0f10"])["CHAP_R"],
            "0x2f5d422497526d38e8ea6c2fff19e6d9b1afd1fe4121769740b6c3cd5bdf518e")
    }

    func testChallengeErrors() throws {
        let good: TextParameters = ["CHAP_A": "5", "CHAP_I": "1", "CHAP_C": "0x0102"]
        func respond(_ change: (inout TextParameters) -> Void) -> CHAPError? {
            var keys = good
            change(&keys)
            return chapError {
                var chap = try CHAPInitiator(credentials: user, mutual: nil, algorithms: [.md5, .sha256])
                _ = try chap.respond(to: keys)
            }
        }
        XCTAssertNil(respond { _ in })
        XCTAssertEqual(respond { $0.set("CHAP_A", "6") }, .targetRequestedUnofferedAlgorithm(6))
        XCTAssertEqual(respond { $0.set("CHAP_A", "Reject") }, .algorithmRejected(offered: [5, 7]))
        XCTAssertEqual(respond { $0.set("CHAP_A", "5,7") }, .malformedChallenge(key: "CHAP_A", reason: "expected one algorithm number"))
        XCTAssertEqual(respond { $0.remove("CHAP_A") }, .malformedChallenge(key: "CHAP_A", reason: "missing"))
        XCTAssertEqual(respond { $0.set("CHAP_I", "256") }, .malformedChallenge(key: "CHAP_I", reason: "expected a number 0...255"))
        XCTAssertEqual(respond { $0.set("CHAP_I", "-1") }, .malformedChallenge(key: "CHAP_I", reason: "expected a number 0...255"))
        XCTAssertEqual(respond { $0.remove("CHAP_I") }, .malformedChallenge(key: "CHAP_I", reason: "missing"))
        XCTAssertEqual(respond { $0.set("CHAP_C", "0x01zz") }, .malformedChallenge(key: "CHAP_C", reason: "invalid hex digit"))
        XCTAssertEqual(
            respond { $0.set("CHAP_C", "0102") },
            .malformedChallenge(key: "CHAP_C", reason: "expected 0x hex or 0b base64 binary value"))
        XCTAssertEqual(respond { $0.set("CHAP_C", "0b!!!!") }, .malformedChallenge(key: "CHAP_C", reason: "invalid base64 encoding"))
        XCTAssertEqual(respond { $0.remove("CHAP_C") }, .malformedChallenge(key: "CHAP_C", reason: "missing"))
        XCTAssertNil(respond { $0.set("CHAP_C", TextValue.encodeHex([UInt8](repeating: 7, count: 1024))) })
        let tooLong = respond { $0.set("CHAP_C", TextValue.encodeHex([UInt8](repeating: 7, count: 1025))) }
        XCTAssertEqual(tooLong, .malformedChallenge(key: "CHAP_C", reason: "length 1025 bytes is outside 1...1024"))
        XCTAssertEqual(tooLong?.description, "CHAP: the target's CHAP_C is unusable: length 1025 bytes is outside 1...1024")
        XCTAssertEqual(
            CHAPError.targetRequestedUnofferedAlgorithm(6).description,
            "CHAP: the target chose algorithm CHAP_A=6, which we did not offer")
    }

    func testConfigurationErrors() {
        XCTAssertEqual(chapError { _ = try CHAPInitiator(credentials: user, mutual: nil, algorithms: []) }, .noAlgorithmsConfigured)
        XCTAssertEqual(
            chapError { _ = try CHAPInitiator(credentials: CHAPCredentials(username: "u", secret: ""), mutual: nil, algorithms: [.md5]) },
            .incompleteCredentials(direction: "outgoing"))
        XCTAssertEqual(
            chapError {
                _ = try CHAPInitiator(credentials: user, mutual: CHAPCredentials(username: "", secret: "x"), algorithms: [.md5])
            },
            .incompleteCredentials(direction: "incoming"))
        let same = CHAPCredentials(username: "target", secret: "initiatorsecret")
        let error = chapError { _ = try CHAPInitiator(credentials: user, mutual: same, algorithms: [.md5]) }
        XCTAssertEqual(error, .sameSecretBothWays)
        XCTAssertFalse(error?.description.contains("initiatorsecret") ?? true)
    }

    // MARK: - Mutual

    func testMutualFlow() throws {
        var chap = try CHAPInitiator(credentials: user, mutual: target, algorithms: [.sha256], randomSource: constant(0x42))
        XCTAssertTrue(chap.isMutual)
        let reply = try chap.respond(to: ["CHAP_A": "7", "CHAP_I": "1", "CHAP_C": "0x0102030405060708090a0b0c0d0e0f10"])
        XCTAssertEqual(
            reply,
            [
                "CHAP_N": "initiator-user",
                "CHAP_R": "0x2f5d422497526d38e8ea6c2fff19e6d9b1afd1fe4121769740b6c3cd5bdf518e",
                "CHAP_I": "66",
                "CHAP_C": "0x" + String(repeating: "42", count: 32),
            ])
        // hashlib.sha256(bytes([0x42]) + b"targetsecret99" + bytes([0x42] * 32))
        let good = "0xf009528c29db0763ed6e50555f64166837c6be2256c15055e41563c7048379dd"
        XCTAssertNoThrow(try chap.verifyTarget(["CHAP_N": "target-user", "CHAP_R": good]))
        XCTAssertNoThrow(try chap.verifyTarget(["CHAP_N": "target-user", "CHAP_R": "0x" + good.dropFirst(2).uppercased()]))

        XCTAssertEqual(
            chapError { try chap.verifyTarget(["CHAP_N": "someone", "CHAP_R": good]) },
            .targetNameMismatch(expected: "target-user", got: "someone"))
        let wrong = String(good.dropLast()) + "e"
        let mismatch = chapError { try chap.verifyTarget(["CHAP_N": "target-user", "CHAP_R": wrong]) }
        XCTAssertEqual(mismatch, .targetResponseMismatch)
        XCTAssertEqual(
            mismatch?.description,
            "mutual CHAP: the target's response does not match the configured incoming secret")
        XCTAssertEqual(
            chapError { try chap.verifyTarget(["CHAP_N": "target-user", "CHAP_R": String(good.dropLast(2))]) },
            .targetResponseMismatch)
        XCTAssertEqual(
            chapError { try chap.verifyTarget(["CHAP_N": "target-user", "CHAP_R": "0xnothex"]) },
            .malformedResponse(key: "CHAP_R", reason: "invalid hex digit"))
        XCTAssertEqual(chapError { try chap.verifyTarget(["CHAP_N": "target-user"]) }, .targetDidNotAuthenticate)
        XCTAssertEqual(chapError { try chap.verifyTarget([:]) }, .targetDidNotAuthenticate)
    }

    func testMutualMD5ChallengeIsAtLeast16Bytes() throws {
        var chap = try CHAPInitiator(credentials: user, mutual: target, algorithms: [.md5], randomSource: constant(0x42))
        let reply = try chap.respond(to: ["CHAP_A": "5", "CHAP_I": "9", "CHAP_C": "0x0a0b"])
        XCTAssertEqual(reply["CHAP_C"], "0x" + String(repeating: "42", count: 16))
        // hashlib.md5(bytes([0x42]) + b"targetsecret99" + bytes([0x42] * 16))
        XCTAssertNoThrow(try chap.verifyTarget(["CHAP_N": "target-user", "CHAP_R": "0xe9f376226dad6a1cae54c5b98b22484d"]))
    }

    func testReflectedChallengeIsRefused() throws {
        var chap = try CHAPInitiator(credentials: user, mutual: target, algorithms: [.md5], randomSource: constant(0x42))
        let reflected = TextValue.encodeHex([UInt8](repeating: 0x42, count: 16))
        XCTAssertEqual(
            chapError { _ = try chap.respond(to: ["CHAP_A": "5", "CHAP_I": "66", "CHAP_C": reflected]) },
            .reflectedChallenge)
    }

    func testShortRandomSourceIsToppedUp() throws {
        var chap = try CHAPInitiator(
            credentials: user, mutual: target, algorithms: [.sha1], randomSource: RandomSource { _ in [1, 2] })
        let reply = try chap.respond(to: ["CHAP_A": "6", "CHAP_I": "1", "CHAP_C": "0x01"])
        let ours = try TextValue.binary(XCTUnwrap(reply["CHAP_C"]), key: "CHAP_C")
        XCTAssertEqual(ours.count, 20)
        XCTAssertEqual(Array(ours.prefix(2)), [1, 2])
    }

    func testSystemRandomSourceDiffers() {
        let a = RandomSource.system.bytes(32)
        let b = RandomSource.system.bytes(32)
        XCTAssertEqual(a.count, 32)
        XCTAssertNotEqual(a, b)
    }

    // MARK: - Secrets stay secret

    func testCredentialsNeverPrintTheSecret() {
        let credentials = CHAPCredentials(username: "alice", secret: "hunter2hunter2")
        var dumped = ""
        dump(credentials, to: &dumped)
        for text in ["\(credentials)", String(reflecting: credentials), String(describing: credentials), dumped] {
            XCTAssertFalse(text.contains("hunter2"), text)
            XCTAssertTrue(text.contains("alice"), text)
        }
        XCTAssertEqual("\(credentials)", "CHAPCredentials(username: \"alice\", secret: <redacted>)")
        let binary = CHAPCredentials(username: "bob", secret: [0x68, 0x69])
        XCTAssertFalse(String(reflecting: binary).contains("104"))
    }

    func testConstantTimeCompare() {
        XCTAssertTrue(CHAPInitiator.constantTimeEqual([1, 2, 3], [1, 2, 3]))
        XCTAssertFalse(CHAPInitiator.constantTimeEqual([1, 2, 3], [1, 2, 4]))
        XCTAssertFalse(CHAPInitiator.constantTimeEqual([1, 2, 3], [1, 2]))
        XCTAssertTrue(CHAPInitiator.constantTimeEqual([], []))
    }
}
