import NIOCore

/// The full-feature phase of one iSCSI connection as a plain state machine (sans-IO): it numbers
/// commands within the CmdSN window, tracks tasks by ITT, answers R2Ts with Data-Out, assembles
/// Data-In, answers the target's NOP-Ins and reports what completed. The driver feeds it PDUs and
/// sends the PDUs it asks for; `Context` is whatever the driver needs to finish a task (a promise).
public struct SessionCore<Context> {
    public enum Output {
        case send(PDU)
        case scsiCompleted(Context, Result<SCSITaskResponse, ISCSITaskError>)
        case nopCompleted(Context, Result<ByteBuffer, ISCSITaskError>)
        case taskManagementCompleted(Context, Result<UInt8, ISCSITaskError>)
        case textCompleted(Context, Result<ByteBuffer, ISCSITaskError>)
        case logoutCompleted(Context, Result<LogoutResponsePDU, ISCSITaskError>)
        /// An Async Message the owner must act on (logout request, drop, renegotiation, SCSI event).
        case asyncMessage(AsyncMessagePDU)
    }

    /// A protocol violation that ends the connection (ERL 0: no recovery within it).
    public struct ConnectionFailure: Error, CustomStringConvertible {
        public var description: String
    }

    enum Kind {
        case scsi(SCSIState)
        case nop
        case taskManagement(TaskManagementRequestPDU)
        case text(accumulated: ByteBuffer)
        case logout
    }

    struct SCSIState {
        var request: SCSITaskRequest
        var cmdSN: UInt32 = 0
        var sent = false
        /// When the command went out (for the owner's stall and timeout checks).
        var sentAt: NIODeadline = .uptimeNanoseconds(0)
        var dataIn: ByteBuffer?
        var dataInBytes = 0
        var nextDataSN: UInt32 = 0
        var highestOffsetEnd = 0
        var assembled = false

        /// The Data-In bytes received so far, as one buffer; holes are a protocol error because
        /// the uncovered bytes of an assembled buffer were never written.
        func deliveredData(allocator: ByteBufferAllocator) throws -> ByteBuffer {
            guard var data = dataIn else { return allocator.buffer(capacity: 0) }
            guard dataInBytes == highestOffsetEnd else {
                throw ConnectionFailure(description: "Data-In left holes: \(dataInBytes) bytes received up to offset \(highestOffsetEnd)")
            }
            if assembled { data.moveWriterIndex(to: highestOffsetEnd) }
            return data
        }
    }

    struct Task {
        var context: Context
        var kind: Kind
    }

    public private(set) var window: CommandWindow
    public private(set) var expStatSN: UInt32
    public var limits: TransferLimits
    /// Most non-immediate commands we keep outstanding at once (node.session.cmds_max).
    public var maxOutstanding: Int
    let allocator: ByteBufferAllocator

    private var tasks: [UInt32: Task] = [:]
    private var waiting: [UInt32] = []
    private var waitingHead = 0
    private var outstanding = 0
    private var nextITT: UInt32 = 1

    public init(cmdSN: UInt32, expCmdSN: UInt32, maxCmdSN: UInt32, expStatSN: UInt32,
                limits: TransferLimits, maxOutstanding: Int = 128, allocator: ByteBufferAllocator = ByteBufferAllocator()) {
        self.window = CommandWindow(initialCmdSN: cmdSN, expCmdSN: expCmdSN, maxCmdSN: maxCmdSN)
        self.expStatSN = expStatSN
        self.limits = limits
        self.maxOutstanding = max(1, maxOutstanding)
        self.allocator = allocator
        tasks.reserveCapacity(maxOutstanding * 2)
    }

    public var taskCount: Int { tasks.count }
    public var waitingCount: Int { waiting.count - waitingHead }

    // MARK: - Submissions

    /// Queues a SCSI command; it is sent as soon as the window and cmds_max allow.
    public mutating func submit(_ request: SCSITaskRequest, context: Context, into out: inout [Output]) -> UInt32 {
        let itt = allocateITT()
        tasks[itt] = Task(context: context, kind: .scsi(SCSIState(request: request)))
        waiting.append(itt)
        pump(into: &out)
        return itt
    }

