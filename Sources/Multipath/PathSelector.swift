/// A bad selector specification or per-path selector argument.
public struct PathSelectorError: Error, Equatable, Sendable, CustomStringConvertible {
    public let message: String

    public init(_ message: String) { self.message = message }

    public var description: String { message }
}

/// Chooses the path for each IO within one path group, like a dm-mpath path selector.
///
/// Paths are identified by their 0-based index in the group. The caller passes the indices
/// that are usable right now; selectors keep their per-path state (in-flight counts, weights)
/// in arrays indexed the same way. Selection is O(candidates) and allocates nothing.
public protocol PathSelector {
    /// Selector name as written in a table, e.g. "service-time".
    var name: String { get }

    /// Declares path `path` with its per-path table arguments (e.g. `["1"]` or `["1", "4"]`).
    mutating func addPath(_ path: Int, args: [String]) throws(PathSelectorError)

    /// The path for an IO of `bytes` bytes, or nil when `candidates` is empty. Negative indices
    /// are ignored.
    mutating func select<C: Collection>(from candidates: C, bytes: Int) -> Int? where C.Element == Int

    /// An IO of `bytes` bytes was sent down `path`.
    mutating func started(path: Int, bytes: Int)

    /// An IO sent down `path` finished after `latencyNanos`.
    mutating func completed(path: Int, bytes: Int, latencyNanos: UInt64)

    /// IOs currently outstanding on `path`.
    func inFlight(path: Int) -> Int
}

/// Per-path counters shared by the selectors. Arrays grow when a new index is first started
/// or configured, never during selection.
struct PathLoad {
    private(set) var ios: [Int] = []
    private(set) var bytes: [Int] = []
    /// Selection stamp: 0 = never chosen. Lower = chosen longer ago, which reproduces the
    /// kernel's "move the chosen path to the tail of the list" tie-breaking.
    private(set) var lastChosen: [UInt64] = []
    private var clock: UInt64 = 0

    /// Highest path index + 1 a selector tracks: the kernel's paths-per-group limit.
    static let maxPaths = DMMultipathTable.maxPathsPerGroup

    /// Makes room for `path`; false (and no growth) for an index outside 0..<maxPaths.
    @discardableResult
    mutating func ensure(_ path: Int) -> Bool {
        guard path >= 0 && path < Self.maxPaths else { return false }
        guard path >= ios.count else { return true }
        let grow = path + 1 - ios.count
        ios += repeatElement(0, count: grow)
        bytes += repeatElement(0, count: grow)
        lastChosen += repeatElement(0, count: grow)
        return true
    }

    func ios(_ path: Int) -> Int { path < ios.count ? ios[path] : 0 }
    func bytes(_ path: Int) -> Int { path < bytes.count ? bytes[path] : 0 }
    func stamp(_ path: Int) -> UInt64 { path < lastChosen.count ? lastChosen[path] : 0 }

    mutating func chose(_ path: Int) {
        guard ensure(path) else { return }
        clock &+= 1
        lastChosen[path] = clock
    }

    mutating func start(_ path: Int, bytes size: Int) {
        guard ensure(path) else { return }
        ios[path] += 1
        let (sum, overflow) = bytes[path].addingReportingOverflow(max(0, size))
        bytes[path] = overflow ? Int.max : sum
    }

    mutating func finish(_ path: Int, bytes size: Int) {
        guard path >= 0, path < ios.count else { return }
        ios[path] = max(0, ios[path] - 1)
        bytes[path] = max(0, bytes[path] - max(0, size))
    }

    /// True when `a` was chosen longer ago than `b` (ties by lower index), i.e. `a` comes
    /// first in the kernel's list order.
    func earlier(_ a: Int, than b: Int) -> Bool {
        let sa = stamp(a), sb = stamp(b)
        return sa != sb ? sa < sb : a < b
    }
}

/// Reads the optional `<repeat_count>` first path argument shared by all kernel selectors.
private func parseRepeatCount(from args: [String], selector: String, maxArgs: Int) throws(PathSelectorError) -> Int? {
    guard args.count <= maxArgs else {
        throw PathSelectorError("\(selector): at most \(maxArgs) path args, found \(args.count)")
    }
    guard let first = args.first else { return nil }
    guard let value = DMWordReader.decimal(Substring(first)) else {
        throw PathSelectorError("\(selector): invalid repeat count '\(first)'")
    }
    return value
}

