/// ISID construction (RFC 7143 §11.12.5). Each path gets its own ISID, derived from what the path
/// is, so that a relogin after a failure reuses it and the target reinstates (cleans up) the old
/// session instead of keeping a stale one alive.
public enum SessionIdentity {
    /// Type 10b "random" format: T=2, A=0, B and C from a stable hash, D = qualifier.
    public static func isid(initiator: String, target: String, portal: String, iface: String, qualifier: UInt16 = 0) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325  // FNV-1a
        for byte in "\(initiator)|\(target)|\(portal)|\(iface)".utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01b3
        }
        let bc = (hash ^ (hash >> 24)) & 0xff_ffff
        return 0x80 << 40 | bc << 16 | UInt64(qualifier)
    }

    /// The hex form open-iscsi prints (`isid 80abcdef0000`).
    public static func format(_ isid: UInt64) -> String {
        let hex = String(isid & 0xffff_ffff_ffff, radix: 16)
        return String(repeating: "0", count: max(0, 12 - hex.count)) + hex
    }
}
