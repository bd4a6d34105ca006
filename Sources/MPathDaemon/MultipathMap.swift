import BlockExport
import Foundation
import ISCSI
import Logging
import MPathConfig
import MPathMetrics
import Multipath
import NIOConcurrencyHelpers
import NIOCore
import SCSI

/// What the map tells its owner: a path it failed (so the session can be checked and
/// recovered) and SCSI events (capacity changed, LUNs changed).
protocol MapEventSink: AnyObject, Sendable {
    func map(_ map: MultipathMap, failedPath path: MapPath, reason: String, transport: Bool)
    func map(_ map: MultipathMap, path: MapPath, reported event: SCSIEvent)
}

/// One multipath device: the paths that reach one WWID, grouped by policy, with a path selector.
/// It is the block backend the FUSE file calls; every IO goes down the path the selector picks
/// and, when that path fails, is sent again on another one.
final class MultipathMap: MapIOTarget, @unchecked Sendable {
    let name: String
    let wwid: String
    let policy: MapPolicy
    let pollingInterval: Int
    let vendor: String
    let product: String
    let blockSize: Int
    private let eventLoop: EventLoop
    private let logger: Logger
    private let metrics: DaemonMetrics?
    weak var events: MapEventSink?
    /// Told when a path leaves or returns to service (the dm data plane sends fail_path /
    /// reinstate_path to the kernel map).
    var onPathState: ((MapPath, _ active: Bool) -> Void)?

    private let lock = NIOLock()
    // Guarded by `lock`.
    private var paths: [MapPath] = []
    private var groups: [PathGrouping] = []
    private var groupSelector = GroupSelector(groupCount: 0)
    private var selector: any Multipath.PathSelector
    private var currentSize: UInt64
    private var queued: [MapIO] = []
    private var noPathTimer: Scheduled<Void>?
    /// no_path_retry ran out: IO fails at once until a path comes back.
    private var queueingExpired = false
    private var stopped = false
    private var lastGroup: Int?
    /// The device the map is attached to (`/dev/loopN`), for status.
    var device = "-"

    init(name: String, wwid: String, policy: MapPolicy, pollingInterval: Int, vendor: String, product: String,
         blockSize: Int, sizeBytes: UInt64, eventLoop: EventLoop, metrics: DaemonMetrics?, logger: Logger) throws {
        self.name = name
        self.wwid = wwid
        self.policy = policy
        self.pollingInterval = pollingInterval
        self.vendor = vendor
        self.product = product
        self.blockSize = blockSize
        self.currentSize = sizeBytes
        self.eventLoop = eventLoop
        self.metrics = metrics
        var mapLogger = logger
        mapLogger[metadataKey: "map"] = "\(name)"
        self.logger = mapLogger
        do {
            selector = try makeSelector(policy.pathSelector.rawValue, repeatCount: policy.rrMinIORq)
        } catch {
            throw DaemonError("map \(name): path_selector '\(policy.pathSelector.rawValue)': \(error)")
        }
    }

    // MARK: - BlockBackend

    var sizeBytes: UInt64 { lock.withLock { currentSize } }

    /// Largest transfer in blocks the LUN takes in one command (VPD B0), capped at 8 MiB;
    /// recomputed when paths change, read per IO.
    private var maxTransferBlocks: UInt32 = 0

    private func recomputeLimits() {
        maxTransferBlocks = IOLimits.transferBlocks(blockSize: blockSize, paths.map(\.identity))
    }

    /// Block limits the shared IO splitting reads (`MapIOTarget`).
    var transferLimitBlocks: UInt32 { lock.withLock { maxTransferBlocks } }

    var unmapLimit: (supported: Bool, maxBlocks: UInt64) {
        lock.withLock {
            (paths.first?.identity.provisioning?.lbpu ?? false, IOLimits.unmapBlocks(paths.map(\.identity)))
        }
    }

    var unitName: String { "LUN \(wwid)" }

    // MARK: - Paths

