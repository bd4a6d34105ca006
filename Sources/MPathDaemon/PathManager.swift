import DeviceMapper
import Foundation
import ISCSI
import Logging
import MPathConfig
import MPathControl
import MPathMetrics
import Multipath
import NIOConcurrencyHelpers
import NIOCore
import SCSI

/// Sessions, paths and maps: logs in per node record, finds the disk LUNs behind each session,
/// groups paths by WWID into maps, and keeps the maps' paths in step with their sessions.
final class PathManager: @unchecked Sendable, SessionEventSink, MapEventSink {
    let locations: ConfigLocations
    let settings: SessionSettings
    let multipathConfig: MultipathConfiguration
    let initiatorName: String
    let group: EventLoopGroup
    /// Where block IO runs (the FUSE receive loop); every target session is placed on it.
    let ioLoop: EventLoop?
    let exporter: DeviceExporter?
    /// Set when `data_plane dm`: kernel dm-multipath maps over per-path devices.
    let dmDriver: DMMapDriver?
    let metrics: DaemonMetrics?
    let logger: Logger
    private let nodes: NodeDatabase
    private let ifaces: IfaceDatabase
    private let bindings: BindingsFile

    private let lock = NIOLock()
    private var sessions: [Int: PathSession] = [:]
    private var maps: [String: MultipathMap] = [:]  // by WWID
    private var nextSID = 1
    private var loggingIn = Set<String>()
    private var targetLoops: [String: EventLoop] = [:]
    /// Failure history per path, for holding back shaky paths.
    private var health: [ObjectIdentifier: PathHealth] = [:]
    private let shakyPolicy: ShakyPathPolicy
    private var lastCapacityCheck: [Int: UInt64] = [:]
    private var nextPath = 1
    private var stopping = false

    init(locations: ConfigLocations, settings: SessionSettings, multipathConfig: MultipathConfiguration,
         initiatorName: String, group: EventLoopGroup, ioLoop: EventLoop? = nil, exporter: DeviceExporter?,
         dmDriver: DMMapDriver? = nil, metrics: DaemonMetrics?, logger: Logger) {
        self.locations = locations
        self.settings = settings
        self.multipathConfig = multipathConfig
        self.initiatorName = initiatorName
        self.group = group
        self.ioLoop = ioLoop
        self.exporter = exporter
        self.dmDriver = dmDriver
        self.metrics = metrics
        self.logger = logger
        self.nodes = NodeDatabase(stateDir: locations.stateDir)
        self.ifaces = IfaceDatabase(stateDir: locations.stateDir)
        self.bindings = BindingsFile(path: locations.bindingsFile)
        // san_path_err_threshold / forget_rate / recovery_time when set; else our defaults
        // (3 failures in 60 s → held back 30 s, doubling up to 8 min).
        var shaky = ShakyPathPolicy()
        let defaults = multipathConfig.defaults
        if case .value(let n)? = defaults.sanPathErrThreshold { shaky.threshold = max(1, n) }
        if case .value(let n)? = defaults.sanPathErrForgetRate { shaky.window = Double(max(1, n) * max(1, multipathConfig.global.pollingInterval)) }
        if case .value(let n)? = defaults.sanPathErrRecoveryTime {
            shaky.initialHoldback = Double(max(0, n))
            shaky.maxHoldback = max(shaky.maxHoldback, shaky.initialHoldback)
        }
        shakyPolicy = shaky
    }

    private static var monotonicSeconds: Double { Double(NIODeadline.now().uptimeNanoseconds) / 1e9 }

    /// Records a failure of each path; a path that failed too often in the window turns shaky.
    private func recordFailure(of paths: [MapPath]) {
        let now = Self.monotonicSeconds
        for path in paths {
            let shaky: Bool = lock.withLock {
                var record = health[ObjectIdentifier(path)] ?? PathHealth(policy: shakyPolicy)
                _ = record.recordFailure(at: now)
                health[ObjectIdentifier(path)] = record
                return record.isShaky(now: now)
            }
            if shaky {
                logger.warning("path is shaky: held back", metadata: ["path": "\(path.name)"])
                map(containing: path)?.setChecker(path, .shaky)
            }
        }
    }

