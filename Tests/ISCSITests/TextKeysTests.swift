import XCTest

@testable import ISCSI

final class TextKeysTests: XCTestCase {
    private func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    private func parseError(_ data: [UInt8], options: TextParseOptions = .negotiation) -> TextKeyError? {
        do {
            _ = try TextParameters.parse(data, options: options)
            return nil
        } catch {
            return error
        }
    }

    // MARK: - Parse and encode

    func testParseKeepsOrderAndLooksUpByKey() throws {
        let data = bytes("InitiatorName=iqn.2016-04.com.open-iscsi:abc\0SessionType=Normal\0AuthMethod=CHAP,None\0")
        let params = try TextParameters.parse(data)
        XCTAssertEqual(params.map(\.key), ["InitiatorName", "SessionType", "AuthMethod"])
        XCTAssertEqual(params["SessionType"], "Normal")
        XCTAssertEqual(params["AuthMethod"], "CHAP,None")
        XCTAssertNil(params["TargetName"])
        XCTAssertEqual(params.encode(), data)
    }

    func testEncodeIsByteExact() {
        let params: TextParameters = ["HeaderDigest": "None", "MaxRecvDataSegmentLength": "262144", "TargetAlias": ""]
        XCTAssertEqual(
            params.encode(),
            bytes("HeaderDigest=None\0MaxRecvDataSegmentLength=262144\0TargetAlias=\0"))
        XCTAssertEqual(TextParameters().encode(), [])
        XCTAssertEqual(TextParameters.encode(["A": "b"]), [0x41, 0x3D, 0x62, 0x00])
    }

    func testValueMayContainEqualsAndUTF8() throws {
        let data = bytes("TargetAlias=disk=1 – données\0")
        let params = try TextParameters.parse(data)
        XCTAssertEqual(params["TargetAlias"], "disk=1 – données")
        XCTAssertEqual(params.encode(), data)
    }

    func testEmptyDataAndTrailingPadding() throws {
        XCTAssertTrue(try TextParameters.parse([UInt8]()).isEmpty)
        let padded = bytes("A=1\0") + [0, 0, 0]
        XCTAssertEqual(try TextParameters.parse(padded).entries, [TextKeyValue(key: "A", value: "1")])
    }

    func testSetReplacesInPlaceAndRemove() {
        var params: TextParameters = ["A": "1", "B": "2"]
        params.set("A", "3")
        params.set("C", "4")
        XCTAssertEqual(params.encode(), bytes("A=3\0B=2\0C=4\0"))
        XCTAssertEqual(params.remove("B"), "2")
        XCTAssertEqual(params.encode(), bytes("A=3\0C=4\0"))
    }

    func testSendTargetsAllowsRepeatedKeys() throws {
        let data = bytes(
            "TargetName=iqn.a\0TargetAddress=10.0.0.1:3260,1\0TargetAddress=10.0.1.1:3260,2\0TargetName=iqn.b\0")
        XCTAssertEqual(parseError(data), .duplicateKey("TargetAddress"))
        let params = try TextParameters.parse(data, options: .sendTargets)
        XCTAssertEqual(params.values(for: "TargetAddress"), ["10.0.0.1:3260,1", "10.0.1.1:3260,2"])
        XCTAssertEqual(params.values(for: "TargetName"), ["iqn.a", "iqn.b"])
    }

    // MARK: - Parse errors

    func testMissingEqualsQuotesKey() {
        let error = parseError(bytes("A=1\0Garbage\0"))
        XCTAssertEqual(error, .missingEquals(key: "Garbage"))
        XCTAssertEqual(error?.description, "text key \"Garbage\" has no '=' and no value")
    }

    func testEmptyKey() {
        XCTAssertEqual(parseError(bytes("=value\0")), .emptyKey)
    }