    /// Sends a NOP-Out ping (immediate, so it is not held back by a closed window).
    public mutating func ping(data: ByteBuffer = ByteBuffer(), context: Context, into out: inout [Output]) -> UInt32 {
        let itt = allocateITT()
        tasks[itt] = Task(context: context, kind: .nop)
        var nop = NOPOutPDU()
        nop.immediate = true
        nop.initiatorTaskTag = itt
        nop.targetTransferTag = reservedTag
        nop.cmdSN = window.immediateCmdSN
        nop.expStatSN = expStatSN
        nop.data = data
        out.append(.send(nop.pdu()))
        return itt
    }

    /// Sends a task management request. For ABORT TASK, `referencedTask` is the ITT to abort.
    public mutating func taskManagement(_ function: TaskManagementFunction, lun: UInt64, referencedTask: UInt32? = nil,
                                        context: Context, into out: inout [Output]) throws -> UInt32 {
        var tmf = TaskManagementRequestPDU()
        tmf.function = function
        tmf.lun = lun
        tmf.immediate = true
        tmf.cmdSN = window.immediateCmdSN
        tmf.expStatSN = expStatSN
        if function == .abortTask {
            guard let ref = referencedTask, let task = tasks[ref], case .scsi(let state) = task.kind else {
                throw ISCSITaskError.protocolError("ABORT TASK names no outstanding SCSI task")
            }
            tmf.referencedTaskTag = ref
            tmf.lun = state.request.lun
            tmf.refCmdSN = state.sent ? state.cmdSN : window.immediateCmdSN
            if !state.sent {
                // Never sent: finish it here; the target has nothing to abort.
                removeWaiting(ref)
                tasks[ref] = nil
                out.append(.scsiCompleted(task.context, .failure(.aborted("ABORT TASK before it was sent"))))
            }
        }
        let itt = allocateITT()
        tmf.initiatorTaskTag = itt
        tasks[itt] = Task(context: context, kind: .taskManagement(tmf))
        out.append(.send(tmf.pdu()))
        return itt
    }

    /// Sends a Text Request (SendTargets, renegotiation); continuation is handled here.
    public mutating func text(_ keys: ByteBuffer, context: Context, into out: inout [Output]) -> UInt32 {
        let itt = allocateITT()
        tasks[itt] = Task(context: context, kind: .text(accumulated: allocator.buffer(capacity: 0)))
        var req = TextRequestPDU()
        req.immediate = true
        req.final = true
        req.initiatorTaskTag = itt
        req.cmdSN = window.immediateCmdSN
        req.expStatSN = expStatSN
        req.data = keys
        out.append(.send(req.pdu()))
        return itt
    }

    /// Sends a Logout Request.
    public mutating func logout(reason: LogoutReason = .closeSession, cid: UInt16 = 0, context: Context,
                                into out: inout [Output]) -> UInt32 {
        let itt = allocateITT()
        tasks[itt] = Task(context: context, kind: .logout)
        var req = LogoutRequestPDU()
        req.immediate = true
        req.reason = reason
        req.cid = cid
        req.initiatorTaskTag = itt
        req.cmdSN = window.immediateCmdSN
        req.expStatSN = expStatSN
        out.append(.send(req.pdu()))
        return itt
    }

    /// Fails every task (connection gone). Returns their completions.
    public mutating func failAll(_ error: ISCSITaskError, into out: inout [Output]) {
        let all = tasks
        tasks.removeAll()
        waiting.removeAll()
        waitingHead = 0
        outstanding = 0
        for (_, task) in all.sorted(by: { $0.key < $1.key }) {
            out.append(Self.failure(task, error))
        }
    }

    /// Ends one task locally with an error (a timeout decided by the owner). The ITT is not reused
    /// until the target can no longer answer for it: the caller aborts or drops the connection.
    public mutating func cancel(itt: UInt32, error: ISCSITaskError, into out: inout [Output]) {
        guard let task = tasks.removeValue(forKey: itt) else { return }
        if case .scsi(let state) = task.kind {
            if state.sent { outstanding -= 1 } else { removeWaiting(itt) }
        }
        out.append(Self.failure(task, error))
        pump(into: &out)
    }

    /// SCSI commands sent and not yet answered.
    public var outstandingCount: Int { outstanding }

    /// When the oldest unanswered SCSI command was sent, if any (O(tasks): call it on a timer,
    /// not per IO).
    public var oldestOutstandingSentAt: NIODeadline? {
        var oldest: NIODeadline?
        for task in tasks.values {
            if case .scsi(let s) = task.kind, s.sent, oldest == nil || s.sentAt < oldest! { oldest = s.sentAt }
        }
        return oldest
    }