    func add(_ path: MapPath) {
        lock.withLock {
            path.index = paths.count
            paths.append(path)
            regroup()
            recomputeLimits()
        }
        metrics?.setPathState(path: path.name, map: name, active: true)
        drainQueueIfPossible()
    }

    func remove(_ path: MapPath) {
        lock.withLock {
            paths.removeAll { $0 === path }
            for (i, p) in paths.enumerated() { p.index = i }
            regroup()
            recomputeLimits()
        }
        metrics?.removePath(path: path.name)
    }

    var pathList: [MapPath] { lock.withLock { paths } }

    /// Rebuilds groups and the selector after the path set changed. Caller holds the lock.
    private func regroup() {
        let grouping = paths.map { GroupingPath(priority: 1, usable: $0.usable) }
        let policyName = Multipath.PathGroupingPolicy(rawValue: policy.pathGroupingPolicy.rawValue) ?? .failover
        groups = policyName.group(grouping)
        let keep = groupSelector.currentGroup.flatMap { current in
            lastGroup == current ? groups.firstIndex { $0.members.contains { m in paths[m].usable } } : nil
        }
        groupSelector = GroupSelector(groupCount: groups.count, initialGroup: keep ?? GroupSelector.bestGroup(groups))
        if var fresh = try? makeSelector(policy.pathSelector.rawValue, repeatCount: policy.rrMinIORq) {
            for p in paths { try? fresh.addPath(p.index, args: ["1"]) }
            selector = fresh
        }
    }

    /// Takes a path out of service. `administrative` (fail-path) keeps it out until reinstated.
    func fail(_ path: MapPath, reason: String, administrative: Bool = false, transport: Bool = false) {
        let changed: Bool = lock.withLock {
            if administrative { path.administrativelyFailed = true }
            guard path.dmState == .active else { return false }
            path.dmState = .failed
            path.failCount += 1
            if transport { path.checker = .faulty }
            return true
        }
        if changed {
            logger.warning("path failed", metadata: ["path": "\(path.name)", "reason": "\(reason)"])
            metrics?.setPathState(path: path.name, map: name, active: false)
            publishState()
            onPathState?(path, false)
            events?.map(self, failedPath: path, reason: reason, transport: transport)
        }
    }

    /// Puts a path back in service with a (new) connection; queued IO resumes.
    func reinstate(_ path: MapPath, connection: ISCSIConnection?, administrative: Bool = false) {
        let changed: Bool = lock.withLock {
            if administrative { path.administrativelyFailed = false }
            if let connection { path.connection = connection }
            path.checker = .ready
            guard path.dmState == .failed, path.connection != nil, !path.administrativelyFailed else { return false }
            path.dmState = .active
            // A failover map goes back to the best group per failback; here: immediate/manual
            // both keep the current group while it works (dm semantics), the checker decides.
            if case .immediate = policy.failback { groupSelector.switchGroup(GroupSelector.bestGroup(currentGroups())) }
            return true
        }
        if changed {
            logger.notice("path reinstated", metadata: ["path": "\(path.name)"])
            metrics?.setPathState(path: path.name, map: name, active: true)
            publishState()
            onPathState?(path, true)
        }
        drainQueueIfPossible()
    }

    private func currentGroups() -> [PathGrouping] {
        groups.map { g in
            PathGrouping(members: g.members, of: paths.map { GroupingPath(priority: 1, usable: $0.usable) })
        }
    }

    /// A recovered session's connection, kept for a path that is not back in service yet.
    func setConnection(_ path: MapPath, _ connection: ISCSIConnection) {
        lock.withLock { path.connection = connection }
    }

    func setChecker(_ path: MapPath, _ state: CheckerState) {
        lock.withLock { path.checker = state }
        metrics?.setPathChecker(path: path.name, state: state.rawValue)
    }

    func path(named name: String) -> MapPath? { lock.withLock { paths.first { $0.name == name } } }