    func testIllegalKeyCharacters() {
        XCTAssertEqual(parseError(bytes("Bad Key=1\0")), .illegalKey(key: "Bad Key"))
        XCTAssertEqual(parseError(bytes("1Key=1\0")), .illegalKey(key: "1Key"))
        XCTAssertEqual(parseError(bytes("Key#=1\0")), .illegalKey(key: "Key#"))
        XCTAssertEqual(parseError(bytes("Ké=1\0")), .illegalKey(key: "Ké"))
        XCTAssertEqual(parseError([0xFF, 0x3D, 0x31, 0x00]), .notUTF8(key: nil))
    }

    func testVendorKeysAreLegal() throws {
        let params = try TextParameters.parse(bytes("X-com.example.Foo=1\0X#org.example_bar=2\0a.b-c+d@e_f=3\0"))
        XCTAssertEqual(params.map(\.key), ["X-com.example.Foo", "X#org.example_bar", "a.b-c+d@e_f"])
    }

    func testKeyLengthLimit() throws {
        let ok = String(repeating: "K", count: 63)
        XCTAssertEqual(try TextParameters.parse(bytes("\(ok)=1\0"))[ok], "1")
        let long = String(repeating: "K", count: 64)
        XCTAssertEqual(parseError(bytes("\(long)=1\0")), .keyTooLong(key: ok, length: 64))
    }

    func testValueLengthLimit() throws {
        let ok = String(repeating: "v", count: 8192)
        XCTAssertEqual(try TextParameters.parse(bytes("K=\(ok)\0"))["K"]?.count, 8192)
        let error = parseError(bytes("K=\(ok)v\0"))
        XCTAssertEqual(error, .valueTooLong(key: "K", length: 8193, limit: 8192))
        XCTAssertNil(parseError(bytes("K=\(ok)v\0"), options: .sendTargets))
    }

    func testMissingTerminator() {
        XCTAssertEqual(parseError(bytes("A=1\0MaxBurst=12")), .missingTerminator(key: "MaxBurst"))
        XCTAssertEqual(parseError(bytes("A=1")), .missingTerminator(key: "A"))
    }

    func testDuplicateKey() {
        let error = parseError(bytes("A=1\0B=2\0A=3\0"))
        XCTAssertEqual(error, .duplicateKey("A"))
        XCTAssertEqual(error?.description, "text key A appears more than once")
    }

    func testNonUTF8Value() {
        XCTAssertEqual(parseError(bytes("TargetAlias=") + [0xC3, 0x28, 0x00]), .notUTF8(key: "TargetAlias"))
    }

    func testEmptyRecordInTheMiddle() {
        XCTAssertEqual(parseError(bytes("A=1\0\0B=2\0")), .emptyRecord(offset: 4))
    }

    // MARK: - Values

    func testListAndBoolean() throws {
        XCTAssertEqual(try TextValue.list("CHAP,None", key: "AuthMethod"), ["CHAP", "None"])
        XCTAssertEqual(try TextValue.list("None", key: "AuthMethod"), ["None"])
        XCTAssertThrowsError(try TextValue.list("CHAP,,None", key: "AuthMethod")) {
            XCTAssertEqual($0 as? TextKeyError, .invalidValue(key: "AuthMethod", value: "CHAP,,None", reason: "empty element in list"))
        }
        XCTAssertEqual(TextValue.encodeList(["CRC32C", "None"]), "CRC32C,None")
        XCTAssertTrue(try TextValue.boolean("Yes", key: "K"))
        XCTAssertFalse(try TextValue.boolean("No", key: "K"))
        XCTAssertThrowsError(try TextValue.boolean("yes", key: "InitialR2T")) {
            XCTAssertEqual(($0 as? TextKeyError)?.description, "invalid value \"yes\" for InitialR2T: expected Yes or No")
        }
        XCTAssertEqual(TextValue.encodeBoolean(true), "Yes")
        XCTAssertEqual(TextValue.encodeBoolean(false), "No")
    }

