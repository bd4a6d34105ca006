/// RFC 1982 serial number arithmetic on 32-bit sequence numbers (CmdSN, StatSN, DataSN…),
/// so that comparisons stay right across wrap-around.
public enum SerialNumber {
    @inline(__always) public static func lessThan(_ a: UInt32, _ b: UInt32) -> Bool {
        a != b && (b &- a) < 0x8000_0000
    }
    @inline(__always) public static func lessOrEqual(_ a: UInt32, _ b: UInt32) -> Bool {
        a == b || lessThan(a, b)
    }
}

/// The command window (RFC 7143 §4.2.2.1): a non-immediate command with CmdSN may be sent iff
/// ExpCmdSN ≤ CmdSN ≤ MaxCmdSN. MaxCmdSN = ExpCmdSN − 1 means the window is closed.
public struct CommandWindow: Sendable, Equatable {
    /// Next CmdSN to assign.
    public private(set) var cmdSN: UInt32
    public private(set) var expCmdSN: UInt32
    public private(set) var maxCmdSN: UInt32

    public init(initialCmdSN: UInt32, expCmdSN: UInt32, maxCmdSN: UInt32) {
        self.cmdSN = initialCmdSN
        self.expCmdSN = expCmdSN
        self.maxCmdSN = maxCmdSN
    }

    public var isOpen: Bool { SerialNumber.lessOrEqual(cmdSN, maxCmdSN) }

    /// How many more non-immediate commands may be sent now.
    public var available: Int {
        isOpen ? Int(maxCmdSN &- cmdSN) + 1 : 0
    }

    /// Takes the next CmdSN for a non-immediate command. Caller checks `isOpen`.
    public mutating func consume() -> UInt32 {
        defer { cmdSN &+= 1 }
        return cmdSN
    }

    /// The CmdSN an immediate command carries (not advanced).
    public var immediateCmdSN: UInt32 { cmdSN }

    /// Applies ExpCmdSN/MaxCmdSN from a target PDU. Per the RFC, values are ignored when
    /// MaxCmdSN < ExpCmdSN − 1, and only ever move forward.
    public mutating func update(expCmdSN newExp: UInt32, maxCmdSN newMax: UInt32) {
        guard SerialNumber.lessOrEqual(newExp &- 1, newMax) else { return }
        if SerialNumber.lessThan(expCmdSN, newExp) { expCmdSN = newExp }
        if SerialNumber.lessThan(maxCmdSN, newMax) { maxCmdSN = newMax }
    }
}
