import NIOCore

/// The 48-byte Basic Header Segment, kept as plain words so that encoding and decoding allocate
/// nothing. Opcode-specific meaning lives in the typed PDU structs (`SCSICommandPDU`, …), which
/// convert to and from this form.
public struct BasicHeaderSegment: Equatable, Sendable {
    public static let size = 48

    /// Byte 0 without the immediate bit.
    public var opcodeRaw: UInt8
    public var immediate: Bool
    /// Byte 1 (F bit and opcode-specific flags).
    public var flags: UInt8
    public var byte2: UInt8
    public var byte3: UInt8
    /// In 4-byte words.
    public var totalAHSLength: UInt8
    /// 24 bits on the wire.
    public var dataSegmentLength: UInt32
    /// Bytes 8–15: the LUN, or opcode-specific (ISID+TSIH in login).
    public var lunField: UInt64
    /// Bytes 16–19.
    public var initiatorTaskTag: UInt32
    /// Bytes 20–47 as seven big-endian words.
    public var word20: UInt32, word24: UInt32, word28: UInt32, word32: UInt32
    public var word36: UInt32, word40: UInt32, word44: UInt32

    public init(opcode: Opcode, immediate: Bool = false, flags: UInt8 = 0) {
        self.opcodeRaw = opcode.rawValue
        self.immediate = immediate
        self.flags = flags
        self.byte2 = 0
        self.byte3 = 0
        self.totalAHSLength = 0
        self.dataSegmentLength = 0
        self.lunField = 0
        self.initiatorTaskTag = reservedTag
        self.word20 = 0; self.word24 = 0; self.word28 = 0; self.word32 = 0
        self.word36 = 0; self.word40 = 0; self.word44 = 0
    }

    public var opcode: Opcode? { Opcode(rawValue: opcodeRaw) }
    public var final: Bool {
        get { flags & 0x80 != 0 }
        set { flags = newValue ? flags | 0x80 : flags & ~0x80 }
    }

    /// Writes exactly 48 bytes.
    public func write(to buffer: inout ByteBuffer) {
        let byte0 = opcodeRaw & 0x3f | (immediate ? 0x40 : 0)
        let word0 = UInt32(byte0) << 24 | UInt32(flags) << 16 | UInt32(byte2) << 8 | UInt32(byte3)
        let word4 = UInt32(totalAHSLength) << 24 | (dataSegmentLength & 0x00ff_ffff)
        buffer.writeMultipleIntegers(word0, word4, lunField, initiatorTaskTag, word20, word24, word28)
        buffer.writeMultipleIntegers(word32, word36, word40, word44)
    }

    /// Reads 48 bytes; nil if fewer are readable. Any bit pattern is a valid BHS at this level:
    /// meaning is checked by the typed PDUs.
    public static func read(from buffer: inout ByteBuffer) -> BasicHeaderSegment? {
        guard let (word0, word4, lun, itt, w20, w24, w28) = buffer.readMultipleIntegers(
            as: (UInt32, UInt32, UInt64, UInt32, UInt32, UInt32, UInt32).self),
            let (w32, w36, w40, w44) = buffer.readMultipleIntegers(as: (UInt32, UInt32, UInt32, UInt32).self)
        else { return nil }
        var bhs = BasicHeaderSegment(opcode: .nopOut)
        let byte0 = UInt8(word0 >> 24)
        bhs.opcodeRaw = byte0 & 0x3f
        bhs.immediate = byte0 & 0x40 != 0
        bhs.flags = UInt8(truncatingIfNeeded: word0 >> 16)
        bhs.byte2 = UInt8(truncatingIfNeeded: word0 >> 8)
        bhs.byte3 = UInt8(truncatingIfNeeded: word0)
        bhs.totalAHSLength = UInt8(word4 >> 24)
        bhs.dataSegmentLength = word4 & 0x00ff_ffff
        bhs.lunField = lun
        bhs.initiatorTaskTag = itt
        bhs.word20 = w20; bhs.word24 = w24; bhs.word28 = w28; bhs.word32 = w32
        bhs.word36 = w36; bhs.word40 = w40; bhs.word44 = w44
        return bhs
    }

    /// The 16 CDB bytes at offset 32 (SCSI Command).
    public var cdbBytes: [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(16)
        for word in [word32, word36, word40, word44] {
            out.append(UInt8(word >> 24)); out.append(UInt8(truncatingIfNeeded: word >> 16))
            out.append(UInt8(truncatingIfNeeded: word >> 8)); out.append(UInt8(truncatingIfNeeded: word))
        }
        return out
    }

    public mutating func setCDB(_ cdb: [UInt8]) {
        func word(_ i: Int) -> UInt32 {
            var w: UInt32 = 0
            for k in 0..<4 { w = w << 8 | UInt32(i + k < cdb.count ? cdb[i + k] : 0) }
            return w
        }
        word32 = word(0); word36 = word(4); word40 = word(8); word44 = word(12)
    }
}

/// A whole PDU as it travels: header, additional header segments, data segment (without padding).
public struct PDU: Sendable {
    public var header: BasicHeaderSegment
    /// Raw AHS bytes (a multiple of 4), empty when none.
    public var additionalHeader: ByteBuffer?
    public var data: ByteBuffer

    public init(header: BasicHeaderSegment, additionalHeader: ByteBuffer? = nil, data: ByteBuffer = ByteBuffer()) {
        self.header = header
        self.additionalHeader = additionalHeader
        self.data = data
    }

    public var opcode: Opcode? { header.opcode }
}
