import XCTest

@testable import SCSI

/// Feeds every parser mutated and random bytes from a fixed seed. A parser may throw but must never
/// trap; the decoded values are then pushed through the consumers (descriptions, WWID,
/// classification) so a bad value cannot trap there either.
final class MutationTests: XCTestCase {
    private static let iterations = 2000

    private static let seeds: [[UInt8]] = [
        TGT.deviceIdentification,
        TGT.unitSerialNumber,
        TGT.supportedPages,
        TGT.standardInquiry,
        TGT.blockLimitsThin,
        TGT.logicalBlockProvisioningThin,
        TGT.readCapacity16Thin,
        TGT.reportLuns,
        TGT.fixedSense(key: 0x02, asc: 0x04, ascq: 0x0A),
        hex("72 03 11 00 00 00 00 14 00 0A 80 00 01 02 03 04 05 06 07 08 02 06 00 00 80 00 05 00"),
        hex("00 00 00 1C 80 8F 00 01 00 02 00 02 00 00 00 01 00 00 00 02 02 8F 00 02 00 00 00 01 00 00 00 03"),
        hex("00 00 00 10 10 3C 00 00 0F 80 00 05 00 01 00 01 00 00 00 07"),
        hex("00 1F FF FF 00 00 02 00"),
    ]

    func testParsersSurviveMutatedInput() {
        var generator = SeededGenerator(seed: 0x5C51_2025)
        var decoded = 0
        for iteration in 0..<Self.iterations {
            let seed = Self.seeds[iteration % Self.seeds.count]
            let input = mutate(seed, using: &generator)
            decoded += exerciseEveryParser(input)
        }
        // Mutations keep many inputs valid; if nothing decodes the test is not testing parsers.
        XCTAssertGreaterThan(decoded, Self.iterations / 4)
    }

    func testParsersSurviveRandomGarbage() {
        var generator = SeededGenerator(seed: 0xBAD_5EED)
        for _ in 0..<Self.iterations {
            let length = Int.random(in: 0...96, using: &generator)
            var input = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            // Give the page-code and response-code checks something to pass now and then.
            if length > 1, Bool.random(using: &generator) {
                input[1] = [0x00, 0x80, 0x83, 0xB0, 0xB2].randomElement(using: &generator) ?? 0x83
            }
            if length > 0, Bool.random(using: &generator) {
                input[0] = UInt8.random(in: 0x70...0x73, using: &generator)
            }
            _ = exerciseEveryParser(input)
        }
    }

    func testEveryPrefixOfEverySeed() {
        for seed in Self.seeds {
            for length in 0...seed.count {
                _ = exerciseEveryParser(Array(seed.prefix(length)))
            }
        }
    }

    /// Runs all parsers on `input`; returns how many accepted it.
    private func exerciseEveryParser(_ input: [UInt8]) -> Int {
        var accepted = 0
        var identification: DeviceIdentificationPage?
        var serial: UnitSerialNumberPage?
        var inquiry: StandardInquiryData?

        if let sense = try? SenseData(bytes: input) {
            accepted += 1
            _ = sense.description
            _ = sense.fixedFormatBytes()
            _ = sense.descriptorFormatBytes()
            for status in [SCSIStatus.checkCondition, .good, .busy] {
                _ = SCSIDisposition.classify(status: status, sense: sense)
            }
        }
        _ = SCSIDisposition.classify(status: SCSIStatus(rawValue: input.first ?? 0), senseBytes: input)
        if let page = try? DeviceIdentificationPage(bytes: input) {
            accepted += 1
            identification = page
            _ = page.relativeTargetPortID
            _ = page.targetPortGroupID
            _ = page.logicalUnitGroupID
            _ = page.designators.map { ($0.encoded, $0.text, $0.naaType, $0.type.description) }
        }
        if let page = try? UnitSerialNumberPage(bytes: input) {
            accepted += 1
            serial = page
            _ = page.serialNumber
        }
        if let data = try? StandardInquiryData(bytes: input) {
            accepted += 1
            inquiry = data
            _ = (data.vendor, data.product, data.revision, data.peripheralDeviceType.description)
        }
        _ = WWID.make(deviceIdentification: identification, serialNumber: serial, inquiry: inquiry)
        if let page = try? SupportedVPDPages(bytes: input) {
            accepted += 1
            _ = page.supports(0x83)
        }
        if (try? BlockLimitsPage(bytes: input)) != nil { accepted += 1 }
        if (try? LogicalBlockProvisioningPage(bytes: input)) != nil { accepted += 1 }
        if let data = try? ReadCapacity10Data(bytes: input) {
            accepted += 1
            _ = (data.blockCount, data.sizeBytes, data.needsReadCapacity16)
        }
        if let data = try? ReadCapacity16Data(bytes: input) {
            accepted += 1
            _ = data.physicalBlockLength
        }
        if let data = try? ReportLunsData(bytes: input) {
            accepted += 1
            _ = (data.lunNumbers, data.isTruncated, data.requiredAllocationLength)
            _ = data.luns.map { ($0.description, $0.linuxNumber, $0.addressMethod) }
        }
        if let data = try? ReportTargetPortGroupsData(bytes: input) {
            accepted += 1
            _ = data.groups.map { $0.asymmetricAccessState.description }
        }
        _ = ReportTargetPortGroupsData.requiredLength(ofResponse: input)
        _ = VPD.requiredLength(ofPage: input)
        _ = SCSILUN(raw: input.prefix(8))?.number
        _ = CDB.direction(ofCDB: input)
        _ = CDB.name(ofCDB: input)
        return accepted
    }

    private func mutate(_ seed: [UInt8], using generator: inout SeededGenerator) -> [UInt8] {
        var bytes = seed
        let mutations = Int.random(in: 1...4, using: &generator)
        for _ in 0..<mutations {
            switch Int.random(in: 0..<6, using: &generator) {
            case 0 where !bytes.isEmpty:
                let index = Int.random(in: 0..<bytes.count, using: &generator)
                bytes[index] ^= UInt8(1) << UInt8.random(in: 0...7, using: &generator)
            case 1 where !bytes.isEmpty:
                let index = Int.random(in: 0..<bytes.count, using: &generator)
                bytes[index] = UInt8.random(in: 0...255, using: &generator)
            case 2:
                bytes = Array(bytes.prefix(Int.random(in: 0...bytes.count, using: &generator)))
            case 3:
                let extra = Int.random(in: 1...32, using: &generator)
                bytes += (0..<extra).map { _ in UInt8.random(in: 0...255, using: &generator) }
            case 4 where bytes.count > 3:
                // Lengths are what parsers trust most: hit the length bytes specifically.
                let index = Int.random(in: 0...3, using: &generator)
                bytes[index] = [0x00, 0xFF, 0x7F, 0x80, 0x01].randomElement(using: &generator) ?? 0xFF
            default:
                if !bytes.isEmpty {
                    bytes.remove(at: Int.random(in: 0..<bytes.count, using: &generator))
                }
            }
        }
        return bytes
    }
}
