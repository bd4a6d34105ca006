import ArgumentParser
import Foundation
import MPathConfig

extension MPathCtl {
    /// `iscsiadm -m iface`: how sessions leave this host (source address, interface, MAC).
    /// Works on the iface records directly; mpathd is not needed.
    struct Iface: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List, show, create, update and delete iface records.",
            subcommands: [List.self, Show.self, New.self, Update.self, Delete.self],
            defaultSubcommand: List.self)

        /// The iface store under the state directory (iscsid.conf is not needed here).
        static func database(_ options: LocationOptions) -> IfaceDatabase {
            let locations = ConfigLocations.resolve(
                configDir: options.configDir, stateDir: options.stateDir, runDir: options.runDir)
            return IfaceDatabase(stateDir: locations.stateDir)
        }

        /// The named record; a name that does not exist ends the command with exit 21.
        static func existing(_ name: String, in database: IfaceDatabase) -> IfaceRecord {
            do {
                guard let record = try database.get(name) else {
                    MPathCtl.fail("no iface record named '\(name)'", code: 21)
                }
                return record
            } catch {
                MPathCtl.fail("\(error)")
            }
        }
    }
}

extension MPathCtl.Iface {
    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "One line per iface: `name tcp,hwaddress,ipaddress,net_ifacename,initiatorname`.")
        @OptionGroup var locations: LocationOptions

        func run() throws {
            do {
                for record in try MPathCtl.Iface.database(locations).list() { print(record.listing) }
            } catch {
                MPathCtl.fail("\(error)")
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Every setting of one iface.")
        @OptionGroup var locations: LocationOptions
        @Argument(help: "iface name.")
        var name: String

        func run() throws {
            let record = MPathCtl.Iface.existing(name, in: MPathCtl.Iface.database(locations))
            print("# BEGIN RECORD \(record.name)")
            for line in record.renderedLines(includeUnset: true) { print(line) }
            print("# END RECORD")
        }
    }

    struct New: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create an iface (`iscsiadm -m iface -I NAME -o new`), optionally with its bindings.")
        @OptionGroup var locations: LocationOptions
        @Argument(help: "iface name: letters, digits, '.', '_' and '-', at most 64.")
        var name: String
        @Option(name: .customLong("ipaddress"), help: "Source address to bind to (iface.ipaddress).")
        var ipaddress: String?
        @Option(name: .customLong("net-ifacename"), help: "Network interface to bind to, e.g. eth0 (iface.net_ifacename).")
        var netIfacename: String?
        @Option(name: .customLong("hwaddress"), help: "MAC of the interface to use (iface.hwaddress).")
        var hwaddress: String?
        @Option(name: .customLong("initiatorname"), help: "Initiator name for sessions on this iface (iface.initiatorname).")
        var initiatorname: String?

        func run() throws {
            do {
                try IfaceRecord.validate(name: name)
                var record = IfaceRecord(name: name)
                let settings: [(String, String?)] = [
                    ("iface.ipaddress", ipaddress), ("iface.net_ifacename", netIfacename),
                    ("iface.hwaddress", hwaddress), ("iface.initiatorname", initiatorname),
                ]
                for case let (key, value?) in settings { try record.set(key: key, value: value) }
                try MPathCtl.Iface.database(locations).new(record)
                print("New interface \(name) added")
            } catch {
                MPathCtl.fail("\(error)")
            }
        }
    }

    struct Update: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Set one key of an iface (`-o update -n iface.hwaddress -v …`); an empty value unsets it.")
        @OptionGroup var locations: LocationOptions
        @Argument(help: "iface name.")
        var name: String
        @Option(name: [.customShort("n"), .customLong("name")], help: "Key, e.g. iface.ipaddress.")
        var key: String
        @Option(name: [.customShort("v"), .customLong("value")], help: "New value.")
        var value: String

        func run() throws {
            let database = MPathCtl.Iface.database(locations)
            _ = MPathCtl.Iface.existing(name, in: database)
            do {
                try database.update(name: name, key: key, value: value)
                print("\(name) updated.")
            } catch {
                MPathCtl.fail("\(error)")
            }
        }
    }

    struct Delete: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete an iface record.")
        @OptionGroup var locations: LocationOptions
        @Argument(help: "iface name.")
        var name: String

        func run() throws {
            let database = MPathCtl.Iface.database(locations)
            if !IfaceRecord.reservedNames.contains(name) { _ = MPathCtl.Iface.existing(name, in: database) }
            do {
                try database.delete(name)
                print("\(name) deleted.")
            } catch {
                MPathCtl.fail("\(error)")
            }
        }
    }
}