/// "round-robin": paths in turn, each used for `repeatCount` IOs before moving on
/// (multipath.conf `rr_min_io_rq`). The kernel forces the count to 1; in userspace it is honoured.
public struct RoundRobinSelector: PathSelector {
    public var name: String { "round-robin" }
    /// IOs per turn for paths without their own repeat count.
    public let repeatCount: Int
    private var perPathRepeat: [Int] = []
    private var current = -1
    private var remaining = 0
    private var load = PathLoad()

    public init(repeatCount: Int = 1) {
        self.repeatCount = max(1, repeatCount)
    }

    public mutating func addPath(_ path: Int, args: [String]) throws(PathSelectorError) {
        guard path >= 0 && path < PathLoad.maxPaths else {
            throw PathSelectorError("round-robin: path index \(path) out of range 0..<\(PathLoad.maxPaths)")
        }
        let count = try parseRepeatCount(from: args, selector: name, maxArgs: 1)
        if path >= perPathRepeat.count {
            perPathRepeat += repeatElement(0, count: path + 1 - perPathRepeat.count)
        }
        perPathRepeat[path] = count ?? 0
        load.ensure(path)
    }

    private func turnLength(_ path: Int) -> Int {
        let own = path < perPathRepeat.count ? perPathRepeat[path] : 0
        return own > 0 ? own : repeatCount
    }

    public mutating func select<C: Collection>(from candidates: C, bytes: Int) -> Int? where C.Element == Int {
        if current >= 0 && remaining > 0 && candidates.contains(current) {
            remaining -= 1
            return current
        }
        // Next index after the current one, wrapping to the lowest.
        var next = Int.max
        var lowest = Int.max
        for candidate in candidates where candidate >= 0 {
            if candidate > current && candidate < next { next = candidate }
            if candidate < lowest { lowest = candidate }
        }
        let chosen = next != Int.max ? next : lowest
        guard chosen != Int.max else { return nil }
        current = chosen
        remaining = turnLength(chosen) - 1
        return chosen
    }

    public mutating func started(path: Int, bytes: Int) { load.start(path, bytes: bytes) }
    public mutating func completed(path: Int, bytes: Int, latencyNanos: UInt64) { load.finish(path, bytes: bytes) }
    public func inFlight(path: Int) -> Int { load.ios(path) }
}

/// "queue-length": the path with the fewest IOs in flight; ties go to the path chosen longest
/// ago, as the kernel's list rotation does.
public struct QueueLengthSelector: PathSelector {
    public var name: String { "queue-length" }
    private var load = PathLoad()

    public init() {}

    public mutating func addPath(_ path: Int, args: [String]) throws(PathSelectorError) {
        guard path >= 0 && path < PathLoad.maxPaths else {
            throw PathSelectorError("queue-length: path index \(path) out of range 0..<\(PathLoad.maxPaths)")
        }
        _ = try parseRepeatCount(from: args, selector: name, maxArgs: 1)
        load.ensure(path)
    }

    public mutating func select<C: Collection>(from candidates: C, bytes: Int) -> Int? where C.Element == Int {
        var best = -1
        for candidate in candidates where candidate >= 0 {
            if best < 0 {
                best = candidate
                continue
            }
            let q = load.ios(candidate), qb = load.ios(best)
            if q < qb || (q == qb && load.earlier(candidate, than: best)) { best = candidate }
        }
        guard best >= 0 else { return nil }
        load.chose(best)
        return best
    }

    public mutating func started(path: Int, bytes: Int) { load.start(path, bytes: bytes) }
    public mutating func completed(path: Int, bytes: Int, latencyNanos: UInt64) { load.finish(path, bytes: bytes) }
    public func inFlight(path: Int) -> Int { load.ios(path) }
}

/// "service-time": the path with the least estimated service time
/// `(in-flight bytes + this IO) / relative_throughput`, compared like the kernel's
/// `st_compare_load`: equal throughput → fewer bytes; equal bytes or a zero throughput → higher
/// throughput; otherwise cross-multiplied estimates, then higher throughput; remaining ties go
/// to the path chosen longest ago. A faster path finishes its IO sooner, so it carries fewer
/// bytes and gets more of the load.
public struct ServiceTimeSelector: PathSelector {
    public var name: String { "service-time" }
    /// Kernel limit for `relative_throughput`.
    public static let maxRelativeThroughput = 100
    private var throughput: [Int] = []
    private var load = PathLoad()

    public init() {}

