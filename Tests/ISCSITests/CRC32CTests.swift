import NIOCore
import XCTest

@testable import ISCSI

final class CRC32CTests: XCTestCase {
    /// Little-endian wire bytes of a digest, as RFC 7143 Appendix B.4 prints them.
    private func wire(_ crc: UInt32) -> [UInt8] {
        [UInt8(crc & 0xFF), UInt8((crc >> 8) & 0xFF), UInt8((crc >> 16) & 0xFF), UInt8(crc >> 24)]
    }

    func testRFC7143AppendixB4Vectors() {
        XCTAssertEqual(CRC32C.checksum([UInt8](repeating: 0, count: 32)), 0x8A91_36AA)
        XCTAssertEqual(wire(CRC32C.checksum([UInt8](repeating: 0, count: 32))), [0xAA, 0x36, 0x91, 0x8A])
        XCTAssertEqual(CRC32C.checksum([UInt8](repeating: 0xFF, count: 32)), 0x62A8_AB43)
        XCTAssertEqual(wire(CRC32C.checksum([UInt8](repeating: 0xFF, count: 32))), [0x43, 0xAB, 0xA8, 0x62])
        XCTAssertEqual(CRC32C.checksum((0..<32).map { UInt8($0) }), 0x46DD_794E)
        XCTAssertEqual(CRC32C.checksum((0..<32).reversed().map { UInt8($0) }), 0x113F_DB5C)
    }

    func testRFC7143ReadCommandPDUVector() {
        let pdu: [UInt8] = [
            0x01, 0xC0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
            0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00,
            0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x18,
            0x28, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
            0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        ]
        XCTAssertEqual(pdu.count, 48)
        XCTAssertEqual(CRC32C.checksum(pdu), 0xD996_3A56)
        XCTAssertEqual(wire(CRC32C.checksum(pdu)), [0x56, 0x3A, 0x96, 0xD9])
    }

    func testCheckValue() {
        XCTAssertEqual(CRC32C.checksum(Array("123456789".utf8)), 0xE306_9283)
        XCTAssertEqual(CRC32C.checksum("123456789".utf8), 0xE306_9283)  // non-contiguous path
        XCTAssertEqual(CRC32C.checksum([UInt8]()), 0)
    }

    func testByteBufferUsesReadableBytesOnly() {
        var buffer = ByteBufferAllocator().buffer(capacity: 16)
        buffer.writeBytes([0xDE, 0xAD])
        buffer.writeString("123456789")
        buffer.moveReaderIndex(forwardBy: 2)
        XCTAssertEqual(CRC32C.checksum(buffer), 0xE306_9283)
        XCTAssertEqual(buffer.readableBytes, 9, "checksum must not consume the buffer")
    }

    func testStreamingEqualsOneShot() {
        let data = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 3) }
        let whole = CRC32C.checksum(data)
        for split in [0, 1, 7, 8, 9, 63, 500, 999, 1000] {
            let state = data.withUnsafeBytes { raw -> UInt32 in
                let a = UnsafeRawBufferPointer(rebasing: raw[0..<split])
                let b = UnsafeRawBufferPointer(rebasing: raw[split...])
                return CRC32C.update(CRC32C.update(CRC32C.initialState, a), b)
            }
            XCTAssertEqual(CRC32C.finalize(state), whole, "split at \(split)")
        }
        var buffer = ByteBufferAllocator().buffer(capacity: 8)
        buffer.writeString("56789")
        let streamed = "1234".utf8.withContiguousStorageIfAvailable {
            CRC32C.update(CRC32C.initialState, UnsafeRawBufferPointer($0))
        }
        XCTAssertEqual(streamed.map { CRC32C.finalize(CRC32C.update($0, buffer)) }, 0xE306_9283)
    }

    func testHardwareAndTablePathsAgree() {
        var rng = ProtoTestRNG(seed: 0xC0FFEE)
        // Extra leading bytes let every length start at every alignment 0..7.
        let pool = (0..<(300 + 16)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        pool.withUnsafeBytes { raw in
            for offset in 0..<8 {
                for length in 0...300 {
                    let slice = UnsafeRawBufferPointer(rebasing: raw[offset..<(offset + length)])
                    let sw = CRC32C.updateSoftware(CRC32C.initialState, slice)
                    let hw = CRC32C.updateHardware(CRC32C.initialState, slice)
                    let auto = CRC32C.update(CRC32C.initialState, slice)
                    if sw != hw || sw != auto {
                        XCTFail("mismatch at offset \(offset) length \(length): sw \(sw) hw \(hw) auto \(auto)")
                        return
                    }
                }
            }
        }
        // The table path alone must also hit the reference value.
        let check = Array("123456789".utf8).withUnsafeBytes {
            CRC32C.finalize(CRC32C.updateSoftware(CRC32C.initialState, $0))
        }
        XCTAssertEqual(check, 0xE306_9283)
    }

    func testHardwareDetectionMatchesPlatform() {
        #if arch(x86_64)
        // Every x86-64 CPU this project targets has SSE4.2; on others this just has to not crash.
        _ = CRC32C.isHardwareAccelerated
        #else
        XCTAssertFalse(CRC32C.isHardwareAccelerated)
        #endif
    }
}

/// Small deterministic generator for repeatable "random" tests.
struct ProtoTestRNG: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
