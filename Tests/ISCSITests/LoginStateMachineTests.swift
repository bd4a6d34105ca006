import XCTest

@testable import ISCSI

final class LoginStateMachineTests: XCTestCase {
    private let initiatorName = "iqn.2016-04.com.open-iscsi:0123456789ab"
    private let targetName = "iqn.2003-01.org.linux-iscsi.store:disk1"
    private let user = CHAPCredentials(username: "initiator-user", secret: "initiatorsecret")
    private let targetUser = CHAPCredentials(username: "target-user", secret: "targetsecret99")
    private let targetChallenge = "0x0102030405060708090a0b0c0d0e0f10"
    /// sha256(0x01 ‖ "initiatorsecret" ‖ 01..10), from Python hashlib.
    private let ourSHA256Response = "0x2f5d422497526d38e8ea6c2fff19e6d9b1afd1fe4121769740b6c3cd5bdf518e"
    /// sha256(0x42 ‖ "targetsecret99" ‖ 0x42 × 32), from Python hashlib.
    private let targetSHA256Response = "0xf009528c29db0763ed6e50555f64166837c6be2256c15055e41563c7048379dd"

    // MARK: - Helpers

    private func configuration(
        auth: LoginAuthentication = .none, target: String? = "default", sessionType: SessionType? = nil
    ) -> LoginConfiguration {
        LoginConfiguration(
            initiatorName: initiatorName, targetName: target == "default" ? targetName : target,
            sessionType: sessionType, authentication: auth)
    }

    private var mutualAuth: LoginAuthentication { .chap(user, mutual: targetUser, algorithms: [.sha256, .md5]) }

    private func machine(_ configuration: LoginConfiguration, random: UInt8 = 0x42) throws -> LoginStateMachine {
        try LoginStateMachine(configuration: configuration, randomSource: RandomSource { Array(repeating: random, count: $0) })
    }

    private func response(
        _ keys: TextParameters = [:], transit: Bool, _ stage: LoginStage, _ next: LoginStage,
        status: LoginStatus = .success, tsih: UInt16 = 0, continued: Bool = false
    ) -> LoginResponseFields {
        LoginResponseFields(
            transit: transit, continueFlag: continued, currentStage: stage, nextStage: next, status: status, tsih: tsih,
            data: keys.encode())
    }

    private func request(_ action: LoginAction, file: StaticString = #filePath, line: UInt = #line) -> LoginRequestFields? {
        guard case .send(let fields) = action else {
            XCTFail("expected a request, got \(action)", file: file, line: line)
            return nil
        }
        return fields
    }

    private func loginError(_ body: () throws -> Void) -> LoginError? {
        do {
            try body()
            return nil
        } catch let error as LoginError {
            return error
        } catch {
            XCTFail("unexpected error type \(error)")
            return nil
        }
    }

    /// The operational keys the default offer sends, and an answer a Linux target would give.
    private let defaultOperationalKeys: TextParameters = [
        "InitialR2T": "No", "MaxRecvDataSegmentLength": "262144", "MaxBurstLength": "16776192",
        "FirstBurstLength": "262144", "DefaultTime2Retain": "0",
    ]
    private let targetAnswer: TextParameters = [
        "InitialR2T": "No", "MaxRecvDataSegmentLength": "65536", "MaxBurstLength": "262144",
        "FirstBurstLength": "65536", "DefaultTime2Retain": "0",
    ]
    private var expectedParameters: OperationalParameters {
        var p = OperationalParameters()
        p.initialR2T = false
        p.maxRecvDataSegmentLength = 262_144
        p.maxXmitDataSegmentLength = 65536
        p.maxBurstLength = 262_144
        p.firstBurstLength = 65536
        p.defaultTime2Retain = 0
        p.targetPortalGroupTag = 1
        return p
    }

    /// Runs the operational stage to completion from its first request.
    private func finishOperational(_ m: inout LoginStateMachine, _ opRequest: LoginRequestFields?) throws {
        XCTAssertEqual(opRequest?.transit, true)
        XCTAssertEqual(opRequest?.continueFlag, false)
        XCTAssertEqual(opRequest?.currentStage, .operational)
        XCTAssertEqual(opRequest?.nextStage, .fullFeature)
        XCTAssertEqual(opRequest?.keys, defaultOperationalKeys)
        let done = try m.receive(response(targetAnswer, transit: true, .operational, .fullFeature, tsih: 0x1234))
        XCTAssertEqual(done, .complete(expectedParameters, tsih: 0x1234))
    }

