import XCTest

@testable import ISCSI

final class NegotiationTests: XCTestCase {
    private func negotiator(
        _ configure: (inout OperationalOffer) -> Void = { _ in }, session: SessionType = .normal
    ) -> OperationalNegotiator {
        var offer = OperationalOffer()
        configure(&offer)
        return OperationalNegotiator(offer: offer, sessionType: session)
    }

    private func negotiationError(_ body: () throws -> Void) -> NegotiationError? {
        do {
            try body()
            return nil
        } catch let error as NegotiationError {
            return error
        } catch {
            XCTFail("unexpected error type \(error)")
            return nil
        }
    }

    // MARK: - Our offer

    func testDefaultOfferSendsOnlyNonDefaultKeysAndAlwaysMRDSL() {
        var n = negotiator()
        XCTAssertEqual(
            n.initialKeys().encode(),
            Array(
                ("InitialR2T=No\0MaxRecvDataSegmentLength=262144\0MaxBurstLength=16776192\0"
                    + "FirstBurstLength=262144\0DefaultTime2Retain=0\0").utf8))
        XCTAssertEqual(n.pendingKeys, ["InitialR2T", "MaxBurstLength", "FirstBurstLength", "DefaultTime2Retain"])
    }

    func testRFCDefaultOfferStillDeclaresMRDSL() {
        var n = negotiator {
            $0 = OperationalOffer()
            $0.initialR2T = true
            $0.maxRecvDataSegmentLength = 8192
            $0.maxBurstLength = 262_144
            $0.firstBurstLength = 65536
            $0.defaultTime2Retain = 20
        }
        XCTAssertEqual(n.initialKeys(), ["MaxRecvDataSegmentLength": "8192"])
    }

    func testDigestPreferenceListsAndOtherKeys() {
        var n = negotiator {
            $0.headerDigest = [.crc32c, .none]
            $0.dataDigest = [.crc32c]
            $0.maxConnections = 4
            $0.immediateData = false
            $0.defaultTime2Wait = 5
            $0.maxOutstandingR2T = 8
            $0.dataPDUInOrder = false
            $0.dataSequenceInOrder = false
            $0.errorRecoveryLevel = 1
        }
        XCTAssertEqual(
            n.initialKeys(),
            [
                "HeaderDigest": "CRC32C,None", "DataDigest": "CRC32C", "MaxConnections": "4", "InitialR2T": "No",
                "ImmediateData": "No", "MaxRecvDataSegmentLength": "262144", "MaxBurstLength": "16776192",
                "FirstBurstLength": "262144", "DefaultTime2Wait": "5", "DefaultTime2Retain": "0",
                "MaxOutstandingR2T": "8", "DataPDUInOrder": "No", "DataSequenceInOrder": "No", "ErrorRecoveryLevel": "1",
            ])
    }

    func testFirstBurstLengthSkippedWhenIrrelevant() {
        var n = negotiator {
            $0.initialR2T = true
            $0.immediateData = false
        }
        let keys = n.initialKeys()
        XCTAssertNil(keys["FirstBurstLength"])
        XCTAssertEqual(keys["ImmediateData"], "No")
        // And if the target offers it, it is irrelevant.
        XCTAssertEqual(try n.receive(["FirstBurstLength": "4096"]), ["FirstBurstLength": "Irrelevant"])
    }

    func testDiscoveryOffersOnlyMRDSLAndDigests() throws {
        var n = negotiator({ $0.maxRecvDataSegmentLength = 32768 }, session: .discovery)
        XCTAssertEqual(n.initialKeys(), ["MaxRecvDataSegmentLength": "32768"])
        var withDigest = negotiator({ $0.headerDigest = [.crc32c, .none] }, session: .discovery)
        XCTAssertEqual(withDigest.initialKeys(), ["HeaderDigest": "CRC32C,None", "MaxRecvDataSegmentLength": "262144"])
        // Session-wide data-transfer keys mean nothing in a discovery session.
        XCTAssertEqual(
            try n.receive(["InitialR2T": "Yes", "MaxBurstLength": "4096", "DefaultTime2Wait": "4", "MaxRecvDataSegmentLength": "8192"]),
            ["InitialR2T": "Irrelevant", "MaxBurstLength": "Irrelevant", "DefaultTime2Wait": "4"])
        let params = try n.finish()
        XCTAssertEqual(params.maxXmitDataSegmentLength, 8192)
        XCTAssertEqual(params.maxRecvDataSegmentLength, 32768)
        XCTAssertEqual(params.maxBurstLength, 262_144)
    }

