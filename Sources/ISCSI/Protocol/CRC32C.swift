import CCRC32C
import NIOCore

/// CRC32C (Castagnoli) as used for iSCSI header and data digests (RFC 7143 §13.1).
///
/// One-shot use: `CRC32C.checksum(bytes)`. Streaming use:
/// ```
/// var state = CRC32C.initialState            // 0xFFFFFFFF
/// state = CRC32C.update(state, part1)
/// state = CRC32C.update(state, part2)
/// let crc = CRC32C.finalize(state)           // ~state
/// ```
/// The resulting `UInt32` goes on the wire little-endian (RFC 7143 Appendix B.4 lists
/// `0x8a9136aa` for 32 zero bytes, transmitted as `aa 36 91 8a`).
public enum CRC32C {
    /// Register value to start a streamed computation with.
    public static let initialState: UInt32 = 0xFFFF_FFFF

    /// Whether the CPU's `crc32` instruction (SSE4.2) is used.
    public static var isHardwareAccelerated: Bool { ccrc32c_hardware() != 0 }

    /// Feeds `bytes` into a streamed computation; `state` is the raw (inverted) register.
    public static func update(_ state: UInt32, _ bytes: UnsafeRawBufferPointer) -> UInt32 {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return state }
        return ccrc32c_update(state, base, bytes.count)
    }

    /// Turns a streamed state into the checksum value.
    public static func finalize(_ state: UInt32) -> UInt32 { ~state }

    /// CRC32C of a contiguous buffer.
    public static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        finalize(update(initialState, bytes))
    }

    /// CRC32C of any byte collection (copies to contiguous storage only when needed).
    public static func checksum<C: Collection>(_ bytes: C) -> UInt32 where C.Element == UInt8 {
        if let crc = bytes.withContiguousStorageIfAvailable({ checksum(UnsafeRawBufferPointer($0)) }) {
            return crc
        }
        return Array(bytes).withUnsafeBytes { checksum($0) }
    }

    /// CRC32C of the readable bytes of `buffer` (the reader index is not moved).
    public static func checksum(_ buffer: ByteBuffer) -> UInt32 {
        buffer.withUnsafeReadableBytes { checksum($0) }
    }

    /// Feeds the readable bytes of `buffer` into a streamed computation.
    public static func update(_ state: UInt32, _ buffer: ByteBuffer) -> UInt32 {
        buffer.withUnsafeReadableBytes { update(state, $0) }
    }

    /// Table-only implementation with the same contract as `update`; for tests and
    /// for comparing against the hardware path.
    public static func updateSoftware(_ state: UInt32, _ bytes: UnsafeRawBufferPointer) -> UInt32 {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return state }
        return ccrc32c_update_sw(state, base, bytes.count)
    }

    /// Hardware-only implementation (falls back to tables on CPUs without SSE4.2).
    public static func updateHardware(_ state: UInt32, _ bytes: UnsafeRawBufferPointer) -> UInt32 {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return state }
        return ccrc32c_update_hw(state, base, bytes.count)
    }
}