    // MARK: - Conversations

    func testNoAuthentication() throws {
        var m = try machine(configuration())
        let first = m.start()
        XCTAssertEqual(
            first,
            LoginRequestFields(
                transit: true, continueFlag: false, currentStage: .security, nextStage: .operational,
                data: Array(
                    ("InitiatorName=\(initiatorName)\0SessionType=Normal\0TargetName=\(targetName)\0AuthMethod=None\0").utf8)))
        let op = request(try m.receive(response(["AuthMethod": "None", "TargetPortalGroupTag": "1"], transit: true, .security, .operational)))
        try finishOperational(&m, op)
        XCTAssertEqual(loginError { _ = try m.receive(response(transit: true, .operational, .fullFeature)) }, .alreadyFinished)
    }

    func testInitiatorAliasIsSent() throws {
        var config = configuration()
        config.initiatorAlias = "host-a"
        var m = try machine(config)
        XCTAssertEqual(
            m.start().keys?.map(\.key), ["InitiatorName", "InitiatorAlias", "SessionType", "TargetName", "AuthMethod"])
    }

    func testTargetAnswersSecurityWithT0ThenT1() throws {
        var m = try machine(configuration())
        _ = m.start()
        let again = request(try m.receive(response(["AuthMethod": "None", "TargetPortalGroupTag": "1"], transit: false, .security, .security)))
        XCTAssertEqual(
            again, LoginRequestFields(transit: true, continueFlag: false, currentStage: .security, nextStage: .operational, data: []))
        let op = request(try m.receive(response(transit: true, .security, .operational)))
        try finishOperational(&m, op)
    }

    func testOneWayCHAP() throws {
        var m = try machine(configuration(auth: .chap(user, mutual: nil, algorithms: [.md5])))
        XCTAssertEqual(m.start().keys?["AuthMethod"], "CHAP,None")
        let algorithms = request(try m.receive(response(["AuthMethod": "CHAP", "TargetPortalGroupTag": "1"], transit: false, .security, .security)))
        XCTAssertEqual(
            algorithms,
            LoginRequestFields(
                transit: false, continueFlag: false, currentStage: .security, nextStage: .security,
                data: Array("CHAP_A=5\0".utf8)))
        let answer = request(
            try m.receive(response(["CHAP_A": "5", "CHAP_I": "1", "CHAP_C": targetChallenge], transit: false, .security, .security)))
        XCTAssertEqual(answer?.transit, true)
        XCTAssertEqual(answer?.nextStage, .operational)
        // md5(0x01 ‖ "initiatorsecret" ‖ 01..10), from Python hashlib.
        XCTAssertEqual(answer?.keys, ["CHAP_N": "initiator-user", "CHAP_R": "0x1496d8a9e402d298727f489ae4cbb721"])
        let op = request(try m.receive(response(transit: true, .security, .operational)))
        try finishOperational(&m, op)
    }

    func testOneWayCHAPTargetMayChooseNone() throws {
        var m = try machine(configuration(auth: .chap(user, mutual: nil, algorithms: [.md5])))
        _ = m.start()
        let op = request(try m.receive(response(["AuthMethod": "None", "TargetPortalGroupTag": "1"], transit: true, .security, .operational)))
        try finishOperational(&m, op)
    }

    func testMutualCHAP() throws {
        var m = try machine(configuration(auth: mutualAuth))
        XCTAssertEqual(m.start().keys?["AuthMethod"], "CHAP")
        let algorithms = request(try m.receive(response(["AuthMethod": "CHAP", "TargetPortalGroupTag": "1"], transit: false, .security, .security)))
        XCTAssertEqual(algorithms?.keys, ["CHAP_A": "7,5"])
        let answer = request(
            try m.receive(response(["CHAP_A": "7", "CHAP_I": "1", "CHAP_C": targetChallenge], transit: false, .security, .security)))
        XCTAssertEqual(
            answer?.keys,
            [
                "CHAP_N": "initiator-user", "CHAP_R": ourSHA256Response, "CHAP_I": "66",
                "CHAP_C": "0x" + String(repeating: "42", count: 32),
            ])
        let op = request(
            try m.receive(
                response(["CHAP_N": "target-user", "CHAP_R": targetSHA256Response], transit: true, .security, .operational)))
        try finishOperational(&m, op)
    }