    /// The SCSI tasks in flight, with their LUN, for diagnostics and failover.
    public var outstandingTasks: [(itt: UInt32, lun: UInt64, sent: Bool)] {
        tasks.compactMap { itt, task in
            if case .scsi(let s) = task.kind { return (itt, s.request.lun, s.sent) }
            return nil
        }.sorted { $0.itt < $1.itt }
    }

    // MARK: - Receive

    /// Handles one PDU from the target. Throws `ConnectionFailure` when the connection must drop.
    public mutating func receive(_ pdu: PDU, into out: inout [Output]) throws {
        guard let opcode = pdu.opcode else { throw ConnectionFailure(description: "unknown opcode") }
        do {
            switch opcode {
            case .dataIn: try receiveDataIn(DataInPDU(pdu: pdu), into: &out)
            case .scsiResponse: try receiveResponse(SCSIResponsePDU(pdu: pdu), into: &out)
            case .readyToTransfer: try receiveR2T(R2TPDU(pdu: pdu), into: &out)
            case .nopIn: try receiveNOPIn(NOPInPDU(pdu: pdu), into: &out)
            case .taskManagementResponse: try receiveTMFResponse(TaskManagementResponsePDU(pdu: pdu), into: &out)
            case .textResponse: try receiveText(TextResponsePDU(pdu: pdu), into: &out)
            case .logoutResponse: try receiveLogout(LogoutResponsePDU(pdu: pdu), into: &out)
            case .asyncMessage:
                let msg = try AsyncMessagePDU(pdu: pdu)
                acknowledge(statSN: msg.statSN)
                window.update(expCmdSN: msg.expCmdSN, maxCmdSN: msg.maxCmdSN)
                out.append(.asyncMessage(msg))
            case .reject: try receiveReject(RejectPDU(pdu: pdu), into: &out)
            case .loginResponse:
                throw ConnectionFailure(description: "Login Response received in full feature phase")
            default:
                throw ConnectionFailure(description: "target sent an initiator opcode (\(opcode))")
            }
        } catch let error as PDUError {
            throw ConnectionFailure(description: error.description)
        }
        pump(into: &out)
    }

    private mutating func receiveDataIn(_ pdu: DataInPDU, into out: inout [Output]) throws {
        window.update(expCmdSN: pdu.expCmdSN, maxCmdSN: pdu.maxCmdSN)
        guard var task = tasks[pdu.initiatorTaskTag], case .scsi(var state) = task.kind, state.sent else {
            throw ConnectionFailure(description: "Data-In for unknown task 0x\(String(pdu.initiatorTaskTag, radix: 16))")
        }
        guard state.request.direction == .read else {
            throw ConnectionFailure(description: "Data-In for a command that reads nothing (ITT 0x\(String(pdu.initiatorTaskTag, radix: 16)))")
        }
        guard pdu.dataSN == state.nextDataSN else {
            throw ConnectionFailure(description: "Data-In DataSN \(pdu.dataSN), expected \(state.nextDataSN)")
        }
        state.nextDataSN &+= 1
        let length = pdu.data.readableBytes
        let offset = Int(pdu.bufferOffset)
        let expected = state.request.expectedReadLength
        guard offset + length <= expected else {
            throw ConnectionFailure(description: "Data-In at offset \(offset)+\(length) overruns the expected \(expected) bytes")
        }
        if length > 0 {
            if state.dataIn == nil && offset == 0 && (pdu.statusPresent || length == expected) {
                // The whole payload in one PDU: keep the slice, copy nothing.
                state.dataIn = pdu.data
            } else {
                if !state.assembled {
                    // Several PDUs: one buffer of the expected size, filled at each buffer offset.
                    var buffer = allocator.buffer(capacity: expected)
                    if let first = state.dataIn { buffer.setBuffer(first, at: 0) }
                    state.dataIn = buffer
                    state.assembled = true
                }
                state.dataIn!.setBuffer(pdu.data, at: offset)
            }
            state.dataInBytes += length
            state.highestOffsetEnd = max(state.highestOffsetEnd, offset + length)
        }
        if pdu.statusPresent {
            acknowledge(statSN: pdu.statSN)
            tasks[pdu.initiatorTaskTag] = nil
            outstanding -= 1
            let data = try state.deliveredData(allocator: allocator)
            let response = SCSITaskResponse(status: pdu.status, sense: nil, data: data,
                                            residualFlags: pdu.residualFlags, residualCount: pdu.residualCount)
            out.append(.scsiCompleted(task.context, .success(response)))
        } else {
            task.kind = .scsi(state)
            tasks[pdu.initiatorTaskTag] = task
        }
    }

