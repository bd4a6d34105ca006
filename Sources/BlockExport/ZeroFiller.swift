import NIOCore

/// Writes zeros over a byte range in chunks with a few writes in flight.
/// Completions may arrive synchronously from the backend; the `pumping`
/// flag turns such re-entry into iteration so huge ranges cannot overflow
/// the stack.
final class ZeroFiller: @unchecked Sendable {
    private struct State {
        var next: UInt64
        var inFlight = 0
        var failure: BlockIOError?
        var finished = false
        var pumping = false
        var rerun = false
    }

    private let device: ExportedDevice
    private let end: UInt64
    private let completion: @Sendable (Result<Void, BlockIOError>) -> Void
    private let state: Locked<State>

    init(device: ExportedDevice, start: UInt64, end: UInt64, completion: @escaping @Sendable (Result<Void, BlockIOError>) -> Void) {
        self.device = device
        self.end = end
        self.completion = completion
        self.state = Locked(State(next: start))
    }

    /// Issues chunks until the window is full, then reports completion once
    /// everything is written or a write failed and the rest drained.
    func pump() {
        let enter = state.withLock { state -> Bool in
            if state.pumping {
                state.rerun = true
                return false
            }
            state.pumping = true
            return true
        }
        guard enter else { return }
        while true {
            while let chunk = nextChunk() {
                let data = device.zeros.getSlice(at: 0, length: chunk.count) ?? device.zeros
                device.write(offset: chunk.offset, data: data) { result in
                    self.chunkDone(chunk: chunk, result: result)
                }
            }
            let outcome = state.withLock { state -> (again: Bool, report: Result<Void, BlockIOError>?) in
                if state.rerun {
                    state.rerun = false
                    return (true, nil)
                }
                state.pumping = false
                return (false, self.takeReport(&state))
            }
            if let report = outcome.report {
                completion(report)
            }
            if !outcome.again {
                return
            }
        }
    }

    private func nextChunk() -> (offset: UInt64, count: Int)? {
        state.withLock { state in
            guard state.failure == nil, state.next < end, state.inFlight < ExportedDevice.zeroFillDepth else { return nil }
            let offset = state.next
            // End chunks on block boundaries so only the first and last can be unaligned.
            let boundary = roundDown(offset + UInt64(ExportedDevice.zeroChunk), to: device.blockSize)
            let stop = min(end, boundary > offset ? boundary : offset + UInt64(ExportedDevice.zeroChunk))
            state.next = stop
            state.inFlight += 1
            return (offset, Int(stop - offset))
        }
    }

    private func chunkDone(chunk: (offset: UInt64, count: Int), result: Result<Int, BlockIOError>) {
        let report = state.withLock { state -> Result<Void, BlockIOError>? in
            state.inFlight -= 1
            switch result {
            case .failure(let error):
                if state.failure == nil {
                    state.failure = error
                }
            case .success(let written) where written != chunk.count:
                if state.failure == nil {
                    state.failure = .io("zero fill wrote \(written) of \(chunk.count) bytes at \(chunk.offset)")
                }
            case .success:
                break
            }
            return state.pumping ? nil : self.takeReport(&state)
        }
        if let report {
            completion(report)
        } else {
            pump()
        }
    }

    /// The final result, once, when nothing is in flight and nothing more will be issued.
    private func takeReport(_ state: inout State) -> Result<Void, BlockIOError>? {
        guard !state.finished, state.inFlight == 0 else { return nil }
        if let failure = state.failure {
            state.finished = true
            return .failure(failure)
        }
        guard state.next >= end else { return nil }
        state.finished = true
        return .success(())
    }
}