    func testMutualCHAPTargetProvesItselfAfterAnotherRound() throws {
        var m = try machine(configuration(auth: mutualAuth))
        _ = m.start()
        _ = try m.receive(response(["AuthMethod": "CHAP", "TargetPortalGroupTag": "1"], transit: false, .security, .security))
        _ = try m.receive(response(["CHAP_A": "7", "CHAP_I": "1", "CHAP_C": targetChallenge], transit: false, .security, .security))
        let again = request(try m.receive(response(transit: false, .security, .security)))
        XCTAssertEqual(again?.transit, true)
        XCTAssertEqual(again?.data, [])
        let op = request(
            try m.receive(
                response(["CHAP_N": "target-user", "CHAP_R": targetSHA256Response], transit: true, .security, .operational)))
        try finishOperational(&m, op)
    }

    func testMutualCHAPWrongTargetResponse() throws {
        var m = try machine(configuration(auth: mutualAuth))
        _ = m.start()
        _ = try m.receive(response(["AuthMethod": "CHAP"], transit: false, .security, .security))
        _ = try m.receive(response(["CHAP_A": "7", "CHAP_I": "1", "CHAP_C": targetChallenge], transit: false, .security, .security))
        let wrong = "0x" + String(repeating: "00", count: 32)
        let error = loginError {
            _ = try m.receive(response(["CHAP_N": "target-user", "CHAP_R": wrong], transit: true, .security, .operational))
        }
        XCTAssertEqual(error, .chap(.targetResponseMismatch))
        XCTAssertEqual(
            error?.description,
            "authentication failed: mutual CHAP: the target's response does not match the configured incoming secret")
        XCTAssertEqual(loginError { _ = try m.receive(response(transit: true, .security, .operational)) }, .alreadyFinished)
    }

    func testMutualCHAPTargetSkipsAuthentication() throws {
        var m = try machine(configuration(auth: mutualAuth))
        _ = m.start()
        _ = try m.receive(response(["AuthMethod": "CHAP"], transit: false, .security, .security))
        _ = try m.receive(response(["CHAP_A": "7", "CHAP_I": "1", "CHAP_C": targetChallenge], transit: false, .security, .security))
        XCTAssertEqual(
            loginError { _ = try m.receive(response(transit: true, .security, .operational)) },
            .chap(.targetDidNotAuthenticate))
    }

    func testWrongSecretIsRefusedByTarget() throws {
        var m = try machine(configuration(auth: .chap(user, mutual: nil, algorithms: [.md5])))
        _ = m.start()
        _ = try m.receive(response(["AuthMethod": "CHAP"], transit: false, .security, .security))
        _ = try m.receive(response(["CHAP_A": "5", "CHAP_I": "1", "CHAP_C": targetChallenge], transit: false, .security, .security))
        let error = loginError {
            _ = try m.receive(response(transit: false, .security, .security, status: .authenticationFailure))
        }
        XCTAssertEqual(
            error,
            .refused(.authenticationFailure, hint: "the target refused our CHAP credentials; check node.session.auth.username/password"))
        XCTAssertEqual(
            error?.description,
            "login refused by target: authentication failure (2/01) — the target refused our CHAP credentials; "
                + "check node.session.auth.username/password")
        XCTAssertFalse(error?.description.contains("initiatorsecret") ?? true)
    }