    private mutating func receiveResponse(_ pdu: SCSIResponsePDU, into out: inout [Output]) throws {
        window.update(expCmdSN: pdu.expCmdSN, maxCmdSN: pdu.maxCmdSN)
        acknowledge(statSN: pdu.statSN)
        guard let task = tasks[pdu.initiatorTaskTag], case .scsi(let state) = task.kind, state.sent else {
            throw ConnectionFailure(description: "SCSI Response for unknown task 0x\(String(pdu.initiatorTaskTag, radix: 16))")
        }
        tasks[pdu.initiatorTaskTag] = nil
        outstanding -= 1
        guard pdu.response == 0 else {
            out.append(.scsiCompleted(task.context, .failure(.targetFailure(response: pdu.response))))
            return
        }
        let sense: [UInt8]?
        do { sense = try pdu.senseBytes() } catch let error as PDUError {
            throw ConnectionFailure(description: error.description)
        }
        let data = try state.deliveredData(allocator: allocator)
        let response = SCSITaskResponse(status: pdu.status, sense: sense, data: data,
                                        residualFlags: pdu.residualFlags, residualCount: pdu.residualCount)
        out.append(.scsiCompleted(task.context, .success(response)))
    }

    private mutating func receiveR2T(_ pdu: R2TPDU, into out: inout [Output]) throws {
        window.update(expCmdSN: pdu.expCmdSN, maxCmdSN: pdu.maxCmdSN)
        guard let task = tasks[pdu.initiatorTaskTag], case .scsi(let state) = task.kind, state.sent else {
            throw ConnectionFailure(description: "R2T for unknown task 0x\(String(pdu.initiatorTaskTag, radix: 16))")
        }
        guard state.request.direction == .write, let data = state.request.dataOut else {
            throw ConnectionFailure(description: "R2T for a command that writes nothing")
        }
        let offset = Int(pdu.bufferOffset)
        let length = Int(pdu.desiredDataTransferLength)
        guard offset + length <= data.readableBytes else {
            throw ConnectionFailure(description: "R2T asks for bytes \(offset)..<\(offset + length) of a \(data.readableBytes)-byte write")
        }
        guard length <= limits.maxBurstLength else {
            throw ConnectionFailure(description: "R2T asks for \(length) bytes, above MaxBurstLength \(limits.maxBurstLength)")
        }
        emitDataOut(data: data, from: offset, length: length, itt: pdu.initiatorTaskTag, lun: state.request.lun,
                    ttt: pdu.targetTransferTag, into: &out)
    }

    private mutating func receiveNOPIn(_ pdu: NOPInPDU, into out: inout [Output]) throws {
        window.update(expCmdSN: pdu.expCmdSN, maxCmdSN: pdu.maxCmdSN)
        if pdu.initiatorTaskTag != reservedTag {
            // Answer to our ping.
            acknowledge(statSN: pdu.statSN)
            guard let task = tasks.removeValue(forKey: pdu.initiatorTaskTag), case .nop = task.kind else {
                throw ConnectionFailure(description: "NOP-In answers unknown ping 0x\(String(pdu.initiatorTaskTag, radix: 16))")
            }
            out.append(.nopCompleted(task.context, .success(pdu.data)))
        } else if pdu.targetTransferTag != reservedTag {
            // The target pings us: answer with its TTT and LUN (libiscsi#153: the LUN matters).
            var reply = NOPOutPDU()
            reply.immediate = true
            reply.initiatorTaskTag = reservedTag
            reply.targetTransferTag = pdu.targetTransferTag
            reply.lun = pdu.lun
            reply.cmdSN = window.immediateCmdSN
            reply.expStatSN = expStatSN
            reply.data = pdu.data
            out.append(.send(reply.pdu()))
        }
        // Both reserved: a window update only; StatSN is not advanced.
    }

