import ArgumentParser
import MPathControl

extension MPathCtl {
    /// `multipathd fail path P`.
    struct FailPath: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "fail-path", abstract: "Stop using a path (it stays failed until reinstated).")
        @OptionGroup var locations: LocationOptions
        @Argument(help: "Path name as `mpathctl status` shows it, e.g. p1.")
        var path: String

        func run() throws {
            Daemon.run(.failPath(path: path), locations: locations)
        }
    }

    /// `multipathd reinstate path P`.
    struct ReinstatePath: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "reinstate-path", abstract: "Use a failed path again (if its checker finds it up).")
        @OptionGroup var locations: LocationOptions
        @Argument(help: "Path name as `mpathctl status` shows it, e.g. p1.")
        var path: String

        func run() throws {
            Daemon.run(.reinstatePath(path: path), locations: locations)
        }
    }

    /// `multipathd switchgroup map M group N`.
    struct SwitchGroup: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "switch-group", abstract: "Send a map's IO to another path group.")
        @OptionGroup var locations: LocationOptions
        @Argument(help: "Map name.")
        var map: String
        @Argument(help: "Path group number, 1 for the first group as `mpathctl status` lists them.")
        var group: Int

        func run() throws {
            guard group >= 1 else { MPathCtl.fail("invalid group \(group): groups are numbered from 1") }
            Daemon.run(.switchGroup(map: map, group: group), locations: locations)
        }
    }
}