    func testTargetRequiresAuthenticationWeDoNotHave() throws {
        var m = try machine(configuration())
        _ = m.start()
        let error = loginError { _ = try m.receive(response(transit: false, .security, .security, status: .authenticationFailure)) }
        XCTAssertEqual(
            error?.description,
            "login refused by target: authentication failure (2/01) — the target requires authentication; "
                + "set node.session.auth.authmethod=CHAP with username/password")

        var chosen = try machine(configuration())
        _ = chosen.start()
        XCTAssertEqual(
            loginError { _ = try chosen.receive(response(["AuthMethod": "CHAP"], transit: false, .security, .security)) },
            .authMethodNotOffered(chosen: "CHAP", offered: ["None"]))

        var rejected = try machine(configuration())
        _ = rejected.start()
        let rejection = loginError { _ = try rejected.receive(response(["AuthMethod": "Reject"], transit: false, .security, .security)) }
        XCTAssertEqual(rejection, .authMethodRejected(offered: ["None"]))
        XCTAssertEqual(
            rejection?.description,
            "target rejected AuthMethod=None — the target requires authentication; configure CHAP credentials")

        var list = try machine(configuration(auth: .chap(user, mutual: nil, algorithms: [.md5])))
        _ = list.start()
        XCTAssertEqual(
            loginError { _ = try list.receive(response(["AuthMethod": "CHAP,None"], transit: false, .security, .security)) },
            .authMethodNotOffered(chosen: "CHAP,None", offered: ["CHAP", "None"]))
    }

    func testMutualCHAPNeverAcceptsNone() throws {
        var m = try machine(configuration(auth: mutualAuth))
        _ = m.start()
        XCTAssertEqual(
            loginError { _ = try m.receive(response(["AuthMethod": "None"], transit: true, .security, .operational)) },
            .authMethodNotOffered(chosen: "None", offered: ["CHAP"]))
    }

    func testDiscoverySession() throws {
        var config = configuration(target: nil)
        config.offer.maxRecvDataSegmentLength = 32768
        XCTAssertEqual(config.sessionType, .discovery)
        var m = try machine(config)
        XCTAssertEqual(m.start().keys, ["InitiatorName": initiatorName, "SessionType": "Discovery", "AuthMethod": "None"])
        let op = request(try m.receive(response(["AuthMethod": "None"], transit: true, .security, .operational)))
        XCTAssertEqual(op?.keys, ["MaxRecvDataSegmentLength": "32768"])
        let done = try m.receive(
            response(["MaxRecvDataSegmentLength": "16384", "InitialR2T": "Yes"], transit: true, .operational, .fullFeature, tsih: 7))
        var expected = OperationalParameters()
        expected.maxRecvDataSegmentLength = 32768
        expected.maxXmitDataSegmentLength = 16384
        XCTAssertEqual(done, .complete(expected, tsih: 7))
    }

    func testDiscoveryCHAPHintNamesDiscoverySettings() throws {
        var m = try machine(configuration(auth: .chap(user, mutual: nil, algorithms: [.md5]), target: nil))
        _ = m.start()
        let error = loginError { _ = try m.receive(response(transit: false, .security, .security, status: .authenticationFailure)) }
        XCTAssertEqual(
            error,
            .refused(
                .authenticationFailure,
                hint: "the target refused our CHAP credentials; check discovery.sendtargets.auth.username/password"))
    }

    // MARK: - Transit handling

    func testOperationalT0ThenT1() throws {
        var m = try machine(configuration())
        _ = m.start()
        _ = try m.receive(response(["AuthMethod": "None", "TargetPortalGroupTag": "1"], transit: true, .security, .operational))
        var answers = targetAnswer
        answers.append("MaxOutstandingR2T", "8")
        answers.append("X-com.example.Turbo", "Yes")
        let reply = request(try m.receive(response(answers, transit: false, .operational, .operational)))
        XCTAssertEqual(
            reply,
            LoginRequestFields(
                transit: true, continueFlag: false, currentStage: .operational, nextStage: .fullFeature,
                data: Array("MaxOutstandingR2T=1\0X-com.example.Turbo=NotUnderstood\0".utf8)))
        let done = try m.receive(response(transit: true, .operational, .fullFeature, tsih: 9))
        XCTAssertEqual(done, .complete(expectedParameters, tsih: 9))
    }

    func testTooManyRoundTrips() throws {
        var m = try machine(configuration())
        _ = m.start()
        _ = try m.receive(response(["AuthMethod": "None"], transit: true, .security, .operational))
        var exchanges = 1
        var final: LoginError?
        while final == nil && exchanges < 100 {
            exchanges += 1
            final = loginError { _ = try m.receive(response(transit: false, .operational, .operational)) }
        }
        XCTAssertEqual(final, .tooManyRoundTrips(16))
        XCTAssertEqual(exchanges, 17)
    }

    // MARK: - Continuation