    private func mayReinstate(_ path: MapPath) -> Bool {
        lock.withLock { health[ObjectIdentifier(path)]?.canReinstate(now: Self.monotonicSeconds) ?? true }
    }

    /// The path checker: TEST UNIT READY on every LUN of a live session, each noop_out_interval.
    /// NOT READY (an LU offline behind this path) fails the path; a good answer brings a failed
    /// path back, unless an operator failed it or it is held back as shaky.
    func checkPaths(of session: PathSession, connection: ISCSIConnection) {
        // Every polling_interval, READ CAPACITY too: targets like tgt change a LUN's size without
        // any unit attention, and auto_resize must still notice.
        let interval = UInt64(max(1, multipathConfig.global.pollingInterval)) * 1_000_000_000
        let now = NIODeadline.now().uptimeNanoseconds
        let capacityDue: Bool = lock.withLock {
            let last = lastCapacityCheck[session.sid] ?? 0
            guard now - last >= interval else { return false }
            lastCapacityCheck[session.sid] = now
            return true
        }
        if capacityDue {
            for path in session.paths { checkCapacity(of: path, connection: connection) }
        }
        for path in session.paths {
            let request = SCSITaskRequest(lun: path.samLUN, cdb: CDB.testUnitReady())
            connection.execute(request) { [weak self] result in
                guard let self, let map = self.map(containing: path) else { return }
                switch result {
                case .success(let response) where response.isGood:
                    guard map.isFailed(path) else { return }
                    if self.mayReinstate(path) {
                        map.reinstate(path, connection: connection)
                    } else {
                        map.setChecker(path, .shaky)
                    }
                case .success(let response):
                    let sense = response.sense.flatMap { try? SenseData(bytes: $0) }
                    switch SCSIDisposition.classify(status: SCSIStatus(rawValue: response.status), sense: sense) {
                    case .retryOtherPath(let reason):
                        map.fail(path, reason: "TEST UNIT READY: \(reason)")
                        map.setChecker(path, .faulty)
                    case .event(let event, _):
                        // The checker is often first to see a unit attention (a LU re-added
                        // after a resize reports 3F/0E): act on it like IO would.
                        self.map(map, path: path, reported: event)
                    default:
                        break
                    }
                case .failure:
                    break  // the session's own checker deals with the connection
                }
            }
        }
    }

    var allMaps: [MultipathMap] { lock.withLock { maps.values.sorted { $0.name < $1.name } } }
    var allSessions: [PathSession] { lock.withLock { sessions.values.sorted { $0.sid < $1.sid } } }

    // MARK: - Login

    /// Node records matching the selector.
    func records(_ selector: NodeSelector) throws -> [NodeRecord] {
        let portal = try selector.portal.map { try Portal(parsing: $0) }
        if selector.all { return try nodes.all() }
        return try nodes.find(target: selector.target, portal: portal, iface: selector.iface)
    }

    /// Logs in every matching record in parallel: one dead portal costs its own login_timeout
    /// and delays no other.
    func login(_ selector: NodeSelector) async -> [LoginOutcome] {
        let matching: [NodeRecord]
        do { matching = try records(selector) } catch {
            return [LoginOutcome(target: selector.target ?? "-", portal: selector.portal ?? "-", iface: selector.iface ?? "-",
                                 error: "\(error)")]
        }
        return await login(records: matching)
    }

    func login(records: [NodeRecord]) async -> [LoginOutcome] {
        await withTaskGroup(of: LoginOutcome.self) { tasks in
            for record in records {
                tasks.addTask { await self.login(record) }
            }
            var outcomes: [LoginOutcome] = []
            for await outcome in tasks { outcomes.append(outcome) }
            return outcomes.sorted { ($0.target, $0.portal, $0.iface) < ($1.target, $1.portal, $1.iface) }
        }
    }

    private func existingSession(for record: NodeRecord) -> PathSession? {
        lock.withLock {
            sessions.values.first {
                $0.record.targetName == record.targetName && $0.record.portal.host == record.portal.host
                    && $0.record.portal.port == record.portal.port && $0.record.iface == record.iface
            }
        }
    }

