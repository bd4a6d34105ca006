import ArgumentParser
import MPathControl

extension MPathCtl {
    /// `dmsetup table` for the daemon's maps.
    struct Table: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Device-mapper multipath table of each map (`name: 0 SECTORS multipath …`).")
        @OptionGroup var locations: LocationOptions
        @Argument(help: "Map name; every map when left out.")
        var map: String?

        func run() throws {
            let response = Daemon.send(.table(map: map), locations: locations)
            guard case .table(let lines) = response else { Daemon.unexpected(response) }
            for line in lines { print(line) }
        }
    }
}
