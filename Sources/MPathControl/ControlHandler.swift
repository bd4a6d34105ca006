/// Who is on the other end of a control connection (SO_PEERCRED, read when it connected).
public struct PeerCredentials: Equatable, Sendable {
    public var pid: Int32
    public var uid: UInt32
    public var gid: UInt32

    public init(pid: Int32, uid: UInt32, gid: UInt32) {
        self.pid = pid
        self.uid = uid
        self.gid = gid
    }
}

/// Answers control requests; the daemon implements it. Requests from one connection arrive one
/// at a time, in order; different connections call it concurrently.
public protocol ControlHandler: Sendable {
    func handle(_ request: ControlRequest, peer: PeerCredentials) async -> ControlResponse
}
