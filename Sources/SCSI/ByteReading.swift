// Internal helpers for big-endian SCSI fields. Parsers never index untrusted bytes directly:
// they go through FieldReader, which throws a named SCSIParseError instead of trapping.

/// Bounds-checked big-endian reads over one received structure.
struct FieldReader {
    /// The bytes of the structure, re-based so offsets match the spec tables.
    let bytes: [UInt8]
    /// Human name of the structure, e.g. "VPD page 0xB0 (block limits)", used in errors.
    let structure: String

    init(_ bytes: some Collection<UInt8>, structure: String) {
        self.bytes = Array(bytes)
        self.structure = structure
    }

    var count: Int { bytes.count }

    /// Throws unless at least `needed` bytes are present.
    func require(_ needed: Int, for field: String) throws(SCSIParseError) {
        guard bytes.count >= needed else {
            throw .truncated(what: "\(structure) \(field)", needed: needed, got: bytes.count)
        }
    }

    func uint8(at offset: Int, _ field: String) throws(SCSIParseError) -> UInt8 {
        try integer(UInt8.self, at: offset, field)
    }

    func uint16(at offset: Int, _ field: String) throws(SCSIParseError) -> UInt16 {
        try integer(UInt16.self, at: offset, field)
    }

    func uint32(at offset: Int, _ field: String) throws(SCSIParseError) -> UInt32 {
        try integer(UInt32.self, at: offset, field)
    }

    func uint64(at offset: Int, _ field: String) throws(SCSIParseError) -> UInt64 {
        try integer(UInt64.self, at: offset, field)
    }

    /// Reads a big-endian unsigned integer of `T`'s width at `offset`.
    func integer<T: FixedWidthInteger & UnsignedInteger>(
        _ type: T.Type, at offset: Int, _ field: String
    ) throws(SCSIParseError) -> T {
        let width = MemoryLayout<T>.size
        guard offset >= 0 else {
            throw .invalidField(what: "\(structure) \(field)", reason: "negative offset \(offset)")
        }
        try require(offset + width, for: field)
        return bigEndianValue(T.self, in: bytes, at: offset) ?? 0
    }

    /// Copies `length` bytes starting at `offset`.
    func slice(at offset: Int, length: Int, _ field: String) throws(SCSIParseError) -> [UInt8] {
        guard offset >= 0, length >= 0 else {
            throw .invalidField(what: "\(structure) \(field)", reason: "negative range \(offset)+\(length)")
        }
        try require(offset + length, for: field)
        return Array(bytes[offset..<(offset + length)])
    }

    /// The integer at `offset` when the structure is long enough to hold it, else nil.
    /// For fields that older revisions of a page simply do not have.
    func optionalInteger<T: FixedWidthInteger & UnsignedInteger>(_ type: T.Type, at offset: Int) -> T? {
        bigEndianValue(T.self, in: bytes, at: offset)
    }
}

/// Big-endian unsigned integer of `T`'s width at `offset` in `bytes`, or nil when it does not fit.
func bigEndianValue<T: FixedWidthInteger & UnsignedInteger>(
    _ type: T.Type, in bytes: [UInt8], at offset: Int
) -> T? {
    let width = MemoryLayout<T>.size
    guard offset >= 0, offset <= bytes.count - width else { return nil }
    var value: T = 0
    for index in offset..<(offset + width) {
        value = (value << 8) | T(bytes[index])
    }
    return value
}

/// The big-endian bytes of `value`, most significant first, as SCSI puts every multi-byte field.
func bigEndianBytes<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
    let width = MemoryLayout<T>.size
    var result: [UInt8] = []
    result.reserveCapacity(width)
    for shift in stride(from: (width - 1) * 8, through: 0, by: -8) {
        result.append(UInt8(truncatingIfNeeded: value >> shift))
    }
    return result
}

/// "0x0A" style rendering used in descriptions and errors.
func hexByte(_ value: UInt8) -> String {
    "0x" + twoHexDigits(value, uppercase: true)
}

/// Two hex digits, zero padded, e.g. "0a" or "0A".
func twoHexDigits(_ value: UInt8, uppercase: Bool) -> String {
    let digits = String(value, radix: 16, uppercase: uppercase)
    return value < 0x10 ? "0" + digits : digits
}

/// Lowercase hex of all bytes, no separators: the form multipath-tools prints WWIDs in.
func lowercaseHex(_ bytes: some Sequence<UInt8>) -> String {
    bytes.map { twoHexDigits($0, uppercase: false) }.joined()
}

/// Text of a fixed-width ASCII field (INQUIRY vendor/product, VPD 0x80 serial).
/// Stops at the first NUL (targets pad with NULs as well as spaces), trims surrounding spaces,
/// and shows non-printable bytes as "?" so a hostile target cannot inject control characters into logs.
func asciiField(_ bytes: some Sequence<UInt8>, trimLeading: Bool = false) -> String {
    var scalars: [UInt8] = []
    for byte in bytes {
        if byte == 0 { break }
        scalars.append((0x20...0x7E).contains(byte) ? byte : UInt8(ascii: "?"))
    }
    while let last = scalars.last, last == UInt8(ascii: " ") {
        scalars.removeLast()
    }
    if trimLeading {
        let firstNonSpace = scalars.firstIndex { $0 != UInt8(ascii: " ") } ?? scalars.endIndex
        scalars.removeSubrange(scalars.startIndex..<firstNonSpace)
    }
    return String(decoding: scalars, as: UTF8.self)
}