    func login(_ record: NodeRecord) async -> LoginOutcome {
        func outcome(_ error: String?) -> LoginOutcome {
            LoginOutcome(target: record.targetName, portal: "\(record.portal)", iface: record.iface, error: error)
        }
        // Like iscsiadm's "session exists" (15), an existing session is not a failure: boot units
        // and `login --all` stay idempotent. Concurrent logins of one record are collapsed too.
        let key = "\(record.targetName)|\(record.portal.host):\(record.portal.port)|\(record.iface)"
        guard existingSession(for: record) == nil, lock.withLock({ loggingIn.insert(key).inserted }) else {
            return outcome(nil)
        }
        defer { lock.withLock { _ = loggingIn.remove(key) } }
        do {
            let effective = try record.settings(base: settings)
            var localAddress: String?
            if record.iface != IfaceRecord.defaultName {
                guard let iface = try ifaces.get(record.iface) else {
                    return outcome("iface record '\(record.iface)' does not exist")
                }
                localAddress = iface.ipaddress
            }
            let name = (try? ifaces.get(record.iface))??.initiatorName ?? initiatorName
            let target = LoginSettings.target(host: record.portal.host, port: record.portal.port, targetName: record.targetName,
                                              iface: record.iface, localAddress: localAddress, settings: effective,
                                              initiatorName: name)
            let session: PathSession = lock.withLock {
                defer { nextSID += 1 }
                // Every session to one target runs on one event loop: the paths of a map then
                // share a thread, so round-robin over them adds no thread wakeups per IO.
                let loop = targetLoops[record.targetName] ?? ioLoop ?? group.next()
                targetLoops[record.targetName] = loop
                return PathSession(sid: nextSID, record: record, settings: effective, target: target, group: loop,
                                   metrics: metrics, logger: logger)
            }
            session.events = self
            session.ioTimeoutFloor = .milliseconds(Int64(max(10, multipathConfig.global.ioTimeoutFloorMs)))
            session.ioTimeoutCeiling = .milliseconds(Int64(max(multipathConfig.global.ioTimeoutFloorMs, multipathConfig.global.ioTimeoutCeilingMs)))
            session.onCheck = { [weak self] session, connection in self?.checkPaths(of: session, connection: connection) }
            let connection = try await session.login()
            lock.withLock { sessions[session.sid] = session }
            logger.notice("logged in", metadata: ["target": "\(record.targetName)", "portal": "\(record.portal)",
                                                  "iface": "\(record.iface)", "sid": "\(session.sid)"])
            try await attachLUNs(of: session, connection: connection)
            return outcome(nil)
        } catch {
            return outcome("\(error)")
        }
    }

    /// LUNs the session reports now that have no path yet (a LUN mapped after login).
    func attachNewLUNs(of session: PathSession, connection: ISCSIConnection) async -> [UInt64] {
        let known = Set(session.paths.map(\.lun))
        guard let luns = try? await LogicalUnit(connection: connection, lun: 0).reportLuns() else { return [] }
        let fresh = luns.filter { !known.contains($0) && $0 != 0 }
        guard !fresh.isEmpty else { return [] }
        try? await attachLUNs(of: session, connection: connection, only: Set(fresh))
        return Set(session.paths.map(\.lun)).subtracting(known).sorted()
    }