    // MARK: - Answers to our offers, per result function

    func testMinimumAnswers() throws {
        var n = negotiator()
        _ = n.initialKeys()
        XCTAssertEqual(try n.receive(["MaxBurstLength": "262144", "DefaultTime2Retain": "0"]), [:])
        XCTAssertEqual(n.parameters.maxBurstLength, 262_144)
        XCTAssertEqual(n.parameters.defaultTime2Retain, 0)

        var equal = negotiator()
        _ = equal.initialKeys()
        _ = try equal.receive(["MaxBurstLength": "16776192"])
        XCTAssertEqual(equal.parameters.maxBurstLength, 16_776_192)

        var bad = negotiator()
        _ = bad.initialKeys()
        let error = negotiationError { _ = try bad.receive(["FirstBurstLength": "262145"]) }
        XCTAssertEqual(error, .illegalAnswer(key: "FirstBurstLength", offered: "262144", answered: "262145", rule: "Minimum"))
        XCTAssertEqual(
            error?.description,
            "target answered FirstBurstLength=\"262145\" to our offer 262144, which the Minimum result function does not allow")
    }

    func testMaximumAnswers() throws {
        var n = negotiator { $0.defaultTime2Wait = 5 }
        _ = n.initialKeys()
        _ = try n.receive(["DefaultTime2Wait": "10"])
        XCTAssertEqual(n.parameters.defaultTime2Wait, 10)

        var bad = negotiator { $0.defaultTime2Wait = 5 }
        _ = bad.initialKeys()
        XCTAssertEqual(
            negotiationError { _ = try bad.receive(["DefaultTime2Wait": "3"]) },
            .illegalAnswer(key: "DefaultTime2Wait", offered: "5", answered: "3", rule: "Maximum"))
    }

    func testOrAnswers() throws {
        // We said No: either answer is legal.
        for (answer, result) in [("Yes", true), ("No", false)] {
            var n = negotiator()
            _ = n.initialKeys()
            _ = try n.receive(["InitialR2T": answer])
            XCTAssertEqual(n.parameters.initialR2T, result)
        }
        var n = negotiator { $0.dataPDUInOrder = false }
        _ = n.initialKeys()
        _ = try n.receive(["DataPDUInOrder": "Yes"])
        XCTAssertTrue(n.parameters.dataPDUInOrder)
        // Yes equals the RFC default for every OR key, so we never send it; the rule still holds.
        XCTAssertFalse(OperationalNegotiator.Rule.or.allows(answer: .boolean(false), ours: .boolean(true)))
        XCTAssertTrue(OperationalNegotiator.Rule.or.allows(answer: .boolean(true), ours: .boolean(true)))
    }

    func testAndAnswers() throws {
        var n = negotiator { $0.immediateData = false }
        _ = n.initialKeys()
        _ = try n.receive(["ImmediateData": "No"])
        XCTAssertFalse(n.parameters.immediateData)

        var bad = negotiator { $0.immediateData = false }
        _ = bad.initialKeys()
        XCTAssertEqual(
            negotiationError { _ = try bad.receive(["ImmediateData": "Yes"]) },
            .illegalAnswer(key: "ImmediateData", offered: "No", answered: "Yes", rule: "AND"))
        XCTAssertTrue(OperationalNegotiator.Rule.and.allows(answer: .boolean(false), ours: .boolean(true)))
    }

    func testListAnswers() throws {
        for (answer, digest) in [("CRC32C", DigestType.crc32c), ("None", .none)] {
            var n = negotiator { $0.headerDigest = [.crc32c, .none] }
            _ = n.initialKeys()
            _ = try n.receive(["HeaderDigest": answer])
            XCTAssertEqual(n.parameters.headerDigest, digest)
        }
        for answer in ["CRC32C,None", "MD5", "none"] {
            var n = negotiator { $0.headerDigest = [.crc32c, .none] }
            _ = n.initialKeys()
            XCTAssertEqual(
                negotiationError { _ = try n.receive(["HeaderDigest": answer]) },
                .illegalAnswer(key: "HeaderDigest", offered: "CRC32C,None", answered: answer, rule: "list"), answer)
        }
    }

    func testBooleanAnswerMustBeYesOrNo() {
        var n = negotiator()
        _ = n.initialKeys()
        XCTAssertEqual(
            negotiationError { _ = try n.receive(["InitialR2T": "maybe"]) },
            .invalidValue(key: "InitialR2T", value: "maybe", reason: "expected Yes or No"))
    }

