import NIOCore

/// Splits a byte stream into PDUs (sans-IO). It consumes nothing until a whole PDU is readable,
/// so it can be fed any chunking. Digests, when enabled, are checked here.
public struct PDUFrameDecoder: Sendable {
    public var headerDigest: Bool
    public var dataDigest: Bool
    /// Largest data segment accepted: protects memory against a hostile peer.
    public var maxDataSegmentLength: Int
    /// Accept only target opcodes (an initiator's view) or only initiator opcodes.
    public var acceptTargetOpcodes: Bool

    public init(headerDigest: Bool = false, dataDigest: Bool = false, maxDataSegmentLength: Int = 8192,
                acceptTargetOpcodes: Bool = true) {
        self.headerDigest = headerDigest
        self.dataDigest = dataDigest
        self.maxDataSegmentLength = maxDataSegmentLength
        self.acceptTargetOpcodes = acceptTargetOpcodes
    }

    /// The whole length on the wire of the PDU starting at the reader index, once its 48-byte
    /// header is readable (nil before). Lets a reader copy only a PDU that straddles reads.
    public func frameLength(of buffer: ByteBuffer) -> Int? {
        guard buffer.readableBytes >= BasicHeaderSegment.size,
              let word4 = buffer.getInteger(at: buffer.readerIndex + 4, as: UInt32.self) else { return nil }
        let ahsLength = Int(word4 >> 24) * 4
        let dataLength = Int(word4 & 0x00ff_ffff)
        let paddedData = (dataLength + 3) & ~3
        return BasicHeaderSegment.size + ahsLength + (headerDigest ? 4 : 0) + paddedData
            + (dataDigest && dataLength > 0 ? 4 : 0)
    }

    /// Returns the next PDU, or nil when more bytes are needed. Throws on a malformed stream; the
    /// connection must then be dropped since framing is lost.
    public mutating func next(from buffer: inout ByteBuffer) throws -> PDU? {
        guard buffer.readableBytes >= BasicHeaderSegment.size else { return nil }
        let start = buffer.readerIndex
        guard let byte0 = buffer.getInteger(at: start, as: UInt8.self),
              let word4 = buffer.getInteger(at: start + 4, as: UInt32.self) else { return nil }
        let rawOpcode = byte0 & 0x3f
        guard let opcode = Opcode(rawValue: rawOpcode) else { throw PDUError.unknownOpcode(rawOpcode) }
        if opcode.isTargetOpcode != acceptTargetOpcodes {
            throw PDUError.unexpectedOpcode(opcode, expected: acceptTargetOpcodes ? "a target PDU" : "an initiator PDU")
        }
        let ahsLength = Int(word4 >> 24) * 4
        let dataLength = Int(word4 & 0x00ff_ffff)
        guard dataLength <= maxDataSegmentLength else {
            throw PDUError.dataSegmentTooLong(length: dataLength, limit: maxDataSegmentLength)
        }
        let paddedData = (dataLength + 3) & ~3
        let headerBytes = BasicHeaderSegment.size + ahsLength
        let total = headerBytes + (headerDigest ? 4 : 0) + paddedData + (dataDigest && dataLength > 0 ? 4 : 0)
        guard buffer.readableBytes >= total else { return nil }

        if headerDigest {
            let computed = buffer.withUnsafeReadableBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[0..<headerBytes])) }
            let received = buffer.getInteger(at: start + headerBytes, endianness: .little, as: UInt32.self)!
            guard computed == received else { throw PDUError.headerDigestMismatch(expected: computed, received: received) }
        }
        if dataDigest && dataLength > 0 {
            let dataStart = headerBytes + (headerDigest ? 4 : 0)
            let computed = buffer.withUnsafeReadableBytes {
                CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[dataStart..<(dataStart + paddedData)]))
            }
            let received = buffer.getInteger(at: start + dataStart + paddedData, endianness: .little, as: UInt32.self)!
            guard computed == received else { throw PDUError.dataDigestMismatch(expected: computed, received: received) }
        }

        var header = BasicHeaderSegment.read(from: &buffer)!
        header.dataSegmentLength = UInt32(dataLength)
        let ahs = ahsLength > 0 ? buffer.readSlice(length: ahsLength) : nil
        if headerDigest { buffer.moveReaderIndex(forwardBy: 4) }
        let data = buffer.readSlice(length: dataLength)!
        buffer.moveReaderIndex(forwardBy: paddedData - dataLength + (dataDigest && dataLength > 0 ? 4 : 0))
        return PDU(header: header, additionalHeader: ahs, data: data)
    }
}