    /// The path's session connection, or nil while it is down (its own device fails IO then).
    func connection(of path: MapPath) -> ISCSIConnection? { lock.withLock { path.connection } }

    func capacity(of path: MapPath) -> LogicalUnit.Capacity { lock.withLock { path.capacity } }

    func setBlockDevice(_ path: MapPath, _ device: (node: String, number: String)?) { lock.withLock { path.blockDevice = device } }

    func blockDevice(of path: MapPath) -> (node: String, number: String)? { lock.withLock { path.blockDevice } }

    /// Out of service, and not by an operator's fail-path.
    func isFailed(_ path: MapPath) -> Bool { lock.withLock { path.dmState == .failed && !path.administrativelyFailed } }

    /// `switch_group N` (1-based).
    func switchGroup(_ number: Int) throws {
        try lock.withLock {
            guard number >= 1 && number <= groups.count else {
                throw DaemonError("map \(name) has \(groups.count) path group(s); there is no group \(number)")
            }
            groupSelector.switchGroup(number - 1)
        }
    }

    var health: MapHealth { view().health }

    private func publishState() {
        let (active, total) = lock.withLock { (paths.filter(\.usable).count, paths.count) }
        metrics?.setMapPaths(map: name, active: active, total: total)
        metrics?.setMapState(map: name, state: active == 0 ? "down" : (active == total ? "healthy" : "degraded"))
    }

    // MARK: - IO routing

    func dispatch(_ io: MapIO) {
        enum Decision { case send(MapPath, ISCSIConnection), queue, fail(String) }
        let decision: Decision = lock.withLock {
            if stopped { return .fail("map \(name) is shutting down") }
            let chosenGroup = groupSelector.choose { g in groups[g].members.contains { paths[$0].usable } }
            guard let group = chosenGroup else {
                if !policy.queueIfNoPath || queueingExpired { return .fail("map \(name) has no active path") }
                queued.append(io)
                return .queue
            }
            if let last = lastGroup, last != group { metrics?.recordFailover(map: name, from: String(last + 1), to: String(group + 1)) }
            lastGroup = group
            let members = groups[group].members
            let fresh = members.lazy.filter { self.paths[$0].usable && !io.triedPaths.contains($0) }
            let pick = fresh.isEmpty
                ? selector.select(from: members.lazy.filter { self.paths[$0].usable }, bytes: io.byteCount)
                : selector.select(from: fresh, bytes: io.byteCount)
            guard let index = pick, let connection = paths[index].connection else { return .fail("map \(name): no path selected") }
            selector.started(path: index, bytes: io.byteCount)
            return .send(paths[index], connection)
        }
        switch decision {
        case .fail(let why):
            io.finish(.failure(.io(why)))
        case .queue:
            logger.debug("IO queued: no path", metadata: ["lba": "\(io.lba)", "attempts": "\(io.attempts)"])
            startNoPathTimerIfNeeded()
        case .send(let path, let connection):
            let request: SCSITaskRequest
            do { request = try io.request(lun: path.samLUN) } catch {
                io.finish(.failure(.io("\(error)")))
                return
            }
            let start = NIODeadline.now()
            logger.trace("IO sent", metadata: ["lba": "\(io.lba)", "path": "\(path.name)", "attempts": "\(io.attempts)"])
            connection.execute(request) { [self] result in
                complete(io, on: path, startedAt: start, result)
            }
        }
    }