    /// REPORT LUNS, then for each disk LUN: identity, WWID, capacity → a path in its map.
    private func attachLUNs(of session: PathSession, connection: ISCSIConnection, only: Set<UInt64>? = nil) async throws {
        let luns = try await LogicalUnit(connection: connection, lun: 0).reportLuns().filter { only?.contains($0) ?? true }
        for lun in luns.sorted() {
            let unit = LogicalUnit(connection: connection, lun: lun)
            do {
                try await unit.clearUnitAttentions()
                let identity = try await unit.identify()
                guard identity.inquiry.peripheralQualifier == 0, identity.inquiry.peripheralDeviceType.isDisk else {
                    logger.debug("skipping LUN", metadata: ["lun": "\(lun)", "type": "\(identity.inquiry.peripheralDeviceType)"])
                    continue
                }
                guard let wwid = identity.wwid else {
                    logger.warning("LUN has no WWID; not multipathed", metadata: ["lun": "\(lun)"])
                    continue
                }
                let capacity = try await unit.readCapacity()
                try addPath(session: session, connection: connection, lun: lun, identity: identity,
                            capacity: capacity, wwid: wwid)
            } catch {
                logger.warning("LUN probe failed", metadata: ["lun": "\(lun)", "error": "\(error)"])
            }
        }
    }

    private func addPath(session: PathSession, connection: ISCSIConnection, lun: UInt64, identity: LogicalUnit.Identity,
                         capacity: LogicalUnit.Capacity, wwid: String) throws {
        let vendor = identity.inquiry.vendor
        let product = identity.inquiry.product
        if multipathConfig.isBlacklisted(wwid: wwid, vendor: vendor, product: product, protocol: "scsi:iscsi") {
            logger.info("blacklisted", metadata: ["wwid": "\(wwid)", "vendor": "\(vendor)", "product": "\(product)"])
            return
        }
        let pathName: String = lock.withLock {
            defer { nextPath += 1 }
            return "p\(nextPath)"
        }
        let path = MapPath(name: pathName, session: session, lun: lun, identity: identity, capacity: capacity,
                           connection: connection)
        session.addPath(path)
        let (map, created) = try mapFor(wwid: wwid, vendor: vendor, product: product, capacity: capacity)
        map.add(path)
        logger.notice("path added", metadata: ["path": "\(pathName)", "map": "\(map.name)", "lun": "\(lun)"])
        // The block device appears only once the map has a path: attaching makes the kernel read
        // the partition table at once, and with no path that read would queue for ever.
        if created { try attach(map) }
        if multipathConfig.global.pathDevices || dmDriver != nil { attachPathDevice(path, of: map) }
        syncDM(map)
    }

    /// `path_devices yes`: the path's LUN as its own block device. A failure costs only that
    /// device (the map still serves the path), so it is logged, not thrown.
    private func attachPathDevice(_ path: MapPath, of map: MultipathMap) {
        guard let exporter else { return }
        do {
            let node = try exporter.attach(PathDevice(path: path, map: map))
            map.setBlockDevice(path, (node, try PathDeviceTable.majorMinor(ofBlockDevice: node)))
        } catch {
            logger.error("cannot attach the path's own device", metadata: ["path": "\(path.name)", "error": "\(error)"])
        }
    }

    private func detachPathDevice(_ path: MapPath, of map: MultipathMap) {
        guard map.blockDevice(of: path) != nil else { return }
        map.setBlockDevice(path, nil)
        do { try exporter?.detach(DeviceExporter.pathExportName(path.name)) } catch {
            logger.error("could not detach the path's own device", metadata: ["path": "\(path.name)", "error": "\(error)"])
        }
    }

    /// The map of a WWID, created on its first path.
    private func mapFor(wwid: String, vendor: String, product: String,
                        capacity: LogicalUnit.Capacity) throws -> (MultipathMap, created: Bool) {
        if let existing = lock.withLock({ maps[wwid] }) { return (existing, false) }
        let policy = multipathConfig.effective(forWWID: wwid, vendor: vendor, product: product)
        let name: String
        if let alias = policy.alias {
            name = alias
        } else if policy.userFriendlyNames {
            name = try bindings.name(forWWID: wwid)
        } else {
            name = wwid
        }
        let map = try MultipathMap(name: name, wwid: wwid, policy: policy, pollingInterval: multipathConfig.global.pollingInterval,
                                   vendor: vendor, product: product, blockSize: capacity.blockLength,
                                   sizeBytes: capacity.sizeBytes, eventLoop: ioLoop ?? group.next(), metrics: metrics, logger: logger)
        map.events = self
        map.onPathState = { [weak self, weak map] path, active in
            guard let self, let map else { return }
            self.dmPathStateChanged(map, path, active: active)
        }
        return lock.withLock {
            if let raced = maps[wwid] { return (raced, false) }
            maps[wwid] = map
            return (map, true)
        }
    }

