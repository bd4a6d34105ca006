/// Byte-range locks that order read-modify-write cycles against other writes
/// without blocking any thread: a request that cannot be granted is queued
/// with a payload (its continuation) that `release` hands back once it may run.
///
/// Aligned writes take shared locks (they may overlap each other, as on any
/// block device); a read-modify-write takes an exclusive lock so no other
/// write can land between its read and its write-back. Waiters are granted
/// in FIFO order among conflicting requests, so exclusive requests cannot starve.
/// Not thread-safe by itself: callers keep it in a `Locked`.
struct RangeLockTable<Payload> {
    /// Identifies a granted or queued request.
    struct Ticket: Hashable {
        fileprivate let id: UInt64
    }

    enum Mode {
        case shared
        case exclusive
    }

    private struct Request {
        let id: UInt64
        let range: Range<UInt64>
        let mode: Mode
        let payload: Payload?

        func conflicts(with other: Request) -> Bool {
            (mode == .exclusive || other.mode == .exclusive) && range.overlaps(other.range)
        }
    }

    private var nextID: UInt64 = 0
    private var holders: [UInt64: Request] = [:]
    private var waiters: [Request] = []
    private var exclusiveCount = 0

    init() {}

    /// Number of granted locks.
    var heldCount: Int { holders.count }
    /// Number of queued requests.
    var waitingCount: Int { waiters.count }

    /// Requests a lock. Returns the ticket and whether it was granted now;
    /// if not, `payload` comes back from a later `release`.
    mutating func acquire(_ range: Range<UInt64>, mode: Mode, payload: Payload) -> (ticket: Ticket, granted: Bool) {
        nextID += 1
        let request = Request(id: nextID, range: range, mode: mode, payload: payload)
        if mode == .exclusive {
            exclusiveCount += 1
        }
        // Fast path: with no exclusive lock anywhere, shared locks never conflict.
        let mustCheck = exclusiveCount > 0
        if !mustCheck || canGrant(request, ahead: waiters[...]) {
            holders[request.id] = Request(id: request.id, range: range, mode: mode, payload: nil)
            return (Ticket(id: request.id), true)
        }
        waiters.append(request)
        return (Ticket(id: request.id), false)
    }

    /// Releases a granted lock and returns the payloads of the requests that
    /// are granted as a result, in the order they were queued.
    mutating func release(_ ticket: Ticket) -> [Payload] {
        guard let released = holders.removeValue(forKey: ticket.id) else { return [] }
        if released.mode == .exclusive {
            exclusiveCount -= 1
        }
        guard !waiters.isEmpty else { return [] }
        var granted: [Payload] = []
        var stillWaiting: [Request] = []
        for waiter in waiters {
            if canGrant(waiter, ahead: stillWaiting[...]) {
                holders[waiter.id] = Request(id: waiter.id, range: waiter.range, mode: waiter.mode, payload: nil)
                if let payload = waiter.payload {
                    granted.append(payload)
                }
            } else {
                stillWaiting.append(waiter)
            }
        }
        waiters = stillWaiting
        return granted
    }

    private func canGrant(_ request: Request, ahead: ArraySlice<Request>) -> Bool {
        for holder in holders.values where holder.conflicts(with: request) {
            return false
        }
        for waiter in ahead where waiter.conflicts(with: request) {
            return false
        }
        return true
    }
}