    // MARK: - NotUnderstood, Irrelevant, Reject

    func testNotUnderstoodAndRejectKeepDefaultWhenAcceptable() throws {
        var n = negotiator { $0.headerDigest = [.crc32c, .none] }
        _ = n.initialKeys()
        _ = try n.receive([
            "HeaderDigest": "Reject", "MaxBurstLength": "NotUnderstood", "InitialR2T": "NotUnderstood",
            "FirstBurstLength": "Irrelevant", "DefaultTime2Retain": "Reject",
        ])
        XCTAssertEqual(n.parameters.headerDigest, .none)
        XCTAssertEqual(n.parameters.maxBurstLength, 262_144)
        XCTAssertTrue(n.parameters.initialR2T)
        XCTAssertEqual(n.parameters.firstBurstLength, 65536)
        XCTAssertEqual(n.parameters.defaultTime2Retain, 20)
        XCTAssertEqual(n.pendingKeys, [])
    }

    func testRejectOfAKeyWeMustHaveIsAnError() {
        var n = negotiator { $0.headerDigest = [.crc32c] }
        _ = n.initialKeys()
        let error = negotiationError { _ = try n.receive(["HeaderDigest": "Reject"]) }
        XCTAssertEqual(error, .rejected(key: "HeaderDigest", offered: "CRC32C", answer: "Reject"))
        XCTAssertEqual(
            error?.description,
            "target answered HeaderDigest=Reject to our offer CRC32C, and the RFC default is not acceptable with our settings")

        // MaxBurstLength below the default: falling back to 262144 would break our limit.
        var small = negotiator {
            $0.maxBurstLength = 4096
            $0.firstBurstLength = 4096
        }
        _ = small.initialKeys()
        XCTAssertEqual(
            negotiationError { _ = try small.receive(["MaxBurstLength": "NotUnderstood"]) },
            .rejected(key: "MaxBurstLength", offered: "4096", answer: "NotUnderstood"))
    }

    func testUnansweredOffersFallBackAtFinish() throws {
        var n = negotiator()
        _ = n.initialKeys()
        _ = try n.receive(["MaxBurstLength": "1048576"])
        let params = try n.finish()
        XCTAssertEqual(params.maxBurstLength, 1_048_576)
        XCTAssertTrue(params.initialR2T)  // unanswered: default
        XCTAssertEqual(params.firstBurstLength, 65536)
        XCTAssertEqual(params.defaultTime2Retain, 20)

        var strict = negotiator { $0.dataDigest = [.crc32c] }
        _ = strict.initialKeys()
        XCTAssertEqual(
            negotiationError { _ = try strict.finish() },
            .rejected(key: "DataDigest", offered: "CRC32C", answer: "(no answer)"))
    }

    // MARK: - Keys the target offers first

    func testTargetInitiatedKeysUseResultFunctionWithOurValue() throws {
        var n = negotiator {
            $0.headerDigest = [.crc32c, .none]
            $0.maxOutstandingR2T = 1
        }
        let reply = try n.receive([
            "MaxOutstandingR2T": "4", "DefaultTime2Wait": "10", "DefaultTime2Retain": "60", "InitialR2T": "Yes",
            "ImmediateData": "No", "HeaderDigest": "None,CRC32C", "DataDigest": "CRC32C", "MaxConnections": "8",
            "ErrorRecoveryLevel": "2", "DataSequenceInOrder": "No", "MaxBurstLength": "65536",
        ])
        XCTAssertEqual(
            reply,
            [
                "MaxOutstandingR2T": "1", "DefaultTime2Wait": "10", "DefaultTime2Retain": "0", "InitialR2T": "Yes",
                "ImmediateData": "No", "HeaderDigest": "None", "DataDigest": "Reject", "MaxConnections": "1",
                "ErrorRecoveryLevel": "0", "DataSequenceInOrder": "Yes", "MaxBurstLength": "65536",
            ])
        XCTAssertEqual(n.parameters.maxOutstandingR2T, 1)
        XCTAssertEqual(n.parameters.defaultTime2Wait, 10)
        XCTAssertTrue(n.parameters.initialR2T)
        XCTAssertFalse(n.parameters.immediateData)
        XCTAssertEqual(n.parameters.headerDigest, .none)
        XCTAssertEqual(n.parameters.dataDigest, .none)
        XCTAssertEqual(n.parameters.maxBurstLength, 65536)
        // Keys settled by the target's offer are not offered again, and with InitialR2T=Yes and
        // ImmediateData=No as results FirstBurstLength is irrelevant.
        XCTAssertEqual(n.initialKeys(), ["MaxRecvDataSegmentLength": "262144"])
        XCTAssertEqual(try n.receive(["FirstBurstLength": "4096"]), ["FirstBurstLength": "Irrelevant"])
        XCTAssertEqual(try n.finish().firstBurstLength, 65536)
    }

