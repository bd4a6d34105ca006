import Foundation
import MPathConfig
import MPathControl

/// Talking to mpathd for the subcommands that need it: one request, one answer. Every failure
/// ends the command with one line: exit 2 when mpathd is not running, the daemon's own code
/// when it answers with an error.
enum Daemon {
    /// Seconds to wait for quick queries and commands.
    static let defaultTimeout = 30.0
    /// Seconds to wait for commands that log in, log out or talk to every path.
    static let networkTimeout = 120.0

    /// Sends `request` to `<runDir>/mpathd.sock`; an `.error` answer ends the command.
    static func send(_ request: ControlRequest, locations options: LocationOptions,
                     timeout: Double = defaultTimeout) -> ControlResponse {
        let locations = ConfigLocations.resolve(
            configDir: options.configDir, stateDir: options.stateDir, runDir: options.runDir)
        let client = ControlClient(socketPath: ControlWire.socketPath(runDir: locations.runDir))
        let response: ControlResponse
        do {
            response = try client.send(request, timeout: timeout)
        } catch ControlError.daemonNotRunning(let path) {
            MPathCtl.fail(ControlError.daemonNotRunning(path).description, code: 2)
        } catch ControlError.timedOut {
            MPathCtl.fail("mpathd did not answer within \(Int(timeout)) seconds")
        } catch {
            MPathCtl.fail("\(error)")
        }
        if case .error(let message, let code) = response {
            MPathCtl.fail(message, code: code == 0 ? 1 : code)
        }
        return response
    }

    /// Sends a command answered by `.ok` and prints its message (when there is one).
    static func run(_ request: ControlRequest, locations: LocationOptions, timeout: Double = defaultTimeout) {
        let response = send(request, locations: locations, timeout: timeout)
        guard case .ok(let message) = response else { unexpected(response) }
        if !message.isEmpty { print(message) }
    }

    /// Ends the command when mpathd answers with the wrong kind of response.
    static func unexpected(_ response: ControlResponse) -> Never {
        MPathCtl.fail("mpathd sent an unexpected answer (\(kind(of: response))); are mpathctl and mpathd the same version?")
    }

    private static func kind(of response: ControlResponse) -> String {
        switch response {
        case .ok: return "ok"
        case .status: return "status"
        case .table: return "table"
        case .sessions: return "sessions"
        case .logins: return "logins"
        case .error: return "error"
        case .pong: return "pong"
        }
    }
}
