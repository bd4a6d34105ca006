import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// Errors of a connection as a whole (as opposed to one task).
public enum ISCSIConnectionError: Error, CustomStringConvertible {
    case connectFailed(portal: String, reason: String)
    case connectTimedOut(portal: String, seconds: Double)
    case loginFailed(portal: String, LoginError)
    case loginTimedOut(portal: String, seconds: Double)
    case redirected(to: String, permanent: Bool)
    case notLoggedIn
    case closed(String)
    case protocolViolation(String)

    public var description: String {
        switch self {
        case .connectFailed(let portal, let reason): return "portal \(portal) unreachable: \(reason)"
        case .connectTimedOut(let portal, let s): return "portal \(portal) unreachable: no answer within \(s) s"
        case .loginFailed(let portal, let error): return "login to \(portal) failed: \(error)"
        case .loginTimedOut(let portal, let s): return "login to \(portal) timed out after \(s) s"
        case .redirected(let to, let permanent): return "target moved \(permanent ? "permanently" : "temporarily") to \(to)"
        case .notLoggedIn: return "connection is not in full feature phase"
        case .closed(let why): return "connection closed: \(why)"
        case .protocolViolation(let why): return "iSCSI protocol violation: \(why)"
        }
    }
}

/// What a successful login produced.
public struct LoginResult: Sendable {
    public var parameters: OperationalParameters
    public var tsih: UInt16
}

/// One TCP connection carrying one iSCSI session (MaxConnections=1, ERL 0, like open-iscsi and
/// libiscsi). State lives on the channel's event loop; public methods may be called from any
/// thread and hop there. Completion callbacks run on the event loop.
public final class ISCSIConnection: @unchecked Sendable {
    public typealias SCSICompletion = (Result<SCSITaskResponse, ISCSITaskError>) -> Void

    enum Completion {
        case scsi(SCSICompletion)
        case promise(EventLoopPromise<ByteBuffer>)
        case tmf(EventLoopPromise<UInt8>)
        case logout(EventLoopPromise<LogoutResponsePDU>)
    }

    enum Phase {
        case connected
        case loggingIn(machine: LoginStateMachine, promise: EventLoopPromise<LoginResult>, isid: UInt64, itt: UInt32)
        case fullFeature(SessionCore<Completion>)
        case closed(String)
    }

    public let eventLoop: EventLoop
    public let portal: String
    public let channel: Channel
    let settings: FrameSettings
    var logger: Logger

    private var phase: Phase = .connected
    private var encoder = PDUFrameEncoder()
    private var outputs: [SessionCore<Completion>.Output] = []
    private var needsFlush = false
    private var loginCmdSN: UInt32 = 0
    private var loginExpStatSN: UInt32 = 0
    private var loginTSIH: UInt16 = 0
    private var loginCID: UInt16 = 0
    private var loginParameters: OperationalParameters?

    /// When the last PDU arrived: any PDU is a sign of life for the path checker.
    public private(set) var lastReceived: NIODeadline = .now()
    /// Negotiated values once logged in.
    public var parameters: OperationalParameters? { loginParameters }
    /// Called on the event loop for Async Messages the core does not handle itself.
    public var onAsyncMessage: ((AsyncMessagePDU) -> Void)?
    /// Called once on the event loop when the connection ends, with the reason.
    public var onClose: ((String) -> Void)?
    private var closeNotified = false

    init(channel: Channel, portal: String, settings: FrameSettings, logger: Logger) {
        self.channel = channel
        self.eventLoop = channel.eventLoop
        self.portal = portal
        self.settings = settings
        self.logger = logger
    }

