/// Why a PDU could not be decoded or accepted. Every case names what was wrong.
public enum PDUError: Error, Equatable, CustomStringConvertible {
    case unknownOpcode(UInt8)
    case unexpectedOpcode(Opcode, expected: String)
    case dataSegmentTooLong(length: Int, limit: Int)
    case headerDigestMismatch(expected: UInt32, received: UInt32)
    case dataDigestMismatch(expected: UInt32, received: UInt32)
    case invalidField(opcode: Opcode, field: String, reason: String)

    public var description: String {
        switch self {
        case .unknownOpcode(let op):
            return "PDU with unknown opcode 0x\(String(op, radix: 16))"
        case .unexpectedOpcode(let op, let expected):
            return "unexpected \(op) PDU (expected \(expected))"
        case .dataSegmentTooLong(let length, let limit):
            return "PDU data segment of \(length) bytes exceeds the negotiated limit of \(limit) bytes"
        case .headerDigestMismatch(let e, let r):
            return "header digest mismatch (computed 0x\(String(e, radix: 16)), received 0x\(String(r, radix: 16)))"
        case .dataDigestMismatch(let e, let r):
            return "data digest mismatch (computed 0x\(String(e, radix: 16)), received 0x\(String(r, radix: 16)))"
        case .invalidField(let op, let field, let reason):
            return "invalid \(op) PDU: \(field) \(reason)"
        }
    }
}
