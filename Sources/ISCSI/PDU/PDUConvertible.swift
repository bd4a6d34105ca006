import NIOCore

/// A typed view of one opcode's PDU. `init(pdu:)` checks the opcode; `pdu()` builds the wire form.
public protocol PDUConvertible: Sendable {
    static var opcode: Opcode { get }
    init(header: BasicHeaderSegment, data: ByteBuffer) throws
    func pdu() -> PDU
}

extension PDUConvertible {
    public init(pdu: PDU) throws {
        guard pdu.header.opcodeRaw == Self.opcode.rawValue else {
            throw PDUError.unexpectedOpcode(pdu.opcode ?? .reject, expected: Self.opcode.description)
        }
        try self.init(header: pdu.header, data: pdu.data)
    }
}

@inline(__always) func high16(_ word: UInt32) -> UInt16 { UInt16(word >> 16) }
@inline(__always) func low16(_ word: UInt32) -> UInt16 { UInt16(truncatingIfNeeded: word) }
@inline(__always) func words(_ high: UInt16, _ low: UInt16) -> UInt32 { UInt32(high) << 16 | UInt32(low) }
