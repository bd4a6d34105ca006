import ArgumentParser
import MPathControl

extension MPathCtl {
    /// `iscsiadm -m session -R`: READ CAPACITY again on every path.
    struct Rescan: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Re-read the capacity of every path of a map (or of every map).")
        @OptionGroup var locations: LocationOptions
        @Argument(help: "Map name; every map with --all or when left out.")
        var map: String?
        @Flag(help: "Every map.")
        var all = false

        func run() throws {
            if all && map != nil { MPathCtl.fail("give a map name or --all, not both") }
            Daemon.run(.rescan(map: map), locations: locations, timeout: Daemon.networkTimeout)
        }
    }

    /// `multipathd resize map M`.
    struct Resize: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Grow a map to the size all its paths report (shrinking needs --force).")
        @OptionGroup var locations: LocationOptions
        @Argument(help: "Map name.")
        var map: String
        @Flag(help: "Allow shrinking the map (data beyond the new end becomes unreachable).")
        var force = false

        func run() throws {
            Daemon.run(.resize(map: map, force: force), locations: locations, timeout: Daemon.networkTimeout)
        }
    }
}
