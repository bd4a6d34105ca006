import ISCSI
import Logging
import MPathConfig
import MPathMetrics
import Multipath
import NIOConcurrencyHelpers
import NIOCore

/// What a session reports to its owner.
protocol SessionEventSink: AnyObject, Sendable {
    func sessionLost(_ session: PathSession, reason: String)
    func sessionRecovered(_ session: PathSession, connection: ISCSIConnection) async
}

/// One iSCSI session (one connection) to a target portal through one iface: it carries one
/// path per LUN. It watches itself with NOP-Out pings and logs in again, with the same ISID,
/// when the connection is lost.
final class PathSession: @unchecked Sendable {
    enum State: String { case loggingIn = "LOGGING_IN", loggedIn = "LOGGED_IN", failed = "FAILED", loggedOut = "FREE" }

    let sid: Int
    let record: NodeRecord
    let settings: SessionSettings
    let target: LoginTarget
    let group: EventLoopGroup
    private let logger: Logger
    private let metrics: DaemonMetrics?
    weak var events: SessionEventSink?

    private let lock = NIOLock()
    // Guarded by `lock`.
    private var _connection: ISCSIConnection?
    private var _state: State = .loggingIn
    private var _lastRTTMicros: Int?
    private var _loginResult: LoginResult?
    private var _paths: [MapPath] = []
    private var checker: RepeatedTask?
    private var pingSentAt: NIODeadline?
    private var recoveryAttempts = 0
    private var wanted = true

    init(sid: Int, record: NodeRecord, settings: SessionSettings, target: LoginTarget, group: EventLoopGroup,
         metrics: DaemonMetrics?, logger: Logger) {
        self.sid = sid
        self.record = record
        self.settings = settings
        self.target = target
        self.group = group
        self.metrics = metrics
        var sessionLogger = logger
        sessionLogger[metadataKey: "session"] = "\(sid)"
        sessionLogger[metadataKey: "portal"] = "\(record.portal)"
        self.logger = sessionLogger
    }

    var connection: ISCSIConnection? { lock.withLock { _connection } }
    var state: State { lock.withLock { _state } }
    var lastRTTMicros: Int? { lock.withLock { _lastRTTMicros } }
    var loginResult: LoginResult? { lock.withLock { _loginResult } }
    var paths: [MapPath] { lock.withLock { _paths } }
    var portalText: String { TargetAddress.format(host: record.portal.host, port: record.portal.port) }

    func addPath(_ path: MapPath) { lock.withLock { _paths.append(path) } }
    func removePath(_ path: MapPath) { lock.withLock { _paths.removeAll { $0 === path } } }

    /// Connects and logs in (bounded by login_timeout), then starts the checker.
    func login(recovering: Bool = false) async throws -> ISCSIConnection {
        lock.withLock { _state = .loggingIn }
        var attempt = target
        if recovering {
            // A relogin retries often: a short connect timeout notices a returning portal soon
            // (a SYN into a black hole would otherwise wait out the whole login_timeout).
            attempt.connectTimeout = min(target.connectTimeout, .seconds(2))
        }
        do {
            let (connection, result) = try await Initiator.login(attempt, group: group, logger: logger)
            adopt(connection, result: result)
            return connection
        } catch {
            lock.withLock { _state = .failed }
            throw error
        }
    }

    private func adopt(_ connection: ISCSIConnection, result: LoginResult) {
        lock.withLock {
            _connection = connection
            _loginResult = result
            _state = .loggedIn
            recoveryAttempts = 0
        }
        connection.eventLoop.execute {
            connection.onClose = { [weak self, weak connection] reason in
                guard let self, let connection else { return }
                self.connectionClosed(connection, reason: reason)
            }
            connection.onAsyncMessage = { [weak self] message in self?.asyncMessage(message, on: connection) }
        }
        startChecker(on: connection)
    }

    // MARK: - Checker