    private func attach(_ map: MultipathMap) throws {
        // With dm, the kernel map over the path devices is the device; no FUSE map file.
        if let exporter, dmDriver == nil {
            do {
                map.device = try exporter.attach(map)
            } catch {
                throw DaemonError("map \(map.name): cannot attach a block device: \(error)")
            }
        }
        logger.notice("map created", metadata: ["map": "\(map.name)", "wwid": "\(map.wwid)", "device": "\(map.device)"])
    }

    private func checkCapacity(of path: MapPath, connection: ISCSIConnection) {
        let request = SCSITaskRequest(lun: path.samLUN, cdb: CDB.readCapacity16(), direction: .read, expectedReadLength: 32)
        connection.execute(request) { [weak self] result in
            guard let self, case .success(let response) = result, response.isGood,
                  let data = try? ReadCapacity16Data(bytes: response.data.readableBytesView),
                  let map = self.map(containing: path) else { return }
            let capacity = LogicalUnit.Capacity(blockCount: data.blockCount, blockLength: Int(data.blockLength),
                                                thinProvisioned: data.lbpme)
            guard capacity.sizeBytes != path.capacity.sizeBytes else { return }
            self.logger.notice("LUN size changed", metadata: ["path": "\(path.name)", "from": "\(path.capacity.sizeBytes)",
                                                              "to": "\(capacity.sizeBytes)"])
            map.setCapacity(path, capacity)
            self.map(map, path: path, reported: .capacityChanged)
        }
    }

    // MARK: - Session events

    func sessionLost(_ session: PathSession, reason: String) {
        recordFailure(of: session.paths)
        for path in session.paths {
            map(containing: path)?.fail(path, reason: "session \(session.sid) lost: \(reason)", transport: true)
            map(containing: path)?.setChecker(path, .faulty)
        }
    }

    func sessionRecovered(_ session: PathSession, connection: ISCSIConnection) async {
        for path in session.paths {
            let unit = LogicalUnit(connection: connection, lun: path.lun)
            do {
                // A returning path takes IO only once TEST UNIT READY says the LU is there.
                try await unit.clearUnitAttentions()
                try await unit.testUnitReady()
                if mayReinstate(path) {
                    map(containing: path)?.reinstate(path, connection: connection)
                } else {
                    // Held back: the checker reinstates it once the holdback is over.
                    map(containing: path)?.setConnection(path, connection)
                    map(containing: path)?.setChecker(path, .shaky)
                }
            } catch {
                logger.warning("path not reinstated", metadata: ["path": "\(path.name)", "error": "\(error)"])
                map(containing: path)?.setConnection(path, connection)
            }
        }
    }

    func map(_ map: MultipathMap, failedPath path: MapPath, reason: String, transport: Bool) {
        // A transport failure on one LUN's path means the session is suspect: close it so every
        // path on it fails over together and recovery starts (this also fences its writes).
        if transport, let connection = path.session.connection, !connection.isClosed {
            connection.close(reason: "path \(path.name) failed: \(reason)")
        }
    }

    func map(_ map: MultipathMap, path: MapPath, reported event: SCSIEvent) {
        logger.notice("SCSI event", metadata: ["map": "\(map.name)", "path": "\(path.name)", "event": "\(event)"])
        switch event {
        case .capacityChanged, .lunsChanged:
            autoResize(map)
            if case .lunsChanged = event, let connection = path.session.connection {
                Task { _ = await self.attachNewLUNs(of: path.session, connection: connection) }
            }
        default:
            break
        }
    }

    private func map(containing path: MapPath) -> MultipathMap? {
        lock.withLock { maps.values.first { $0.pathList.contains { $0 === path } } }
    }

    // MARK: - Logout