    private func complete(_ io: MapIO, on path: MapPath, startedAt: NIODeadline,
                          _ result: Result<SCSITaskResponse, ISCSITaskError>) {
        let latency = UInt64(max(0, (NIODeadline.now() - startedAt).nanoseconds))
        let good: Bool
        if case .success(let response) = result { good = response.isGood } else { good = false }
        lock.withLock {
            selector.completed(path: path.index, bytes: io.byteCount, latencyNanos: latency)
            if good {
                path.ioCount += 1
                path.bytes += UInt64(io.byteCount)
            }
        }
        switch result {
        case .success(let response) where response.isGood:
            path.session.recordLatency(nanoseconds: latency)
            metrics?.recordIO(path: path.name, map: name, bytes: io.byteCount, write: io.isWrite)
            io.finish(.success(response.data))
        case .success(let response):
            let sense = response.sense.flatMap { try? SenseData(bytes: $0) }
            let status = SCSIStatus(rawValue: response.status)
            let what = "\(status)" + (sense.map { ": \($0)" } ?? "")
            switch SCSIDisposition.classify(status: status, sense: sense) {
            case .success:
                io.finish(.success(response.data))
            case .retrySamePath(let reason, let backoff):
                retry(io, after: backoff ? .milliseconds(Int64(20 * (io.attempts + 1))) : .zero, reason: reason)
            case .retryOtherPath(let reason):
                io.triedPaths.insert(path.index)
                fail(path, reason: "\(reason) (\(what))")
                retry(io, reason: reason)
            case .failIO(let reason):
                countError(path)
                logger.error("IO failed", metadata: ["path": "\(path.name)", "lba": "\(io.lba)", "error": "\(what)"])
                io.finish(.failure(Self.blockError(status: status, sense: sense, reason: reason)))
            case .event(let event, let thenRetry):
                events?.map(self, path: path, reported: event)
                if thenRetry { retry(io, reason: "\(event)") } else { io.finish(.failure(.io(what))) }
            }
        case .failure(let error):
            switch error {
            case .rejected(let reason) where reason == 0x05 || reason == 0x09:
                // The target refuses this command itself: another path would refuse it too.
                countError(path)
                io.finish(.failure(.io("\(error)")))
            default:
                io.triedPaths.insert(path.index)
                fail(path, reason: "\(error)", transport: true)
                retry(io, reason: "\(error)")
            }
        }
    }

    private func countError(_ path: MapPath) {
        lock.withLock { path.errors += 1 }
        metrics?.recordIOError(path: path.name, map: name)
    }

    private func retry(_ io: MapIO, after delay: TimeAmount = .zero, reason: String) {
        io.attempts += 1
        let limit = lock.withLock { max(8, paths.count * 4) }
        logger.debug("IO retry", metadata: ["lba": "\(io.lba)", "attempts": "\(io.attempts)", "reason": "\(reason)"])
        guard io.attempts <= limit else {
            io.finish(.failure(.io("map \(name): giving up after \(io.attempts) attempts (\(reason))")))
            return
        }
        metrics?.recordRetry(map: name)
        if delay == .zero {
            dispatch(io)
        } else {
            eventLoop.scheduleTask(in: delay) { self.dispatch(io) }
        }
    }

    static func blockError(status: SCSIStatus, sense: SenseData?, reason: String) -> BlockIOError {
        if sense?.senseKey == .dataProtect { return BlockIOError(errno: EROFS, message: reason) }
        if sense?.senseKey == .illegalRequest && sense?.asc == 0x21 { return BlockIOError(errno: ENOSPC, message: reason) }
        if status == .reservationConflict { return BlockIOError(errno: EBADE, message: reason) }
        return .io(reason)
    }

    // MARK: - No path

    private func startNoPathTimerIfNeeded() {
        let seconds: Int? = lock.withLock {
            guard noPathTimer == nil else { return nil }
            switch policy.noPathRetry {
            case .retries(let n): return max(1, n) * pollingInterval
            case .queue, .fail: return nil
            }
        }
        guard let seconds else { return }
        logger.warning("no path left: queueing IO", metadata: ["for": "\(seconds) s"])
        let timer = eventLoop.scheduleTask(in: .seconds(Int64(seconds))) { [self] in
            failQueued(reason: "no path for \(seconds) s (no_path_retry \(policy.noPathRetry))", expire: true)
        }
        lock.withLock { noPathTimer = timer }
    }

