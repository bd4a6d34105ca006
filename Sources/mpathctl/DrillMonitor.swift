import Dispatch
import Foundation
import MPathControl
import Multipath

/// Polls `status` for one map every `interval` seconds on its own thread and keeps every answer
/// as a `DrillStatusSample` stamped with the time it arrived. A failed poll is counted, never
/// fatal: the drill must always get to removing its rules.
final class DrillMonitor: @unchecked Sendable {
    struct Log {
        var samples: [DrillStatusSample] = []
        var errors = 0
        var firstError: DrillEvent?
    }

    private let client: ControlClient
    private let map: String
    private let interval: Double
    private let log = LockedBox(Log())
    private let stopFlag = LockedBox(false)
    private let finished = DispatchSemaphore(value: 0)

    init(client: ControlClient, map: String, interval: Double = 0.05) {
        self.client = client
        self.map = map
        self.interval = interval
    }

    func start() {
        let thread = Thread { [self] in
            defer { finished.signal() }
            while !stopFlag.value {
                let began = DrillClock.now()
                poll()
                let elapsed = Double(DrillClock.now() - began) / 1e9
                if elapsed < interval { usleep(useconds_t((interval - elapsed) * 1e6)) }
            }
        }
        thread.name = "drill-status"
        thread.start()
    }

    private func poll() {
        let outcome: Result<MapView, DrillError>
        do {
            switch try client.send(.status(map: map), timeout: 2) {
            case .status(let report):
                if let view = report.maps.first(where: { $0.name == map }) {
                    outcome = .success(view)
                } else {
                    outcome = .failure(DrillError("status no longer lists map \(map)"))
                }
            case .error(let message, _):
                outcome = .failure(DrillError(message))
            default:
                outcome = .failure(DrillError("unexpected answer to status"))
            }
        } catch {
            outcome = .failure(DrillError("\(error)"))
        }
        let at = DrillClock.now()
        log.update { log in
            switch outcome {
            case .success(let view):
                log.samples.append(DrillStatusSample(at: at, map: view))
            case .failure(let error):
                log.errors += 1
                if log.firstError == nil { log.firstError = DrillEvent(at: at, text: "status poll failed: \(error)") }
            }
        }
    }

    /// Everything so far.
    var snapshot: Log { log.value }

    /// Waits until `condition` holds for the samples so far, checking every `interval`; false
    /// when `timeout` seconds passed first.
    func wait(timeout: Double, until condition: ([DrillStatusSample]) -> Bool) -> Bool {
        let deadline = DrillClock.now() + UInt64(max(0, timeout) * 1e9)
        while DrillClock.now() < deadline {
            if condition(log.value.samples) { return true }
            usleep(useconds_t(interval * 1e6))
        }
        return condition(log.value.samples)
    }

    /// Stops polling (waits for the poll in progress, at most a few seconds).
    func stop() -> Log {
        stopFlag.update { $0 = true }
        _ = finished.wait(timeout: .now() + 5)
        return log.value
    }
}