    func testResponseContinuationIsReassembled() throws {
        var m = try machine(configuration())
        _ = m.start()
        // The first response split in the middle of a key.
        let security: TextParameters = ["AuthMethod": "None", "TargetAlias": "alias", "TargetPortalGroupTag": "1"]
        let bytes = security.encode()
        var part = response(transit: false, .security, .security, continued: true)
        part.data = Array(bytes.prefix(13))
        let fetch = request(try m.receive(part))
        XCTAssertEqual(
            fetch, LoginRequestFields(transit: false, continueFlag: false, currentStage: .security, nextStage: .security, data: []))
        var rest = response(transit: true, .security, .operational)
        rest.data = Array(bytes.dropFirst(13))
        // We asked to transit in our last real request, so the target may transit now.
        let op = request(try m.receive(rest))
        XCTAssertEqual(op?.currentStage, .operational)

        let final = targetAnswer.encode()
        var first = response(transit: false, .operational, .operational, continued: true)
        first.data = Array(final.prefix(30))
        XCTAssertEqual(
            request(try m.receive(first)),
            LoginRequestFields(transit: false, continueFlag: false, currentStage: .operational, nextStage: .security, data: []))
        var second = response(transit: true, .operational, .fullFeature, tsih: 3)
        second.data = Array(final.dropFirst(30))
        var expected = expectedParameters
        expected.targetAlias = "alias"
        XCTAssertEqual(try m.receive(second), .complete(expected, tsih: 3))
    }

    func testLongRequestIsSplitWithContinueBit() throws {
        var config = configuration()
        config.initiatorAlias = String(repeating: "a", count: 220)
        config.targetName = "iqn.2003-01.org.example:" + String(repeating: "t", count: 199)
        config.maxLoginDataSegmentLength = 512
        var m = try machine(config)
        let first = m.start()
        XCTAssertEqual(first.continueFlag, true)
        XCTAssertEqual(first.transit, false)
        XCTAssertEqual(first.currentStage, .security)
        XCTAssertEqual(first.data.count, 512)
        XCTAssertNil(first.keys)
        let second = request(try m.receive(response(transit: false, .security, .security)))
        XCTAssertEqual(second?.continueFlag, false)
        XCTAssertEqual(second?.transit, true)
        XCTAssertEqual(second?.nextStage, .operational)
        let whole = try TextParameters.parse(first.data + (second?.data ?? []))
        XCTAssertEqual(whole["InitiatorAlias"], config.initiatorAlias)
        XCTAssertEqual(whole["TargetName"], config.targetName)
        XCTAssertEqual(whole["AuthMethod"], "None")
        let op = request(try m.receive(response(["AuthMethod": "None", "TargetPortalGroupTag": "1"], transit: true, .security, .operational)))
        try finishOperational(&m, op)
    }

    func testTargetMustAcknowledgeRequestPartsEmpty() throws {
        var config = configuration()
        config.initiatorAlias = String(repeating: "a", count: 220)
        config.targetName = "iqn.2003-01.org.example:" + String(repeating: "t", count: 199)
        config.maxLoginDataSegmentLength = 512
        var m = try machine(config)
        _ = m.start()
        XCTAssertEqual(
            loginError { _ = try m.receive(response(["AuthMethod": "None"], transit: false, .security, .security)) },
            .unexpectedResponseDuringContinuation)
    }

    // MARK: - Redirects

    func testRedirects() throws {
        var temporary = try machine(configuration())
        _ = temporary.start()
        XCTAssertEqual(
            try temporary.receive(
                response(["TargetAddress": "10.1.1.1:3260,2"], transit: false, .security, .security, status: .targetMovedTemporarily)),
            .redirect(targetAddress: "10.1.1.1:3260,2", permanent: false))
        XCTAssertEqual(loginError { _ = try temporary.receive(response(transit: false, .security, .security)) }, .alreadyFinished)

        var permanent = try machine(configuration())
        _ = permanent.start()
        XCTAssertEqual(
            try permanent.receive(
                response(["TargetAddress": "[fd00::5]:3260,1"], transit: false, .security, .security, status: .targetMovedPermanently)),
            .redirect(targetAddress: "[fd00::5]:3260,1", permanent: true))
    }