    private mutating func receiveTMFResponse(_ pdu: TaskManagementResponsePDU, into out: inout [Output]) throws {
        window.update(expCmdSN: pdu.expCmdSN, maxCmdSN: pdu.maxCmdSN)
        acknowledge(statSN: pdu.statSN)
        guard let task = tasks.removeValue(forKey: pdu.initiatorTaskTag), case .taskManagement(let req) = task.kind else {
            throw ConnectionFailure(description: "Task Management Response for unknown ITT 0x\(String(pdu.initiatorTaskTag, radix: 16))")
        }
        // After a completed (or "task does not exist") TMF the target sends nothing more for the
        // affected tasks, so they end here.
        if pdu.response == 0 || (pdu.response == 1 && req.function == .abortTask) {
            let why = "\(req.function) completed"
            let affected: [UInt32] = tasks.compactMap { itt, t in
                guard case .scsi(let s) = t.kind, s.sent else { return nil }
                switch req.function {
                case .abortTask: return itt == req.referencedTaskTag ? itt : nil
                case .abortTaskSet, .clearTaskSet, .logicalUnitReset:
                    return s.request.lun == req.lun && SerialNumber.lessThan(s.cmdSN, req.cmdSN &+ 1) ? itt : nil
                case .targetWarmReset, .targetColdReset: return itt
                default: return nil
                }
            }.sorted()
            for itt in affected {
                if let t = tasks.removeValue(forKey: itt) {
                    outstanding -= 1
                    out.append(Self.failure(t, .aborted(why)))
                }
            }
        }
        out.append(.taskManagementCompleted(task.context, .success(pdu.response)))
    }

    private mutating func receiveText(_ pdu: TextResponsePDU, into out: inout [Output]) throws {
        window.update(expCmdSN: pdu.expCmdSN, maxCmdSN: pdu.maxCmdSN)
        acknowledge(statSN: pdu.statSN)
        guard var task = tasks[pdu.initiatorTaskTag], case .text(var accumulated) = task.kind else {
            throw ConnectionFailure(description: "Text Response for unknown ITT 0x\(String(pdu.initiatorTaskTag, radix: 16))")
        }
        var data = pdu.data
        accumulated.writeBuffer(&data)
        guard accumulated.readableBytes <= 1 << 20 else {
            throw ConnectionFailure(description: "Text Response data exceeds 1 MiB")
        }
        if pdu.final {
            tasks[pdu.initiatorTaskTag] = nil
            out.append(.textCompleted(task.context, .success(accumulated)))
        } else {
            // More to come: ask for it with an empty Text Request carrying the target's TTT.
            task.kind = .text(accumulated: accumulated)
            tasks[pdu.initiatorTaskTag] = task
            var req = TextRequestPDU()
            req.immediate = true
            req.final = true
            req.initiatorTaskTag = pdu.initiatorTaskTag
            req.targetTransferTag = pdu.targetTransferTag
            req.cmdSN = window.immediateCmdSN
            req.expStatSN = expStatSN
            out.append(.send(req.pdu()))
        }
    }

    private mutating func receiveLogout(_ pdu: LogoutResponsePDU, into out: inout [Output]) throws {
        window.update(expCmdSN: pdu.expCmdSN, maxCmdSN: pdu.maxCmdSN)
        acknowledge(statSN: pdu.statSN)
        guard let task = tasks.removeValue(forKey: pdu.initiatorTaskTag), case .logout = task.kind else {
            throw ConnectionFailure(description: "Logout Response for unknown ITT 0x\(String(pdu.initiatorTaskTag, radix: 16))")
        }
        out.append(.logoutCompleted(task.context, .success(pdu)))
    }

    private mutating func receiveReject(_ pdu: RejectPDU, into out: inout [Output]) throws {
        window.update(expCmdSN: pdu.expCmdSN, maxCmdSN: pdu.maxCmdSN)
        acknowledge(statSN: pdu.statSN)
        guard let rejected = pdu.rejectedHeader else {
            throw ConnectionFailure(description: "Reject (\(RejectPDU.describe(pdu.reason))) without the rejected header")
        }
        let itt = rejected.initiatorTaskTag
        // A rejected Data-Out or SNACK leaves its command waiting for nothing: end it too.
        guard itt != reservedTag, let task = tasks.removeValue(forKey: itt) else { return }
        if case .scsi(let s) = task.kind, s.sent { outstanding -= 1 }
        out.append(Self.failure(task, .rejected(reason: pdu.reason)))
    }

    // MARK: - Sending