    /// Fails every queued IO. With `expire`, IO keeps failing until a path returns.
    func failQueued(reason: String, expire: Bool) {
        let victims: [MapIO] = lock.withLock {
            if expire { queueingExpired = true }
            noPathTimer = nil
            defer { queued.removeAll() }
            return queued
        }
        if !victims.isEmpty { logger.error("failing queued IO", metadata: ["count": "\(victims.count)", "reason": "\(reason)"]) }
        for io in victims { io.finish(.failure(.io("map \(name): \(reason)"))) }
    }

    private func drainQueueIfPossible() {
        let resumed: [MapIO] = lock.withLock {
            guard paths.contains(where: \.usable) else { return [] }
            queueingExpired = false
            noPathTimer?.cancel()
            noPathTimer = nil
            defer { queued.removeAll() }
            return queued
        }
        if !resumed.isEmpty { logger.notice("path back: resuming queued IO", metadata: ["count": "\(resumed.count)"]) }
        for io in resumed { dispatch(io) }
    }

    var queuedCount: Int { lock.withLock { queued.count } }

    /// Stops taking IO; what is queued fails.
    func stop(reason: String) {
        lock.withLock { stopped = true }
        failQueued(reason: reason, expire: true)
    }

    // MARK: - Views

    func updateSize(_ bytes: UInt64) { lock.withLock { currentSize = bytes } }

    func setCapacity(_ path: MapPath, _ capacity: LogicalUnit.Capacity) { lock.withLock { path.capacity = capacity } }

    func isActive(_ path: MapPath) -> Bool { lock.withLock { path.usable } }

    func view() -> MapView {
        lock.withLock {
            let groupViews = groups.enumerated().map { (g, grouping) -> PathGroupView in
                let state = groupSelector.state(of: g)
                let status: PathGroupStatus = state == .disabled ? .disabled
                    : (groupSelector.currentGroup == g || (groupSelector.currentGroup == nil && g == GroupSelector.bestGroup(groups)) ? .active : .enabled)
                let pathViews = grouping.members.map { index -> PathView in
                    let p = paths[index]
                    return PathView(id: PathID(name: p.name, id: "\(p.session.record.portal)-\(p.session.record.targetName)-lun-\(p.lun)"),
                                    device: p.blockDevice?.number ?? p.name, portal: p.session.portalText, iface: p.session.record.iface,
                                    target: p.session.record.targetName, lun: Int(p.lun),
                                    dmState: p.usable ? .active : .failed, checker: p.checker,
                                    deviceState: p.connection == nil ? .offline : .running, priority: 1,
                                    nopRTTMicros: p.session.lastRTTMicros, ioCount: p.ioCount, bytes: p.bytes,
                                    errors: p.errors, failCount: p.failCount)
                }
                return PathGroupView(selector: policy.pathSelector.rawValue, priority: grouping.priority, status: status,
                                     paths: pathViews)
            }
            return MapView(name: name, wwid: wwid, device: device, vendor: vendor, product: product, sizeBytes: currentSize,
                           features: policy.tableFeatures.description, hwhandler: policy.hardwareHandler.description,
                           groups: groupViews)
        }
    }

    /// The dm-multipath table of this map, as the kernel would take it.
    func table() throws -> String {
        do {
            return try DMTableBuilder.build(view(), policy: tablePolicy).render()
        } catch {
            throw DaemonError("map \(name): \(error)")
        }
    }

    /// What goes into this map's dm table besides its paths (features, selector, hardware handler).
    var tablePolicy: DMTablePolicy {
        let noPath: Multipath.NoPathRetry
        switch policy.noPathRetry {
        case .fail: noPath = .fail
        case .queue: noPath = .queue
        case .retries(let n): noPath = .retries(n)
        }
        return DMTablePolicy(selector: policy.pathSelector.rawValue, noPathRetry: noPath,
                             features: policy.features.words.filter { $0 != "queue_if_no_path" },
                             hardwareHandler: policy.hardwareHandler.words, minIO: policy.rrMinIORq)
    }
}

struct DaemonError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