    func testNumbers() throws {
        XCTAssertEqual(try TextValue.number("262144", key: "K"), 262_144)
        XCTAssertEqual(try TextValue.number("0", key: "K"), 0)
        XCTAssertEqual(try TextValue.number("0x40000", key: "K"), 262_144)
        XCTAssertEqual(try TextValue.number("0X1f", key: "K"), 31)
        XCTAssertEqual(try TextValue.number("0bBAAA", key: "K"), 0x04_0000)  // base64 of 04 00 00
        XCTAssertEqual(try TextValue.number("18446744073709551615", key: "K"), UInt64.max)
        XCTAssertEqual(try TextValue.number("0x00ffffffffffffffff", key: "K"), UInt64.max)
        for bad in ["", "-1", "12a", " 1", "18446744073709551616", "0x", "0x1ffffffffffffffff", "0y12"] {
            XCTAssertThrowsError(try TextValue.number(bad, key: "MaxBurstLength"), bad) {
                guard case .invalidValue(let key, let value, _) = $0 as? TextKeyError else {
                    return XCTFail("unexpected \($0)")
                }
                XCTAssertEqual(key, "MaxBurstLength")
                XCTAssertEqual(value, bad)
            }
        }
        XCTAssertEqual(try TextValue.number("65535", key: "K", in: 0...65535), 65535)
        XCTAssertThrowsError(try TextValue.number("65536", key: "TargetPortalGroupTag", in: 0...65535)) {
            XCTAssertEqual(
                ($0 as? TextKeyError)?.description,
                "invalid value \"65536\" for TargetPortalGroupTag: out of range 0...65535")
        }
    }

    func testBinaryValues() throws {
        let vector: [UInt8] = [0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF, 0xFE, 0xDC, 0xBA, 0x98, 0x76, 0x54, 0x32, 0x10]
        XCTAssertEqual(TextValue.encodeHex(vector), "0x0123456789abcdeffedcba9876543210")
        XCTAssertEqual(TextValue.encodeBase64(vector), "0bASNFZ4mrze/+3LqYdlQyEA==")
        XCTAssertEqual(try TextValue.binary("0x0123456789ABCDEFfedcba9876543210", key: "CHAP_C"), vector)
        XCTAssertEqual(try TextValue.binary("0bASNFZ4mrze/+3LqYdlQyEA==", key: "CHAP_C"), vector)
        XCTAssertEqual(try TextValue.binary("0BASNFZ4mrze/+3LqYdlQyEA", key: "CHAP_C"), vector)  // unpadded
        XCTAssertEqual(try TextValue.binary("0xabc", key: "CHAP_C"), [0x0A, 0xBC])  // odd: leading zero implied
        XCTAssertEqual(TextValue.encodeBase64([0x66]), "0bZg==")
        XCTAssertEqual(TextValue.encodeBase64([0x66, 0x6F]), "0bZm8=")
        XCTAssertEqual(TextValue.encodeBase64([0x66, 0x6F, 0x6F]), "0bZm9v")
        let cases: [(String, String)] = [
            ("0x12g4", "invalid hex digit"),
            ("0x", "expected 0x hex or 0b base64 binary value"),
            ("1234", "expected 0x hex or 0b base64 binary value"),
            ("0z12", "expected 0x hex or 0b base64 binary value"),
            ("0bZ", "invalid base64 encoding"),
            ("0bZm9v!", "invalid base64 encoding"),
            ("0bZg=", "invalid base64 encoding"),
            ("0bZ===", "invalid base64 encoding"),
            ("0bZh==", "invalid base64 encoding"),  // non-zero leftover bits
            ("0b=Zg=", "invalid base64 encoding"),
        ]
        for (value, reason) in cases {
            XCTAssertThrowsError(try TextValue.binary(value, key: "CHAP_C"), value) {
                XCTAssertEqual($0 as? TextKeyError, .invalidValue(key: "CHAP_C", value: value, reason: reason), value)
            }
        }
    }

    func testBinaryRoundTripsEveryLength() throws {
        var rng = ProtoTestRNG(seed: 7)
        for length in 1...70 {
            let data = (0..<length).map { _ in UInt8.random(in: 0...255, using: &rng) }
            XCTAssertEqual(try TextValue.binary(TextValue.encodeHex(data), key: "K"), data)
            XCTAssertEqual(try TextValue.binary(TextValue.encodeBase64(data), key: "K"), data)
        }
    }