    func logout(_ selector: NodeSelector, force: Bool) async -> ControlResponse {
        let portal: Portal?
        do { portal = try selector.portal.map { try Portal(parsing: $0) } } catch {
            return .error(message: "\(error)", code: 2)
        }
        let victims = allSessions.filter { session in
            selector.all || ((selector.target == nil || session.record.targetName == selector.target)
                && (portal == nil || (session.record.portal.host == portal!.host && session.record.portal.port == portal!.port))
                && (selector.iface == nil || session.record.iface == selector.iface))
        }
        guard !victims.isEmpty else { return .error(message: "no matching sessions", code: 21) }
        if !force {
            // Refuse to remove the last active path of a map that is in use.
            let leaving = Set(victims.map(\.sid))
            for map in allMaps where exporter?.isInUse(map.name) == true {
                let remaining = map.pathList.filter { $0.usable && !leaving.contains($0.session.sid) }
                if remaining.isEmpty && map.pathList.contains(where: { leaving.contains($0.session.sid) }) {
                    return .error(message: "refusing to log out the last path of map \(map.name), which is in use (\(map.device)); use --force", code: 1)
                }
            }
        }
        var outcomes: [LoginOutcome] = []
        for session in victims {
            await remove(session)
            outcomes.append(LoginOutcome(target: session.record.targetName, portal: "\(session.record.portal)",
                                         iface: session.record.iface, error: nil))
        }
        return .logins(outcomes)
    }

    private func remove(_ session: PathSession) async {
        for path in session.paths {
            guard let map = map(containing: path) else { continue }
            map.fail(path, reason: "logged out")
            map.remove(path)
            // The kernel map lets go of the path's device before the device goes away.
            if map.pathList.isEmpty { await removeMap(map) } else { syncDM(map) }
            detachPathDevice(path, of: map)
        }
        lock.withLock { _ = sessions.removeValue(forKey: session.sid) }
        await session.logout()
    }

    private func removeMap(_ map: MultipathMap) async {
        map.stop(reason: "map removed")
        lock.withLock { _ = maps.removeValue(forKey: map.wwid) }
        dmRemove(map)
        do { try exporter?.detach(map.name) } catch {
            logger.error("could not detach map", metadata: ["map": "\(map.name)", "error": "\(error)"])
        }
        metrics?.removeMap(map: map.name)
    }

    // MARK: - Operator commands

    func status(map name: String?) -> ControlResponse {
        let selected = allMaps.filter { name == nil || $0.name == name || $0.wwid == name }
        if let name, selected.isEmpty { return .error(message: "no map named \(name)", code: 2) }
        return .status(StatusReport(maps: selected.map { $0.view() }, dataPlane: dmDriver == nil ? "fuse" : "dm"))
    }

    func tables(map name: String?) -> ControlResponse {
        let selected = allMaps.filter { name == nil || $0.name == name || $0.wwid == name }
        if let name, selected.isEmpty { return .error(message: "no map named \(name)", code: 2) }
        do {
            return .table(lines: try selected.map { "\($0.name): \(try $0.table())" })
        } catch {
            return .error(message: "\(error)", code: 1)
        }
    }

    func findPath(_ name: String) -> (MultipathMap, MapPath)? {
        for map in allMaps {
            if let path = map.path(named: name) { return (map, path) }
        }
        return nil
    }

    func failPath(_ name: String) -> ControlResponse {
        guard let (map, path) = findPath(name) else { return .error(message: "no path named \(name)", code: 2) }
        map.fail(path, reason: "failed by operator (mpathctl fail-path)", administrative: true)
        return .ok(message: "ok")
    }

    func reinstatePath(_ name: String) async -> ControlResponse {
        guard let (map, path) = findPath(name) else { return .error(message: "no path named \(name)", code: 2) }
        guard let connection = path.session.connection else {
            map.reinstate(path, connection: nil, administrative: true)
            return .error(message: "path \(name) has no session right now; it returns when its session recovers", code: 1)
        }
        do {
            try await LogicalUnit(connection: connection, lun: path.lun).testUnitReady()
        } catch {
            return .error(message: "path \(name): TEST UNIT READY failed: \(error)", code: 1)
        }
        map.reinstate(path, connection: connection, administrative: true)
        return .ok(message: "ok")
    }