    func testBadRedirects() throws {
        let cases: [(TextParameters, LoginStatus, String)] = [
            ([:], .targetMovedTemporarily, "it carries no TargetAddress"),
            (
                ["TargetAddress": "fd00::5:3260"], .targetMovedTemporarily,
                "its invalid value \"fd00::5:3260\" for TargetAddress: IPv6 address must be written in brackets"
            ),
            (["TargetAddress": "h:1"], LoginStatus(statusClass: 1, statusDetail: 3), "the status detail is not a defined redirection"),
        ]
        for (keys, status, reason) in cases {
            var m = try machine(configuration())
            _ = m.start()
            let error = loginError { _ = try m.receive(response(keys, transit: false, .security, .security, status: status)) }
            XCTAssertEqual(error, .invalidRedirect(status, reason: reason))
        }
    }

    // MARK: - Status codes

    func testStatusNames() {
        let table: [(UInt16, String)] = [
            (0x0000, "success"), (0x0101, "target moved temporarily"), (0x0102, "target moved permanently"),
            (0x0200, "initiator error"), (0x0201, "authentication failure"), (0x0202, "authorization failure"),
            (0x0203, "not found"), (0x0204, "target removed"), (0x0205, "unsupported version"),
            (0x0206, "too many connections"), (0x0207, "missing parameter"), (0x0208, "can't include in session"),
            (0x0209, "session type not supported"), (0x020A, "session does not exist"), (0x020B, "invalid during login"),
            (0x0300, "target error"), (0x0301, "service unavailable"), (0x0302, "out of resources"),
            (0x02FF, "unknown initiator error"), (0x0303, "unknown target error"),
        ]
        for (code, name) in table {
            let status = LoginStatus(statusClass: UInt8(code >> 8), statusDetail: UInt8(code & 0xFF))
            XCTAssertEqual(status.code, code)
            XCTAssertEqual(status.name, name)
        }
        XCTAssertEqual(LoginStatus.invalidDuringLogin.description, "invalid during login (2/0b)")
        XCTAssertEqual(LoginStatus.notFound.description, "not found (2/03)")
    }

    func testRefusalsCarryHints() throws {
        let cases: [(LoginStatus, String)] = [
            (.authorizationFailure, "login refused by target: authorization failure (2/02) — the target's access list does not admit initiator \(initiatorName)"),
            (.notFound, "login refused by target: not found (2/03) — no target named \(targetName) at this portal"),
            (.serviceUnavailable, "login failed on the target: service unavailable (3/01) — the target is temporarily unable to accept logins; retry later"),
            (.outOfResources, "login failed on the target: out of resources (3/02) — the target is out of resources; retry later"),
            (LoginStatus(statusClass: 2, statusDetail: 0x44), "login refused by target: unknown initiator error (2/44)"),
        ]
        for (status, description) in cases {
            var m = try machine(configuration())
            _ = m.start()
            let error = loginError { _ = try m.receive(response(transit: false, .security, .security, status: status)) }
            XCTAssertEqual(error?.description, description)
        }
        var m = try machine(configuration())
        _ = m.start()
        XCTAssertEqual(
            loginError { _ = try m.receive(response(transit: false, .security, .security, status: LoginStatus(statusClass: 9, statusDetail: 1))) },
            .unknownStatusClass(LoginStatus(statusClass: 9, statusDetail: 1)))
    }

    // MARK: - Protocol violations

    private func securityViolation(
        _ response: LoginResponseFields, auth: LoginAuthentication = .none, steps: [LoginResponseFields] = []
    ) throws -> LoginError? {
        var m = try machine(configuration(auth: auth))
        _ = m.start()
        for step in steps { _ = try m.receive(step) }
        return loginError { _ = try m.receive(response) }
    }