    /// Sends waiting commands while the window and cmds_max allow.
    private mutating func pump(into out: inout [Output]) {
        while waitingHead < waiting.count && window.isOpen && outstanding < maxOutstanding {
            let itt = waiting[waitingHead]
            waitingHead += 1
            guard var task = tasks[itt], case .scsi(var state) = task.kind else { continue }
            state.cmdSN = window.consume()
            state.sent = true
            state.sentAt = .now()
            outstanding += 1
            task.kind = .scsi(state)
            tasks[itt] = task
            emitCommand(state, itt: itt, into: &out)
        }
        if waitingHead == waiting.count {
            waiting.removeAll(keepingCapacity: true)
            waitingHead = 0
        } else if waitingHead > 1024 {
            waiting.removeFirst(waitingHead)
            waitingHead = 0
        }
    }

    private mutating func emitCommand(_ state: SCSIState, itt: UInt32, into out: inout [Output]) {
        let request = state.request
        var cmd = SCSICommandPDU()
        cmd.lun = request.lun
        cmd.initiatorTaskTag = itt
        cmd.cmdSN = state.cmdSN
        cmd.expStatSN = expStatSN
        cmd.cdb = request.cdb
        cmd.attribute = request.attribute
        cmd.expectedDataTransferLength = UInt32(request.expectedDataTransferLength)
        cmd.read = request.direction == .read
        cmd.write = request.direction == .write
        guard request.direction == .write, let data = request.dataOut, data.readableBytes > 0 else {
            out.append(.send(cmd.pdu()))
            return
        }
        let total = data.readableBytes
        let firstBurst = min(limits.firstBurstLength, total)
        var sent = 0
        if limits.immediateData {
            sent = min(firstBurst, limits.maxXmitDataSegmentLength)
            cmd.data = data.getSlice(at: data.readerIndex, length: sent)!
        }
        let unsolicitedMore = !limits.initialR2T && sent < firstBurst
        cmd.final = !unsolicitedMore
        out.append(.send(cmd.pdu()))
        if unsolicitedMore {
            emitDataOut(data: data, from: sent, length: firstBurst - sent, itt: itt, lun: request.lun,
                        ttt: reservedTag, into: &out)
        }
    }

    /// One Data-Out sequence: PDUs of at most MaxXmitDataSegmentLength, DataSN from 0, F on the last.
    private func emitDataOut(data: ByteBuffer, from offset: Int, length: Int, itt: UInt32, lun: UInt64,
                             ttt: UInt32, into out: inout [Output]) {
        var position = offset
        let end = offset + length
        var dataSN: UInt32 = 0
        let segment = max(512, limits.maxXmitDataSegmentLength)
        while position < end {
            let chunk = min(segment, end - position)
            var pdu = DataOutPDU()
            pdu.lun = lun
            pdu.initiatorTaskTag = itt
            pdu.targetTransferTag = ttt
            pdu.expStatSN = expStatSN
            pdu.dataSN = dataSN
            pdu.bufferOffset = UInt32(position)
            pdu.final = position + chunk == end
            pdu.data = data.getSlice(at: data.readerIndex + position, length: chunk)!
            out.append(.send(pdu.pdu()))
            dataSN &+= 1
            position += chunk
        }
    }

    // MARK: - Helpers

    private mutating func acknowledge(statSN: UInt32) {
        if SerialNumber.lessOrEqual(expStatSN, statSN) { expStatSN = statSN &+ 1 }
    }

    private mutating func allocateITT() -> UInt32 {
        while true {
            let itt = nextITT
            nextITT &+= 1
            if nextITT == reservedTag { nextITT = 1 }
            if itt != reservedTag && tasks[itt] == nil { return itt }
        }
    }

    private mutating func removeWaiting(_ itt: UInt32) {
        if let index = waiting[waitingHead...].firstIndex(of: itt) { waiting.remove(at: index) }
    }

    private static func failure(_ task: Task, _ error: ISCSITaskError) -> Output {
        switch task.kind {
        case .scsi: return .scsiCompleted(task.context, .failure(error))
        case .nop: return .nopCompleted(task.context, .failure(error))
        case .taskManagement: return .taskManagementCompleted(task.context, .failure(error))
        case .text: return .textCompleted(task.context, .failure(error))
        case .logout: return .logoutCompleted(task.context, .failure(error))
        }
    }
}