    /// Per-path args `[<repeat_count> [<relative_throughput 0-100>]]`; throughput defaults to 1.
    public mutating func addPath(_ path: Int, args: [String]) throws(PathSelectorError) {
        guard path >= 0 && path < PathLoad.maxPaths else {
            throw PathSelectorError("service-time: path index \(path) out of range 0..<\(PathLoad.maxPaths)")
        }
        _ = try parseRepeatCount(from: args, selector: name, maxArgs: 2)
        var value = 1
        if args.count == 2 {
            guard let parsed = DMWordReader.decimal(Substring(args[1])), parsed <= Self.maxRelativeThroughput else {
                throw PathSelectorError("service-time: invalid relative_throughput '\(args[1])', expected 0...100")
            }
            value = parsed
        }
        setRelativeThroughput(value, for: path)
    }

    /// Sets a path's relative throughput (clamped to 0...100).
    public mutating func setRelativeThroughput(_ value: Int, for path: Int) {
        guard path >= 0 && path < PathLoad.maxPaths else { return }
        if path >= throughput.count {
            throughput += repeatElement(1, count: path + 1 - throughput.count)
        }
        throughput[path] = min(max(0, value), Self.maxRelativeThroughput)
        load.ensure(path)
    }

    private func relativeThroughput(_ path: Int) -> Int {
        path < throughput.count ? throughput[path] : 1
    }

    /// Negative when `a` is the better path for an IO of `incoming` bytes.
    func compareLoad(_ a: Int, _ b: Int, incoming: Int) -> Int {
        let sizeA = load.bytes(a), sizeB = load.bytes(b)
        let tpA = relativeThroughput(a), tpB = relativeThroughput(b)
        if tpA == tpB { return sizeA < sizeB ? -1 : (sizeA > sizeB ? 1 : 0) }
        if sizeA == sizeB || tpA == 0 || tpB == 0 { return tpB - tpA }
        // (sizeA + incoming) / tpA  vs  (sizeB + incoming) / tpB, without division or overflow.
        let extra = UInt64(max(0, incoming))
        let lhs = (UInt64(sizeA) &+ extra).multipliedFullWidth(by: UInt64(tpB))
        let rhs = (UInt64(sizeB) &+ extra).multipliedFullWidth(by: UInt64(tpA))
        if lhs.high != rhs.high { return lhs.high < rhs.high ? -1 : 1 }
        if lhs.low != rhs.low { return lhs.low < rhs.low ? -1 : 1 }
        return tpB - tpA
    }

    public mutating func select<C: Collection>(from candidates: C, bytes: Int) -> Int? where C.Element == Int {
        var best = -1
        for candidate in candidates where candidate >= 0 {
            if best < 0 {
                best = candidate
                continue
            }
            let order = compareLoad(candidate, best, incoming: bytes)
            if order < 0 || (order == 0 && load.earlier(candidate, than: best)) { best = candidate }
        }
        guard best >= 0 else { return nil }
        load.chose(best)
        return best
    }

    public mutating func started(path: Int, bytes: Int) { load.start(path, bytes: bytes) }
    public mutating func completed(path: Int, bytes: Int, latencyNanos: UInt64) { load.finish(path, bytes: bytes) }
    public func inFlight(path: Int) -> Int { load.ios(path) }
    /// Bytes currently outstanding on `path`.
    public func inFlightBytes(path: Int) -> Int { load.bytes(path) }
}

/// Builds a selector from a multipath.conf / table spec: "round-robin 0", "queue-length 0",
/// "service-time 0" (the number is the count of selector arguments that follow; none of these
/// selectors takes any). `repeatCount` is `rr_min_io_rq` for round-robin.
public func makeSelector(_ spec: String, repeatCount: Int = 1) throws(PathSelectorError) -> any PathSelector {
    let words = DMWordReader.trimmed(spec).split(whereSeparator: { $0 == " " || $0 == "\t" })
    guard let name = words.first else {
        throw PathSelectorError("path selector: empty specification")
    }
    if words.count > 1 {
        guard let count = DMWordReader.decimal(words[1]) else {
            throw PathSelectorError("path selector: expected argument count after '\(name)', found '\(DMWordReader.shortened(words[1]))'")
        }
        guard count == words.count - 2 else {
            throw PathSelectorError("path selector: '\(name)' declares \(count) args, found \(words.count - 2)")
        }
        guard count == 0 else {
            throw PathSelectorError("path selector: '\(name)' takes no selector args, found \(count)")
        }
    }
    switch name {
    case "round-robin": return RoundRobinSelector(repeatCount: repeatCount)
    case "queue-length": return QueueLengthSelector()
    case "service-time": return ServiceTimeSelector()
    default:
        throw PathSelectorError(
            "path selector: unknown selector '\(DMWordReader.shortened(name))', expected round-robin, queue-length or service-time")
    }
}