    /// Opens a TCP connection to `host:port`, optionally from `localAddress` (an iface binding).
    public static func connect(host: String, port: Int, localAddress: String? = nil,
                               group: EventLoopGroup, connectTimeout: TimeAmount = .seconds(15),
                               logger: Logger = Logger(label: "mpath.iscsi")) -> EventLoopFuture<ISCSIConnection> {
        let portal = TargetAddress.format(host: host, port: port)
        let settings = FrameSettings()
        let holder = ConnectionHolder()
        var bootstrap = ClientBootstrap(group: group)
            .connectTimeout(connectTimeout)
            .channelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .channelOption(ChannelOptions.socketOption(.so_keepalive), value: 1)
            .channelOption(ChannelOptions.recvAllocator, value: AdaptiveRecvByteBufferAllocator(minimum: 4096, initial: 65536, maximum: 1 << 20))
            .channelInitializer { channel in
                let connection = ISCSIConnection(channel: channel, portal: portal, settings: settings, logger: logger)
                holder.connection = connection
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(PDUStreamHandler(settings: settings))
                    try channel.pipeline.syncOperations.addHandler(ConnectionEventHandler(connection: connection))
                }
            }
        if let localAddress {
            do {
                bootstrap = bootstrap.bind(to: try SocketAddress(ipAddress: localAddress, port: 0))
            } catch {
                return group.next().makeFailedFuture(ISCSIConnectionError.connectFailed(
                    portal: portal, reason: "bad local address \(localAddress): \(error)"))
            }
        }
        return bootstrap.connect(host: host, port: port).flatMapErrorThrowing { error in
            if case ChannelError.connectTimeout = error {
                throw ISCSIConnectionError.connectTimedOut(portal: portal, seconds: Double(connectTimeout.nanoseconds) / 1e9)
            }
            throw ISCSIConnectionError.connectFailed(portal: portal, reason: Self.describe(error))
        }.map { _ in holder.connection! }
    }

    static func describe(_ error: Error) -> String {
        if let io = error as? IOError { return io.description }
        if let nio = error as? NIOConnectionError {
            if let first = nio.connectionErrors.first { return describe(first.error) }
            return "could not connect to \(nio.host):\(nio.port)"
        }
        return String(describing: error)
    }

    // MARK: - Login

    /// Runs the login phase. `isid` identifies the session (keep it per path so a relogin
    /// reinstates the old session); `tsih` 0 makes a new session.
    public func login(_ configuration: LoginConfiguration, isid: UInt64, tsih: UInt16 = 0, cid: UInt16 = 0,
                      timeout: TimeAmount = .seconds(15)) -> EventLoopFuture<LoginResult> {
        let promise = eventLoop.makePromise(of: LoginResult.self)
        eventLoop.execute { [self] in
            if case .closed(let reason) = phase {
                // tgt sometimes closes right after accepting, before any login PDU (e.g. for an
                // unknown target under load).
                promise.fail(closedDuringLogin(reason))
                return
            }
            guard case .connected = phase else {
                promise.fail(ISCSIConnectionError.protocolViolation("login on a connection that is not fresh"))
                return
            }
            var machine: LoginStateMachine
            do { machine = try LoginStateMachine(configuration: configuration) } catch let error as LoginError {
                promise.fail(ISCSIConnectionError.loginFailed(portal: portal, error))
                return
            } catch {
                promise.fail(error)
                return
            }
            let request = machine.start()
            loginTSIH = tsih
            loginCID = cid
            loginCmdSN = UInt32.random(in: 1..<0x7fff_ffff)
            phase = .loggingIn(machine: machine, promise: promise, isid: isid, itt: 0)
            sendLoginRequest(request, isid: isid, itt: 0)
            let timer = eventLoop.scheduleTask(in: timeout) { [self] in
                if case .loggingIn = phase {
                    let seconds = Double(timeout.nanoseconds) / 1e9
                    fail(reason: "login timed out", closeWith: ISCSIConnectionError.loginTimedOut(portal: portal, seconds: seconds))
                }
            }
            promise.futureResult.whenComplete { _ in timer.cancel() }
        }
        return promise.futureResult
    }

    private func sendLoginRequest(_ fields: LoginRequestFields, isid: UInt64, itt: UInt32) {
        var pdu = LoginRequestPDU()
        pdu.transit = fields.transit
        pdu.continueFlag = fields.continueFlag
        pdu.currentStage = fields.currentStage.rawValue
        pdu.nextStage = fields.nextStage.rawValue
        pdu.isid = isid
        pdu.tsih = loginTSIH
        pdu.cid = loginCID
        pdu.initiatorTaskTag = itt
        pdu.cmdSN = loginCmdSN
        pdu.expStatSN = loginExpStatSN
        var data = channel.allocator.buffer(capacity: fields.data.count)
        data.writeBytes(fields.data)
        pdu.data = data
        write(pdu.pdu())
        flushIfNeeded()
    }

    private func handleLogin(_ pdu: PDU) {
        guard case .loggingIn(var machine, let promise, let isid, let itt) = phase else { return }
        do {
            let response = try LoginResponsePDU(pdu: pdu)
            guard response.initiatorTaskTag == itt else {
                throw ISCSIConnectionError.protocolViolation("Login Response ITT 0x\(String(response.initiatorTaskTag, radix: 16)) does not match 0x\(String(itt, radix: 16))")
            }
            loginExpStatSN = response.statSN &+ 1
            if response.tsih != 0 { loginTSIH = response.tsih }
            let fields = LoginResponseFields(
                transit: response.transit, continueFlag: response.continueFlag,
                currentStage: response.currentStage, nextStage: response.nextStage,
                statusClass: response.statusClass, statusDetail: response.statusDetail,
                tsih: response.tsih, data: Array(response.data.readableBytesView))
            let action: LoginAction
            do { action = try machine.receive(fields) } catch let error as LoginError {
                throw ISCSIConnectionError.loginFailed(portal: portal, error)
            }
            switch action {
            case .send(let next):
                let nextITT = itt &+ 1
                phase = .loggingIn(machine: machine, promise: promise, isid: isid, itt: nextITT)
                sendLoginRequest(next, isid: isid, itt: nextITT)
            case .redirect(let address, let permanent):
                phase = .closed("redirected")
                promise.fail(ISCSIConnectionError.redirected(to: address, permanent: permanent))
                channel.close(promise: nil)
            case .complete(let params, let tsih):
                enterFullFeature(params: params, tsih: tsih, response: response)
                promise.succeed(LoginResult(parameters: params, tsih: tsih))
            }
        } catch {
            fail(reason: String(describing: error), closeWith: error)
        }
    }

    private func enterFullFeature(params: OperationalParameters, tsih: UInt16, response: LoginResponsePDU) {
        loginParameters = params
        settings.headerDigest = params.headerDigest == .crc32c
        settings.dataDigest = params.dataDigest == .crc32c
        settings.maxDataSegmentLength = max(params.maxRecvDataSegmentLength, 8192)
        encoder.headerDigest = settings.headerDigest
        encoder.dataDigest = settings.dataDigest
        let limits = TransferLimits(immediateData: params.immediateData, initialR2T: params.initialR2T,
                                    firstBurstLength: params.firstBurstLength, maxBurstLength: params.maxBurstLength,
                                    maxXmitDataSegmentLength: params.maxXmitDataSegmentLength)
        let core = SessionCore<Completion>(cmdSN: response.expCmdSN, expCmdSN: response.expCmdSN,
                                           maxCmdSN: response.maxCmdSN, expStatSN: response.statSN &+ 1,
                                           limits: limits, maxOutstanding: maxOutstanding, allocator: channel.allocator)
        phase = .fullFeature(core)
    }

    /// node.session.cmds_max; set before login.
    public var maxOutstanding = 128

    // MARK: - Full feature phase

    /// Sends a SCSI command. On the event loop this is the zero-hop fast path.
    public func execute(_ request: SCSITaskRequest, completion: @escaping SCSICompletion) {
        guard eventLoop.inEventLoop else {
            // From another thread (the FUSE receive thread): queue, and wake the event loop only
            // when the queue was empty, so a burst of IO costs one wakeup, not one per command.
            let wake = submissions.withLockedValue { queue -> Bool in
                queue.append((request, completion))
                return queue.count == 1
            }
            if wake { eventLoop.execute { self.drainSubmissions() } }
            return
        }
        // The flush waits for the end of this event-loop turn: commands submitted together (a
        // burst of FUSE requests read on this loop) leave in one socket write.
        submit(CollectionOfOne((request, completion)))
        scheduleFlush()
    }

    /// Hands commands to the session core in one mutation; their PDUs are written, not flushed.
    private func submit<Batch: Collection>(_ batch: Batch) where Batch.Element == (SCSITaskRequest, SCSICompletion) {
        let submitted = mutateCore(flush: false) { core, out in
            for (request, completion) in batch { _ = core.submit(request, context: .scsi(completion), into: &out) }
        }
        if !submitted {
            for (_, completion) in batch { completion(.failure(.connectionLost(closedReason ?? "not logged in"))) }
        }
    }

    private func closedDuringLogin(_ reason: String) -> ISCSIConnectionError {
        .closed("the target closed the connection during login to \(portal) (\(reason)); check the target name and the target's ACL")
    }

    private var flushScheduled = false

    private func scheduleFlush() {
        guard needsFlush, !draining, !flushScheduled else { return }
        flushScheduled = true
        eventLoop.execute {
            self.flushScheduled = false
            self.flushIfNeeded()
            // A flush that fails the connection synchronously appends failure completions.
            self.drainOutputs()
        }
    }

    /// Runs `body` on the session core mutated in place (the phase briefly lets go of it, so
    /// its task table is not copied), then sends and completes what it produced. False when the
    /// connection is not in full feature phase. Event loop only.
    @discardableResult
    private func mutateCore(flush: Bool = true, _ body: (inout SessionCore<Completion>, inout [SessionCore<Completion>.Output]) throws -> Void) rethrows -> Bool {
        guard case .fullFeature(var core) = phase else { return false }
        phase = .connected
        defer {
            phase = .fullFeature(core)
            drainOutputs(flush: flush)
        }
        try body(&core, &outputs)
        return true
    }

    private let submissions = NIOLockedValueBox<[(SCSITaskRequest, SCSICompletion)]>([])

    private func drainSubmissions() {
        let batch = submissions.withLockedValue { queue -> [(SCSITaskRequest, SCSICompletion)] in
            defer { queue.removeAll(keepingCapacity: true) }
            return queue
        }
        // One core mutation for the whole batch: its PDUs go out in one flush (one socket write,
        // one TCP segment train for the target) instead of one write per command.
        submit(batch)
        flushIfNeeded()
        drainOutputs()
    }

    public func execute(_ request: SCSITaskRequest) async throws -> SCSITaskResponse {
        try await withCheckedThrowingContinuation { continuation in
            execute(request) { continuation.resume(with: $0.mapError { $0 as Error }) }
        }
    }

    /// NOP-Out ping; the future gives the echoed data.
    public func ping(data: ByteBuffer = ByteBuffer()) -> EventLoopFuture<ByteBuffer> {
        let promise = eventLoop.makePromise(of: ByteBuffer.self)
        withCore(promise) { core, out in _ = core.ping(data: data, context: .promise(promise), into: &out) }
        return promise.futureResult
    }

    /// Task management; the future gives the TMF response code (0 = function complete).
    public func taskManagement(_ function: TaskManagementFunction, lun: UInt64, referencedTask: UInt32? = nil) -> EventLoopFuture<UInt8> {
        let promise = eventLoop.makePromise(of: UInt8.self)
        withCore(promise) { core, out in
            do { _ = try core.taskManagement(function, lun: lun, referencedTask: referencedTask, context: .tmf(promise), into: &out) }
            catch { promise.fail(error) }
        }
        return promise.futureResult
    }

    /// A Text Request; the future gives the whole (continued) response data.
    public func text(_ keys: TextParameters) -> EventLoopFuture<ByteBuffer> {
        let promise = eventLoop.makePromise(of: ByteBuffer.self)
        var data = channel.allocator.buffer(capacity: 64)
        data.writeBytes(keys.encode())
        withCore(promise) { core, out in _ = core.text(data, context: .promise(promise), into: &out) }
        return promise.futureResult
    }

    /// Logs the session out and closes the connection.
    public func logout(timeout: TimeAmount = .seconds(15)) -> EventLoopFuture<Void> {
        let promise = eventLoop.makePromise(of: LogoutResponsePDU.self)
        withCore(promise) { core, out in _ = core.logout(context: .logout(promise), into: &out) }
        let timer = eventLoop.scheduleTask(in: timeout) { promise.fail(ISCSITaskError.timedOut) }
        // Logged out or not (refused, timed out), the connection is closed afterwards.
        return promise.futureResult.always { _ in timer.cancel() }
            .map { _ in () }
            .recover { _ in () }
            .flatMap { self.channel.close().recover { _ in () } }
    }

    /// The ITTs of SCSI tasks in flight (for ABORT TASK), oldest first.
    public func outstandingTasks() -> EventLoopFuture<[(itt: UInt32, lun: UInt64, sent: Bool)]> {
        eventLoop.submit {
            if case .fullFeature(let core) = self.phase { return core.outstandingTasks }
            return []
        }
    }

    /// Commands in flight and when the oldest was sent. Call on the event loop (the checker's
    /// timer runs there).
    public var outstandingCommands: (count: Int, oldestSentAt: NIODeadline?) {
        eventLoop.preconditionInEventLoop()
        if case .fullFeature(let core) = phase { return (core.outstandingCount, core.oldestOutstandingSentAt) }
        return (0, nil)
    }

    /// Ends one task locally (the owner's IO timeout).
    public func cancel(itt: UInt32, error: ISCSITaskError) {
        eventLoop.execute { [self] in
            mutateCore { core, out in core.cancel(itt: itt, error: error, into: &out) }
        }
    }

    /// Closes the connection at once; tasks in flight fail with `connectionLost`.
    public func close(reason: String = "closed by initiator") {
        eventLoop.execute { self.fail(reason: reason, closeWith: nil) }
    }

    public var isClosed: Bool {
        if case .closed = phase { return true }
        return false
    }

    private func withCore<T>(_ promise: EventLoopPromise<T>, _ body: @escaping (inout SessionCore<Completion>, inout [SessionCore<Completion>.Output]) -> Void) {
        eventLoop.execute { [self] in
            if !mutateCore(body) { promise.fail(ISCSIConnectionError.closed(closedReason ?? "not logged in")) }
        }
    }

    private var closedReason: String? {
        if case .closed(let why) = phase { return why }
        return nil
    }

    // MARK: - Inbound

    func handle(_ pdu: PDU) {
        lastReceived = .now()
        switch phase {
        case .loggingIn:
            handleLogin(pdu)
        case .fullFeature:
            do {
                try mutateCore { core, out in try core.receive(pdu, into: &out) }
            } catch {
                fail(reason: String(describing: error), closeWith: nil)
            }
        case .connected:
            fail(reason: "unexpected \(pdu.opcode.map { "\($0)" } ?? "unknown") PDU before login", closeWith: nil)
        case .closed:
            break
        }
    }

    /// Completions may submit new work re-entrantly; the outer drain picks their outputs up.
    private var draining = false

    /// `flush: false` leaves written PDUs for a flush the caller arranges.
    private func drainOutputs(flush: Bool = true) {
        guard !outputs.isEmpty, !draining else { return }
        draining = true
        defer { draining = false }
        // The flush at the end can fail the connection synchronously (a reset socket), which
        // appends failure completions: loop until nothing is left, or those tasks would be lost.
        repeat {
            var index = 0
            while index < outputs.count {
                let output = outputs[index]
                index += 1
                switch output {
                case .send(let pdu): write(pdu)
                case .scsiCompleted(let completion, let result):
                    if case .scsi(let callback) = completion { callback(result) }
                case .nopCompleted(let completion, let result), .textCompleted(let completion, let result):
                    if case .promise(let promise) = completion { promise.completeWith(result.mapError { $0 as Error }) }
                case .taskManagementCompleted(let completion, let result):
                    if case .tmf(let promise) = completion { promise.completeWith(result.mapError { $0 as Error }) }
                case .logoutCompleted(let completion, let result):
                    if case .logout(let promise) = completion { promise.completeWith(result.mapError { $0 as Error }) }
                case .asyncMessage(let message):
                    onAsyncMessage?(message)
                }
            }
            outputs.removeAll(keepingCapacity: true)
            if flush { flushIfNeeded() }
        } while !outputs.isEmpty
    }

    private func write(_ pdu: PDU) {
        let (head, data, tail) = encoder.encode(pdu, allocator: channel.allocator)
        channel.write(head, promise: nil)
        if let data { channel.write(data, promise: nil) }
        if let tail { channel.write(tail, promise: nil) }
        needsFlush = true
    }

    func flushIfNeeded() {
        if needsFlush {
            needsFlush = false
            channel.flush()
        }
    }

    func channelClosed(reason: String) {
        fail(reason: reason, closeWith: nil)
    }

    private func fail(reason: String, closeWith error: Error?) {
        let previous = phase
        phase = .closed(reason)
        switch previous {
        case .fullFeature(var core):
            core.failAll(.connectionLost(reason), into: &outputs)
            drainOutputs()
        case .loggingIn(_, let promise, _, _):
            promise.fail(error ?? closedDuringLogin(reason))
        case .connected, .closed:
            break
        }
        if case .closed = previous {} else {
            logger.debug("connection closed", metadata: ["portal": "\(portal)", "reason": "\(reason)"])
        }
        if case .closed = previous {
            channel.close(promise: nil)
        } else {
            // Abortive close (SO_LINGER 0): the kernel drops what is still unsent instead of
            // retransmitting it. This is the fence: a write queued on a dead path must never
            // reach the target later, after the same blocks were written through another path.
            let channel = self.channel
            if let provider = channel as? SocketOptionProvider {
                provider.setSoLinger(linger(l_onoff: 1, l_linger: 0)).whenComplete { _ in channel.close(promise: nil) }
            } else {
                channel.close(promise: nil)
            }
        }
        if !closeNotified {
            closeNotified = true
            onClose?(reason)
        }
    }
}

/// Passes the connection out of the channel initializer.
private final class ConnectionHolder: @unchecked Sendable {
    var connection: ISCSIConnection?
}