    /// IO timeout bounds (multipath.conf io_timeout_floor_ms / io_timeout_ceiling_ms).
    var ioTimeoutFloor = TimeAmount.milliseconds(300)
    var ioTimeoutCeiling = TimeAmount.seconds(30)
    private var latencyMean: Double = 0
    private var latencyDeviation: Double = 0

    /// Feeds the adaptive IO timeout with a completed command's latency (Jacobson/Karels, as
    /// TCP's RTO: mean + 4 × mean deviation).
    func recordLatency(nanoseconds: UInt64) {
        let sample = Double(nanoseconds)
        lock.withLock {
            if latencyMean == 0 {
                latencyMean = sample
                latencyDeviation = sample / 2
            } else {
                latencyDeviation += (abs(sample - latencyMean) - latencyDeviation) / 4
                latencyMean += (sample - latencyMean) / 8
            }
        }
    }

    /// How long a connection with commands outstanding may stay silent before it is declared
    /// dead: adaptive to this path's recent latency, within the floor and the ceiling.
    var ioTimeout: TimeAmount {
        let adaptive = lock.withLock { Int64(4 * (latencyMean + 4 * latencyDeviation)) }
        return .nanoseconds(min(max(adaptive, ioTimeoutFloor.nanoseconds), ioTimeoutCeiling.nanoseconds))
    }

    /// Called every noop_out_interval with the live connection: the owner's path checker
    /// (TEST UNIT READY per LUN).
    var onCheck: ((PathSession, ISCSIConnection) -> Void)?

    /// The liveness checker, on the connection's event loop every 50 ms:
    /// - with commands outstanding and nothing received for half the IO timeout, a NOP-Out
    ///   probe goes out; if still nothing at all arrives by the IO timeout, the connection is
    ///   declared dead and closed (which fences it) so its IO moves to other paths. Any PDU is a
    ///   sign of life, so a busy or slow but healthy path is not failed;
    /// - a ping every noop_out_interval gives the round trip shown in status, and fails the
    ///   connection after noop_out_timeout without any answer (the idle-path check);
    /// - a command outstanding longer than the ceiling fails the connection too.
    private func startChecker(on connection: ISCSIConnection) {
        let interval = TimeAmount.milliseconds(Int64(max(1, settings.noopOutInterval)) * 1000)
        let nopTimeout = TimeAmount.milliseconds(Int64(max(1, settings.noopOutTimeout)) * 1000)
        let tick = TimeAmount.milliseconds(50)
        let task = connection.eventLoop.scheduleRepeatedTask(initialDelay: tick, delay: tick) { [weak self] task in
            guard let self, !connection.isClosed else { task.cancel(); return }
            let now = NIODeadline.now()
            let lastReceived = connection.lastReceived
            let (outstanding, oldest) = connection.outstandingCommands
            let (pingSent, lastPing) = self.lock.withLock { (self.pingSentAt, self.lastPingAt) }
            let silentSincePing = pingSent.map { lastReceived < $0 } ?? false

            if outstanding > 0 {
                let limit = self.ioTimeout
                let idle = now - lastReceived
                if idle >= limit && silentSincePing {
                    let ms = idle.nanoseconds / 1_000_000
                    connection.close(reason: "no response for \(ms) ms with \(outstanding) command(s) outstanding")
                    return
                }
                if let oldest, now - oldest >= self.ioTimeoutCeiling {
                    connection.close(reason: "a command got no answer for \(self.ioTimeoutCeiling.nanoseconds / 1_000_000_000) s")
                    return
                }
                if idle >= .nanoseconds(limit.nanoseconds / 2) && pingSent == nil {
                    self.sendPing(on: connection, at: now)
                    return
                }
            }
            if let pingSent, silentSincePing, now - pingSent >= nopTimeout {
                self.logger.warning("NOP-Out ping timed out", metadata: ["timeout_s": "\(self.settings.noopOutTimeout)"])
                connection.close(reason: "NOP-Out ping timed out after \(self.settings.noopOutTimeout) s")
                return
            }
            if pingSent == nil && now - lastPing >= interval {
                self.sendPing(on: connection, at: now)
                self.onCheck?(self, connection)
            }
        }
        lock.withLock {
            checker?.cancel()
            checker = task
            pingSentAt = nil
        }
    }