    func testLongValuesAreCutInMessages() {
        let value = String(repeating: "z", count: 500)
        let description = TextKeyError.invalidValue(key: "K", value: value, reason: "bad").description
        XCTAssertLessThan(description.count, 120)
        XCTAssertTrue(description.hasPrefix("invalid value \"zzzz"))
    }

    // MARK: - TargetAddress

    func testTargetAddressForms() throws {
        XCTAssertEqual(try TargetAddress(parsing: "10.0.0.1:3260,1"), TargetAddress(host: "10.0.0.1", port: 3260, portalGroupTag: 1))
        XCTAssertEqual(try TargetAddress(parsing: "storage.example.com"), TargetAddress(host: "storage.example.com"))
        XCTAssertEqual(try TargetAddress(parsing: "host,7"), TargetAddress(host: "host", port: 3260, portalGroupTag: 7))
        XCTAssertEqual(try TargetAddress(parsing: "[fe80::1%eth0]:3261,2"), TargetAddress(host: "fe80::1%eth0", port: 3261, portalGroupTag: 2))
        XCTAssertEqual(try TargetAddress(parsing: "[::1]"), TargetAddress(host: "::1"))
        XCTAssertEqual(TargetAddress(host: "::1", port: 3260, portalGroupTag: 1).description, "[::1]:3260,1")
        XCTAssertEqual(TargetAddress(host: "10.0.0.1").description, "10.0.0.1:3260")
        for bad in ["", "::1", "::1:3260", "[::1", "[::1]3260", "host:0", "host:abc", "host:70000", "host,x", "host,", ":3260"] {
            XCTAssertThrowsError(try TargetAddress(parsing: bad), bad) {
                guard case .invalidValue(let key, let value, _) = $0 as? TextKeyError else { return XCTFail("\($0)") }
                XCTAssertEqual(key, "TargetAddress")
                XCTAssertEqual(value, bad)
            }
        }
    }

    // MARK: - Robustness

    /// Random mutations of a valid segment: parsing either succeeds and round-trips, or throws.
    func testSeededMutationsNeverCrash() {
        let seed = bytes(
            "InitiatorName=iqn.2016-04.com.open-iscsi:0123\0TargetAlias=data\0HeaderDigest=CRC32C,None\0"
                + "MaxRecvDataSegmentLength=262144\0CHAP_C=0x0123456789abcdef\0X-vendor.key=1\0")
        var rng = ProtoTestRNG(seed: 0x5EED_7E47)
        var parsed = 0
        var failed = 0
        for _ in 0..<5000 {
            var data = seed
            for _ in 0..<Int.random(in: 1...6, using: &rng) {
                switch Int.random(in: 0..<5, using: &rng) {
                case 0 where !data.isEmpty:
                    data[Int.random(in: 0..<data.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
                case 1 where !data.isEmpty:
                    data.remove(at: Int.random(in: 0..<data.count, using: &rng))
                case 2:
                    let special: [UInt8] = [0, 0x3D, 0x2C, 0xFF, 0xC3, 0x23]
                    data.insert(special[Int.random(in: 0..<special.count, using: &rng)], at: Int.random(in: 0...data.count, using: &rng))
                case 3 where !data.isEmpty:
                    data.removeLast(Int.random(in: 0...min(8, data.count), using: &rng))
                default:
                    data += data.prefix(Int.random(in: 0...20, using: &rng))
                }
            }
            do {
                let params = try TextParameters.parse(data)
                XCTAssertEqual(try TextParameters.parse(params.encode()), params)
                parsed += 1
            } catch {
                XCTAssertFalse(error.description.isEmpty)
                failed += 1
            }
        }
        XCTAssertGreaterThan(parsed, 0)
        XCTAssertGreaterThan(failed, 0)
    }
}