    func testFirstBurstMustNotExceedMaxBurst() throws {
        var n = negotiator()
        _ = n.initialKeys()
        _ = try n.receive(["MaxBurstLength": "65536", "FirstBurstLength": "262144"])
        let error = negotiationError { _ = try n.finish() }
        XCTAssertEqual(error, .firstBurstExceedsMaxBurst(firstBurstLength: 262_144, maxBurstLength: 65536))
        XCTAssertEqual(error?.description, "negotiated FirstBurstLength 262144 exceeds MaxBurstLength 65536")
    }

    func testTimersFallBackToDefaultEvenBeyondOurOffer() throws {
        var n = negotiator { $0.defaultTime2Wait = 5 }
        _ = n.initialKeys()
        _ = try n.receive(["DefaultTime2Wait": "NotUnderstood", "DefaultTime2Retain": "Reject"])
        XCTAssertEqual(n.parameters.defaultTime2Wait, 2)
        XCTAssertEqual(n.parameters.defaultTime2Retain, 20)
    }

    func testTargetListOfferWithNothingInCommon() {
        var n = negotiator { $0.dataDigest = [.crc32c] }
        let error = negotiationError { _ = try n.receive(["DataDigest": "None"]) }
        XCTAssertEqual(error, .noCommonValue(key: "DataDigest", ours: "CRC32C", theirs: "None"))
        XCTAssertEqual(error?.description, "target offered DataDigest=\"None\" but we accept only CRC32C")
    }

    func testObsoleteAndNewerKeysGetSensibleAnswers() throws {
        var n = negotiator()
        XCTAssertEqual(
            try n.receive([
                "IFMarker": "Yes", "OFMarker": "No", "OFMarkInt": "2048~8192", "IFMarkInt": "1", "TaskReporting": "FastAbort,RFC3720",
                "iSCSIProtocolLevel": "2",
            ]),
            [
                "IFMarker": "No", "OFMarker": "No", "OFMarkInt": "Irrelevant", "IFMarkInt": "Irrelevant",
                "TaskReporting": "RFC3720", "iSCSIProtocolLevel": "1",
            ])
    }

    func testUnknownAndVendorKeysAreNotUnderstood() throws {
        var n = negotiator()
        XCTAssertEqual(
            try n.receive(["X-com.example.Cache": "Yes", "X#org.example.thing": "1", "FutureKey": "7", "OtherKey": "NotUnderstood"]),
            ["X-com.example.Cache": "NotUnderstood", "X#org.example.thing": "NotUnderstood", "FutureKey": "NotUnderstood"])
    }

    func testTargetMayNotNegotiateAKeyTwice() throws {
        var n = negotiator()
        _ = n.initialKeys()
        _ = try n.receive(["MaxBurstLength": "65536"])
        XCTAssertEqual(negotiationError { _ = try n.receive(["MaxBurstLength": "4096"]) }, .renegotiated(key: "MaxBurstLength"))
        var offered = negotiator()
        _ = try offered.receive(["MaxOutstandingR2T": "2"])
        XCTAssertEqual(negotiationError { _ = try offered.receive(["MaxOutstandingR2T": "2"]) }, .renegotiated(key: "MaxOutstandingR2T"))
    }

    func testOutOfRangeNumbersNameTheKey() {
        let cases: [(String, String, String)] = [
            ("MaxConnections", "0", "out of range 1...65535"),
            ("ErrorRecoveryLevel", "3", "out of range 0...2"),
            ("MaxBurstLength", "511", "out of range 512...16777215"),
            ("DefaultTime2Wait", "3601", "out of range 0...3600"),
            ("MaxOutstandingR2T", "abc", "expected a decimal, 0x hex or 0b base64 number"),
            ("MaxRecvDataSegmentLength", "16777216", "out of range 512...16777215"),
            ("TargetPortalGroupTag", "65536", "out of range 0...65535"),
        ]
        for (key, value, reason) in cases {
            var n = negotiator()
            let error = negotiationError { _ = try n.receive(TextParameters([TextKeyValue(key: key, value: value)])) }
            XCTAssertEqual(error, .invalidValue(key: key, value: value, reason: reason), key)
            XCTAssertEqual(error?.description, "target sent invalid \(key)=\"\(value)\": \(reason)")
        }
        var n = negotiator()
        XCTAssertEqual(
            negotiationError { _ = try n.receive(["InitialR2T": "Reject"]) },
            .invalidValue(key: "InitialR2T", value: "Reject", reason: "not a valid offer"))
    }