    private func sendPing(on connection: ISCSIConnection, at now: NIODeadline) {
        lock.withLock {
            pingSentAt = now
            lastPingAt = now
        }
        connection.ping().whenComplete { result in
            let rtt = NIODeadline.now() - now
            self.lock.withLock {
                if self.pingSentAt == now { self.pingSentAt = nil }
                if case .success = result { self._lastRTTMicros = Int(rtt.nanoseconds / 1000) }
            }
            if case .success = result {
                for path in self.paths { self.metrics?.observeNOPRoundTrip(path: path.name, seconds: Double(rtt.nanoseconds) / 1e9) }
            }
        }
    }

    private var lastPingAt = NIODeadline.uptimeNanoseconds(0)

    // MARK: - Loss and recovery

    private func connectionClosed(_ connection: ISCSIConnection, reason: String) {
        let mine: Bool = lock.withLock {
            guard _connection === connection else { return false }
            _connection = nil
            checker?.cancel()
            checker = nil
            pingSentAt = nil
            _state = wanted ? .failed : .loggedOut
            return wanted
        }
        guard mine else { return }
        logger.warning("session lost", metadata: ["reason": "\(reason)"])
        events?.sessionLost(self, reason: reason)
        scheduleRecovery()
    }

    /// Logs in again after DefaultTime2Wait (RFC 7143: the least wait after a connection
    /// ends), doubling on each failed attempt up to 5 s.
    private func scheduleRecovery() {
        let (attempt, delayMillis): (Int, Int64) = lock.withLock {
            recoveryAttempts += 1
            let time2Wait = Int64(_loginResult?.parameters.defaultTime2Wait ?? 2)
            let base = max(500, time2Wait * 1000)
            return (recoveryAttempts, min(5_000, base << Int64(min(recoveryAttempts - 1, 5))))
        }
        group.next().scheduleTask(in: .milliseconds(delayMillis)) { [self] in
            guard lock.withLock({ wanted && _connection == nil }) else { return }
            Task {
                do {
                    let connection = try await login(recovering: true)
                    logger.notice("session recovered", metadata: ["attempt": "\(attempt)"])
                    await events?.sessionRecovered(self, connection: connection)
                } catch {
                    logger.info("relogin failed", metadata: ["attempt": "\(attempt)", "error": "\(error)"])
                    scheduleRecovery()
                }
            }
        }
    }

    private func asyncMessage(_ message: AsyncMessagePDU, on connection: ISCSIConnection) {
        switch message.event {
        case .logoutRequested:
            // The target wants this connection gone (maintenance): fail over now, log in again.
            logger.notice("target requested logout")
            connection.close(reason: "target requested logout (Async Message 1)")
        case .connectionWillDrop, .allConnectionsWillDrop:
            connection.close(reason: "target announced it will drop the connection")
        case .renegotiationRequested:
            // Re-declare our receive limit; the target may answer with its own keys.
            let mrdsl = target.configuration.offer.maxRecvDataSegmentLength
            _ = connection.text(["MaxRecvDataSegmentLength": String(mrdsl)])
        case .scsiAsyncEvent, .vendorSpecific, .none:
            logger.info("async event", metadata: ["event": "\(message.asyncEvent)"])
        }
    }

    /// Logs out and stops recovery.
    func logout() async {
        let connection: ISCSIConnection? = lock.withLock {
            wanted = false
            checker?.cancel()
            checker = nil
            _state = .loggedOut
            defer { _connection = nil }
            return _connection
        }
        guard let connection else { return }
        try? await connection.logout(timeout: .seconds(Int64(max(1, settings.logoutTimeout)))).get()
        connection.close(reason: "logged out")
    }
}