    func testProtocolViolations() throws {
        let chap = LoginAuthentication.chap(user, mutual: nil, algorithms: [.md5])
        let chapChosen = response(["AuthMethod": "CHAP"], transit: false, .security, .security)
        XCTAssertEqual(
            try securityViolation(response(transit: true, .security, .operational)),
            .missingKey("AuthMethod", stage: .security))
        XCTAssertEqual(
            try securityViolation(response(["AuthMethod": "None"], transit: true, .operational, .fullFeature)),
            .unexpectedStage(expected: .security, got: 1))
        XCTAssertEqual(
            try securityViolation(response(["AuthMethod": "None"], transit: true, .security, .fullFeature)),
            .invalidNextStage(current: .security, requested: .operational, got: 3))
        XCTAssertEqual(
            try securityViolation(response(["AuthMethod": "None"], transit: true, .security, .security, continued: true)),
            .continueWithTransit)
        XCTAssertEqual(
            try securityViolation(response(["AuthMethod": "CHAP"], transit: true, .security, .operational), auth: chap),
            .transitBeforeAuthentication)
        XCTAssertEqual(
            try securityViolation(response(transit: true, .security, .operational), auth: chap, steps: [chapChosen]),
            .transitWithoutRequest(stage: .security))
        XCTAssertEqual(
            try securityViolation(response(["CHAP_A": "5", "CHAP_I": "1"], transit: false, .security, .security), auth: chap, steps: [chapChosen]),
            .missingKey("CHAP_C", stage: .security))
        XCTAssertEqual(
            try securityViolation(
                response(["CHAP_A": "6", "CHAP_I": "1", "CHAP_C": "0x01"], transit: false, .security, .security), auth: chap,
                steps: [chapChosen]),
            .chap(.targetRequestedUnofferedAlgorithm(6)))
        XCTAssertEqual(
            try securityViolation(response(["AuthMethod": "None", "CHAP_A": "5"], transit: true, .security, .operational)),
            .unexpectedKey("CHAP_A", stage: .security))
        XCTAssertEqual(
            try securityViolation(
                response(["CHAP_N": "x", "CHAP_R": "0x00"], transit: true, .security, .operational), auth: chap,
                steps: [chapChosen, response(["CHAP_A": "5", "CHAP_I": "1", "CHAP_C": "0x01"], transit: false, .security, .security)]),
            .unexpectedKey("CHAP_N", stage: .security))
        var bad = response(transit: false, .security, .security)
        bad.data = Array("AuthMethod=None".utf8)
        XCTAssertEqual(try securityViolation(bad), .malformedText(.missingTerminator(key: "AuthMethod")))
    }

    func testOperationalViolations() throws {
        func operational() throws -> LoginStateMachine {
            var m = try machine(configuration())
            _ = m.start()
            _ = try m.receive(response(["AuthMethod": "None"], transit: true, .security, .operational))
            return m
        }
        var backwards = try operational()
        XCTAssertEqual(
            loginError { _ = try backwards.receive(response(transit: true, .security, .operational)) },
            .stageWentBackwards(from: .operational, to: 0))
        var nsg = try operational()
        let error = loginError { _ = try nsg.receive(LoginResponseFields(transit: true, continueFlag: false, currentStage: 1, nextStage: 2)) }
        XCTAssertEqual(error, .invalidNextStage(current: .operational, requested: .fullFeature, got: 2))
        XCTAssertEqual(error?.description, "target's next stage 2 is invalid from the operational stage (we asked for full feature)")
        var chapKey = try operational()
        XCTAssertEqual(
            loginError { _ = try chapKey.receive(response(["CHAP_A": "5"], transit: false, .operational, .operational)) },
            .unexpectedKey("CHAP_A", stage: .operational))
        var tsih = try operational()
        XCTAssertEqual(
            loginError { _ = try tsih.receive(response(targetAnswer, transit: true, .operational, .fullFeature, tsih: 0)) },
            .missingTSIH)
        var illegal = try operational()
        XCTAssertEqual(
            loginError { _ = try illegal.receive(response(["MaxBurstLength": "16776193"], transit: true, .operational, .fullFeature, tsih: 1)) },
            .negotiation(.illegalAnswer(key: "MaxBurstLength", offered: "16776192", answered: "16776193", rule: "Minimum")))
        var notStarted = try machine(configuration())
        XCTAssertEqual(loginError { _ = try notStarted.receive(response(transit: false, .security, .security)) }, .notStarted)
    }

    func testStartRestartsTheLogin() throws {
        var m = try machine(configuration())
        let first = m.start()
        _ = try m.receive(response(["AuthMethod": "None"], transit: true, .security, .operational))
        XCTAssertEqual(m.start(), first)
        let op = request(try m.receive(response(["AuthMethod": "None", "TargetPortalGroupTag": "1"], transit: true, .security, .operational)))
        try finishOperational(&m, op)
    }

    // MARK: - Configuration

