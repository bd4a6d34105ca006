import ArgumentParser
import Foundation
import MPathControl
import Multipath

extension MPathCtl {
    /// `multipath -ll` / `multipathd show topology`.
    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Maps and their paths, like `multipath -ll`.",
            discussion: "Exit status: 0 every path active, 1 a map is degraded, 2 a map has no usable path.")
        @OptionGroup var locations: LocationOptions
        @Argument(help: "Map name (alias or WWID); every map when left out.")
        var map: String?
        @Flag(help: "Print the report as JSON (keys sorted).")
        var json = false

        func run() throws {
            let response = Daemon.send(.status(map: map), locations: locations)
            guard case .status(let report) = response else { Daemon.unexpected(response) }
            if json {
                do {
                    print(try report.jsonString())
                } catch {
                    MPathCtl.fail("could not encode the status report: \(error)")
                }
            } else {
                print(MultipathLL.render(report.maps), terminator: "")
            }
            if report.exitCode != 0 { throw ExitCode(report.exitCode) }
        }
    }
}