    func switchGroup(map name: String, group number: Int) -> ControlResponse {
        guard let map = allMaps.first(where: { $0.name == name || $0.wwid == name }) else {
            return .error(message: "no map named \(name)", code: 2)
        }
        do {
            try map.switchGroup(number)
            try dmSwitchGroup(map, number)
        } catch { return .error(message: "\(error)", code: 1) }
        return .ok(message: "ok")
    }

    func sessionInfos() -> [SessionInfo] {
        allSessions.map { session in
            let params = session.loginResult?.parameters
            var negotiated: [SessionInfo.KeyValue] = []
            if let p = params {
                negotiated = [
                    .init("HeaderDigest", p.headerDigest.rawValue), .init("DataDigest", p.dataDigest.rawValue),
                    .init("MaxRecvDataSegmentLength", "\(p.maxRecvDataSegmentLength)"),
                    .init("MaxXmitDataSegmentLength", "\(p.maxXmitDataSegmentLength)"),
                    .init("FirstBurstLength", "\(p.firstBurstLength)"), .init("MaxBurstLength", "\(p.maxBurstLength)"),
                    .init("ImmediateData", p.immediateData ? "Yes" : "No"), .init("InitialR2T", p.initialR2T ? "Yes" : "No"),
                    .init("MaxOutstandingR2T", "\(p.maxOutstandingR2T)"),
                    .init("DefaultTime2Wait", "\(p.defaultTime2Wait)"), .init("DefaultTime2Retain", "\(p.defaultTime2Retain)"),
                    .init("ErrorRecoveryLevel", "\(p.errorRecoveryLevel)"),
                ]
            }
            let s = session.settings
            let timeouts: [SessionInfo.KeyValue] = [
                .init("Recovery Timeout", "\(s.replacementTimeout)"), .init("NOP-Out Interval", "\(s.noopOutInterval)"),
                .init("NOP-Out Timeout", "\(s.noopOutTimeout)"), .init("Login Timeout", "\(s.loginTimeout)"),
            ]
            let attached = session.paths.map { path -> SessionInfo.AttachedLUN in
                let map = self.map(containing: path)
                let state = map?.view().paths.first { $0.name == path.name }?.dmState == .active ? "running" : "failed"
                return SessionInfo.AttachedLUN(lun: Int(path.lun), path: path.name, map: map?.name, device: map?.device, state: state)
            }
            let chapUser: String? = s.auth.username.flatMap { $0.isEmpty ? nil : $0 }
            return SessionInfo(sid: session.sid, target: session.record.targetName, portal: "\(session.record.portal)",
                               iface: session.record.iface, localAddress: session.target.localAddress,
                               isid: SessionIdentity.format(session.target.isid), tsih: Int(session.loginResult?.tsih ?? 0),
                               state: session.state.rawValue, negotiated: negotiated, timeouts: timeouts,
                               chapUsername: chapUser, attached: attached)
        }
    }

    // MARK: - Shutdown

    /// Stop taking IO, flush, detach devices, log out. Queued IO fails (said in the log).
    func shutdown() async {
        lock.withLock { stopping = true }
        for map in allMaps {
            if map.queuedCount > 0 {
                logger.warning("shutting down with queued IO: failing it", metadata: ["map": "\(map.name)", "count": "\(map.queuedCount)"])
            }
            // Flush what the LUN caches, but never wait on a map with no path for ever.
            await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
                let once = NIOLockedValueBox(false)
                let resume = {
                    if once.withLockedValue({ old in defer { old = true }; return !old }) { done.resume() }
                }
                map.flush { _ in resume() }
                group.next().scheduleTask(in: .seconds(5)) { resume() }
            }
            map.stop(reason: "mpathd is shutting down")
            // The path devices this process serves are about to go: the kernel map first.
            dmRemove(map)
        }
        exporter?.shutdown()
        await withTaskGroup(of: Void.self) { tasks in
            for session in allSessions { tasks.addTask { await session.logout() } }
        }
        lock.withLock {
            sessions.removeAll()
            maps.removeAll()
        }
    }
}