    // MARK: - Declaratives

    func testDeclaratives() throws {
        var n = negotiator()
        XCTAssertEqual(
            try n.receive([
                "MaxRecvDataSegmentLength": "65536", "TargetAlias": "lun-store", "TargetPortalGroupTag": "0x2",
                "TargetAddress": "10.0.0.2:3260,2", "TargetName": "iqn.echo", "InitiatorName": "iqn.echo",
            ]),
            [:])
        XCTAssertEqual(n.parameters.maxXmitDataSegmentLength, 65536)
        XCTAssertEqual(n.parameters.maxRecvDataSegmentLength, 262_144)
        XCTAssertEqual(n.parameters.targetAlias, "lun-store")
        XCTAssertEqual(n.parameters.targetPortalGroupTag, 2)
        XCTAssertEqual(n.targetAddresses, ["10.0.0.2:3260,2"])

        var capped = negotiator { $0.maxXmitDataSegmentLength = 16384 }
        XCTAssertEqual(capped.parameters.maxXmitDataSegmentLength, 8192)
        _ = try capped.receive(["MaxRecvDataSegmentLength": "262144"])
        XCTAssertEqual(capped.parameters.maxXmitDataSegmentLength, 16384)
    }

    // MARK: - A whole negotiation

    func testTypicalLinuxTargetNegotiation() throws {
        var n = negotiator { $0.headerDigest = [.crc32c, .none] }
        _ = n.initialKeys()
        let reply = try n.receive([
            "HeaderDigest": "CRC32C", "InitialR2T": "No", "MaxRecvDataSegmentLength": "8192",
            "MaxBurstLength": "262144", "FirstBurstLength": "65536", "DefaultTime2Retain": "0",
            "DefaultTime2Wait": "2", "MaxOutstandingR2T": "1", "ErrorRecoveryLevel": "0", "TargetPortalGroupTag": "1",
        ])
        XCTAssertEqual(reply, ["DefaultTime2Wait": "2", "MaxOutstandingR2T": "1", "ErrorRecoveryLevel": "0"])
        var expected = OperationalParameters()
        expected.headerDigest = .crc32c
        expected.initialR2T = false
        expected.maxRecvDataSegmentLength = 262_144
        expected.maxXmitDataSegmentLength = 8192
        expected.maxBurstLength = 262_144
        expected.firstBurstLength = 65536
        expected.defaultTime2Retain = 0
        expected.targetPortalGroupTag = 1
        XCTAssertEqual(try n.finish(), expected)
    }

    // MARK: - Offer validation

    func testOfferValidation() {
        XCTAssertNoThrow(try OperationalOffer().validate())
        let cases: [(WritableKeyPath<OperationalOffer, Int>, Int, String)] = [
            (\.maxRecvDataSegmentLength, 100, "MaxRecvDataSegmentLength"),
            (\.maxBurstLength, 1 << 24, "MaxBurstLength"),
            (\.errorRecoveryLevel, 3, "ErrorRecoveryLevel"),
            (\.maxConnections, 0, "MaxConnections"),
            (\.defaultTime2Wait, 4000, "DefaultTime2Wait"),
        ]
        for (path, value, key) in cases {
            var offer = OperationalOffer()
            offer[keyPath: path] = value
            XCTAssertThrowsError(try offer.validate(), key) {
                guard case .invalidOffer(let name, _, _) = $0 as? NegotiationError else { return XCTFail("\($0)") }
                XCTAssertEqual(name, key)
            }
        }
        var burst = OperationalOffer()
        burst.firstBurstLength = 65536
        burst.maxBurstLength = 8192
        XCTAssertThrowsError(try burst.validate()) {
            XCTAssertEqual(
                $0 as? NegotiationError,
                .invalidOffer(key: "FirstBurstLength", value: "65536", reason: "must not exceed MaxBurstLength 8192"))
        }
        var digests = OperationalOffer()
        digests.dataDigest = [.none, .none]
        XCTAssertThrowsError(try digests.validate())
        digests.dataDigest = []
        XCTAssertThrowsError(try digests.validate())
    }
}
