/// The block-aligned extent that covers a byte range, and where the range
/// sits inside it. Pure arithmetic, so the read-modify-write logic can be
/// tested byte for byte without a kernel.
struct AlignedSpan: Equatable {
    /// First byte of the first covered block.
    let start: UInt64
    /// Bytes in the covered blocks (a multiple of the block size).
    let length: Int
    /// Where the requested bytes begin inside the span.
    let headOffset: Int
    /// The requested byte count.
    let payloadLength: Int
    /// The block size the span is aligned to.
    let blockSize: Int

    /// The span covering `length` bytes at `offset`; `blockSize` must be a power of two.
    init(offset: UInt64, length: Int, blockSize: Int) {
        precondition(blockSize > 0 && blockSize & (blockSize - 1) == 0, "block size must be a power of two")
        precondition(length >= 0, "length must not be negative")
        let mask = UInt64(blockSize - 1)
        let first = offset & ~mask
        let end = offset + UInt64(length)
        // An empty request covers no block, even at an unaligned offset.
        let last = length == 0 ? first : (end + mask) & ~mask
        self.start = first
        self.length = Int(last - first)
        self.headOffset = length == 0 ? 0 : Int(offset - first)
        self.payloadLength = length
        self.blockSize = blockSize
    }

    /// True when the request already starts and ends on block boundaries.
    var isAligned: Bool { headOffset == 0 && payloadLength == length }

    /// True when the first block is only partly covered by the request.
    var hasPartialHead: Bool { payloadLength > 0 && headOffset != 0 }

    /// True when the last block is only partly covered by the request.
    var hasPartialTail: Bool { payloadLength > 0 && (headOffset + payloadLength) % blockSize != 0 }

    /// Offsets of the blocks a write must read first (at most two, no duplicates).
    var blocksToPreRead: [UInt64] {
        var blocks: [UInt64] = []
        if hasPartialHead {
            blocks.append(start)
        }
        if hasPartialTail {
            let lastBlock = start + UInt64(length - blockSize)
            if blocks.last != lastBlock {
                blocks.append(lastBlock)
            }
        }
        return blocks
    }
}

/// Rounds `value` down to a multiple of the power-of-two `blockSize`.
func roundDown(_ value: UInt64, to blockSize: Int) -> UInt64 {
    value & ~UInt64(blockSize - 1)
}

/// Rounds `value` up to a multiple of the power-of-two `blockSize`.
func roundUp(_ value: UInt64, to blockSize: Int) -> UInt64 {
    let mask = UInt64(blockSize - 1)
    return (value &+ mask) & ~mask
}
