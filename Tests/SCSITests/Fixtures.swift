@testable import SCSI

/// Bytes from a hex string; spaces and newlines are ignored ("88 00 01" -> [0x88, 0x00, 0x01]).
func hex(_ text: String) -> [UInt8] {
    let digits = text.filter { $0.isHexDigit }
    precondition(digits.count % 2 == 0, "odd number of hex digits in test fixture")
    var bytes: [UInt8] = []
    var index = digits.startIndex
    while index < digits.endIndex {
        let next = digits.index(index, offsetBy: 2)
        bytes.append(UInt8(digits[index..<next], radix: 16)!)
        index = next
    }
    return bytes
}

func ascii(_ text: String, paddedTo width: Int, with pad: UInt8 = 0x20) -> [UInt8] {
    let bytes = Array(text.utf8)
    return bytes + [UInt8](repeating: pad, count: max(0, width - bytes.count))
}

/// Response fixtures built by hand from fujita/tgt's usr/spc.c and usr/sbc.c (tgt 1.0.x):
/// target 1, LUN 1, `--params scsi_id=mpathtest-lun1,scsi_sn=MPT0001`, the setup of
/// reference-stack-measured.md, whose multipath -ll showed WWID 360000000000000000000a000e0000001.
enum TGT {
    /// VPD 0x83 as tgt's update_vpd_83 builds it: T10 vendor ID (ASCII, 36 bytes = SCSI_ID_LEN,
    /// NUL padded), NAA 3 locally assigned (tid << 32 | lun), then NAA 6 whose 128-bit value is
    /// scsi_id read as hex digits (non-hex characters count as 0).
    static let deviceIdentification: [UInt8] =
        [0x00, 0x83, 0x00, 72]
        + [0x02, 0x01, 0x00, 36] + ascii("mpathtest-lun1", paddedTo: 36, with: 0)
        + [0x01, 0x03, 0x00, 0x08] + hex("30 00 00 01 00 00 00 01")
        + [0x01, 0x03, 0x00, 0x10] + hex("60 00 00 00 00 00 00 00 00 00 a0 00 e0 00 00 01")

    /// VPD 0x80: 36 bytes (SCSI_SN_LEN), serial right-adjusted with leading spaces.
    static let unitSerialNumber: [UInt8] =
        [0x00, 0x80, 0x00, 36] + [UInt8](repeating: 0x20, count: 29) + Array("MPT0001".utf8)

    /// VPD 0x00: tgt lists 0x00 then every page it allocated.
    static let supportedPages: [UInt8] = [0x00, 0x00, 0x00, 0x05, 0x00, 0x80, 0x83, 0xB0, 0xB2]

    /// Standard INQUIRY: 66 bytes, SPC-3, vendor "IET", product "VIRTUAL-DISK", revision "0001",
    /// CMDQUE, no TPGS (tgt has no ALUA).
    static let standardInquiry: [UInt8] = {
        var data = [UInt8](repeating: 0, count: 66)
        data[2] = 5
        data[3] = 0x12
        data[4] = 66 - 5
        data[7] = 0x02
        data.replaceSubrange(8..<16, with: ascii("IET", paddedTo: 8))
        data.replaceSubrange(16..<32, with: ascii("VIRTUAL-DISK", paddedTo: 16))
        data.replaceSubrange(32..<36, with: ascii("0001", paddedTo: 4))
        data.replaceSubrange(58..<60, with: [0x00, 0x40])  // version descriptor SAM-3 (tgt lists a few)
        return data
    }()

    /// VPD 0xB0 with thin_provisioning=1: max compare and write 128, unmap counts all ones.
    static let blockLimitsThin: [UInt8] = {
        var data = [UInt8](repeating: 0, count: 64)
        data[1] = 0xB0
        data[3] = 0x3C
        data[5] = 128
        data.replaceSubrange(20..<28, with: [UInt8](repeating: 0xFF, count: 8))
        return data
    }()

    /// VPD 0xB2 with thin_provisioning=1: LBPU, LBPWS, LBPWS10, LBPRZ, thin provisioned.
    static let logicalBlockProvisioningThin: [UInt8] = [0x00, 0xB2, 0x00, 0x04, 0x00, 0xE4, 0x02, 0x00]

    /// READ CAPACITY(16) of a 1 GiB LU with 512-byte blocks and thin provisioning (LBPME|LBPRZ).
    static let readCapacity16Thin: [UInt8] =
        hex("00 00 00 00 00 1F FF FF  00 00 02 00  00 00 C0 00") + [UInt8](repeating: 0, count: 16)

    /// REPORT LUNS: LUN 0 (controller) and LUN 1; tgt uses flat addressing above 255.
    static let reportLuns: [UInt8] = hex("""
        00 00 00 10 00 00 00 00
        00 00 00 00 00 00 00 00
        00 01 00 00 00 00 00 00
        """)

    /// Fixed sense tgt's sense_data_build sends: 18 bytes, ADDITIONAL SENSE LENGTH 0x0A.
    static func fixedSense(key: UInt8, asc: UInt8, ascq: UInt8) -> [UInt8] {
        [0x70, 0x00, key, 0, 0, 0, 0, 0x0A, 0, 0, 0, 0, asc, ascq, 0, 0, 0, 0]
    }
}

/// Deterministic generator for the mutation tests (SplitMix64), so failures reproduce.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