/// Serializes PDUs. Large data segments are not copied: `encode` returns them as their own
/// buffer so the channel can hand header, data and trailer to one writev.
public struct PDUFrameEncoder: Sendable {
    public var headerDigest: Bool
    public var dataDigest: Bool
    /// Data segments up to this size are copied next to the header (one iovec beats three).
    public var copyThreshold = 2048

    public init(headerDigest: Bool = false, dataDigest: Bool = false) {
        self.headerDigest = headerDigest
        self.dataDigest = dataDigest
    }

    /// Header (BHS, AHS, header digest), then the data segment if it is sent separately, then the
    /// trailer (padding and data digest) if any.
    public func encode(_ pdu: PDU, allocator: ByteBufferAllocator) -> (head: ByteBuffer, data: ByteBuffer?, tail: ByteBuffer?) {
        var header = pdu.header
        let ahsLength = pdu.additionalHeader?.readableBytes ?? 0
        precondition(ahsLength % 4 == 0 && ahsLength / 4 <= 255, "AHS must be a multiple of 4 bytes")
        header.totalAHSLength = UInt8(ahsLength / 4)
        let dataLength = pdu.data.readableBytes
        header.dataSegmentLength = UInt32(dataLength)
        let padding = (4 - dataLength % 4) % 4
        let inline = dataLength <= copyThreshold
        var head = allocator.buffer(capacity: 52 + ahsLength + (inline ? dataLength + 8 : 0))
        header.write(to: &head)
        if var ahs = pdu.additionalHeader { head.writeBuffer(&ahs) }
        if headerDigest {
            let crc = head.withUnsafeReadableBytes { CRC32C.checksum($0) }
            head.writeInteger(crc, endianness: .little)
        }
        guard dataLength > 0 else { return (head, nil, nil) }
        let digest: UInt32? = dataDigest ? Self.dataDigest(pdu.data, padding: padding) : nil
        if inline {
            var data = pdu.data
            head.writeBuffer(&data)
            Self.writeTrailer(into: &head, padding: padding, digest: digest)
            return (head, nil, nil)
        }
        var tail = allocator.buffer(capacity: 8)
        Self.writeTrailer(into: &tail, padding: padding, digest: digest)
        return (head, pdu.data, tail.readableBytes > 0 ? tail : nil)
    }

    private static func writeTrailer(into buffer: inout ByteBuffer, padding: Int, digest: UInt32?) {
        if padding > 0 { buffer.writeRepeatingByte(0, count: padding) }
        if let digest { buffer.writeInteger(digest, endianness: .little) }
    }

    /// One contiguous buffer (login, tests).
    public func encodeContiguous(_ pdu: PDU, allocator: ByteBufferAllocator = ByteBufferAllocator()) -> ByteBuffer {
        var (head, data, tail) = encode(pdu, allocator: allocator)
        if var data { head.writeBuffer(&data) }
        if var tail { head.writeBuffer(&tail) }
        return head
    }

    /// CRC32C over the data segment followed by its zero padding.
    static func dataDigest(_ data: ByteBuffer, padding: Int) -> UInt32 {
        var state = CRC32C.initialState
        data.withUnsafeReadableBytes { state = CRC32C.update(state, $0) }
        if padding > 0 {
            let zeros: (UInt32) = 0
            withUnsafeBytes(of: zeros) { state = CRC32C.update(state, UnsafeRawBufferPointer(rebasing: $0[0..<padding])) }
        }
        return CRC32C.finalize(state)
    }
}