    func testInvalidConfigurations() {
        func error(_ config: LoginConfiguration) -> LoginError? {
            loginError { _ = try LoginStateMachine(configuration: config) }
        }
        XCTAssertEqual(
            error(LoginConfiguration(initiatorName: initiatorName, targetName: nil, sessionType: .normal)),
            .invalidConfiguration("a normal session needs a TargetName"))
        XCTAssertEqual(
            error(LoginConfiguration(initiatorName: initiatorName, targetName: targetName, sessionType: .discovery)),
            .invalidConfiguration("a discovery session must not name a target"))
        XCTAssertEqual(error(LoginConfiguration(initiatorName: "", targetName: targetName)), .invalidConfiguration("InitiatorName is empty"))
        XCTAssertEqual(
            error(LoginConfiguration(initiatorName: "iqn.a\0b", targetName: targetName)),
            .invalidConfiguration("InitiatorName contains a NUL character"))
        let same = CHAPCredentials(username: "t", secret: "initiatorsecret")
        let sameError = error(configuration(auth: .chap(user, mutual: same, algorithms: [.md5])))
        XCTAssertEqual(sameError, .chap(.sameSecretBothWays))
        XCTAssertFalse(sameError?.description.contains("initiatorsecret") ?? true)
        XCTAssertEqual(error(configuration(auth: .chap(user, mutual: nil, algorithms: []))), .chap(.noAlgorithmsConfigured))
        var offer = configuration()
        offer.offer.errorRecoveryLevel = 5
        XCTAssertEqual(error(offer), .negotiation(.invalidOffer(key: "ErrorRecoveryLevel", value: "5", reason: "out of range 0...2")))
    }

    // MARK: - Robustness

    /// A valid mutual-CHAP conversation with random corruption: the machine must only ever
    /// return actions or throw LoginError, never trap, and never put a secret in a message.
    func testSeededMutationsOfAConversation() throws {
        let script: [LoginResponseFields] = [
            response(["AuthMethod": "CHAP", "TargetPortalGroupTag": "1"], transit: false, .security, .security),
            response(["CHAP_A": "7", "CHAP_I": "1", "CHAP_C": targetChallenge], transit: false, .security, .security),
            response(["CHAP_N": "target-user", "CHAP_R": targetSHA256Response], transit: true, .security, .operational),
            response(targetAnswer, transit: false, .operational, .operational),
            response(["MaxOutstandingR2T": "4"], transit: true, .operational, .fullFeature, tsih: 5),
        ]
        var rng = ProtoTestRNG(seed: 0x10C1_2024)
        var completed = 0
        var failed = 0
        for _ in 0..<3000 {
            var m = try machine(configuration(auth: mutualAuth))
            _ = m.start()
            stepLoop: for var step in script {
                if Int.random(in: 0..<4, using: &rng) == 0 { mutate(&step, using: &rng) }
                do {
                    switch try m.receive(step) {
                    case .send: continue
                    case .complete, .redirect:
                        completed += 1
                        break stepLoop
                    }
                } catch {
                    XCTAssertFalse(error.description.isEmpty)
                    XCTAssertFalse(error.description.contains("initiatorsecret"))
                    XCTAssertFalse(error.description.contains("targetsecret99"))
                    failed += 1
                    break stepLoop
                }
            }
        }
        XCTAssertGreaterThan(completed, 0)
        XCTAssertGreaterThan(failed, 0)
    }

    private func mutate(_ step: inout LoginResponseFields, using rng: inout ProtoTestRNG) {
        switch Int.random(in: 0..<8, using: &rng) {
        case 0: step.transit.toggle()
        case 1: step.continueFlag.toggle()
        case 2: step.currentStage = UInt8.random(in: 0...4, using: &rng)
        case 3: step.nextStage = UInt8.random(in: 0...4, using: &rng)
        case 4:
            step.statusClass = UInt8.random(in: 0...4, using: &rng)
            step.statusDetail = UInt8.random(in: 0...12, using: &rng)
        case 5: step.tsih = 0
        case 6 where !step.data.isEmpty:
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                step.data[Int.random(in: 0..<step.data.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
            }
        default:
            step.data = Array(step.data.prefix(Int.random(in: 0...step.data.count, using: &rng)))
        }
    }
}
