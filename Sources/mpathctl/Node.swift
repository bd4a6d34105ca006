import ArgumentParser
import Foundation
import MPathConfig

extension MPathCtl {
    /// `iscsiadm -m node`: node records per target × portal × iface.
    struct Node: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List, show, create, update and delete node records.",
            subcommands: [List.self, Show.self, New.self, Delete.self, Update.self],
            defaultSubcommand: List.self)
    }
}

/// -T / -p / -I selection shared by the node subcommands; any subset matches like iscsiadm.
struct NodeSelection: ParsableArguments {
    @Option(name: [.customShort("T"), .customLong("targetname")], help: "Target IQN.")
    var target: String?

    @Option(name: [.customShort("p"), .customLong("portal")], help: "Portal HOST[:PORT][,TPGT].")
    var portal: String?

    @Option(name: [.customShort("I"), .customLong("interface")], help: "iface record name.")
    var iface: String?
}

extension MPathCtl.Node {
    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "One line per record: `127.0.0.2:3260,1 iqn…`.")
        @OptionGroup var locations: LocationOptions
        @OptionGroup var selection: NodeSelection

        func run() throws {
            let context = CommandContext(locations)
            do {
                let records = try context.nodes.find(target: selection.target,
                                                     portal: selection.portal.map(context.parsePortal), iface: selection.iface)
                if records.isEmpty && (selection.target != nil || selection.portal != nil) {
                    MPathCtl.fail("no records found", code: 21)
                }
                for record in records { print(record.description) }
            } catch {
                MPathCtl.fail("\(error)")
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Every setting of the matching records (secrets masked).")
        @OptionGroup var locations: LocationOptions
        @OptionGroup var selection: NodeSelection
        @Flag(help: "Show CHAP secrets instead of masking them.")
        var showSecrets = false

        func run() throws {
            let context = CommandContext(locations)
            do {
                let records = try context.nodes.find(target: selection.target,
                                                     portal: selection.portal.map(context.parsePortal), iface: selection.iface)
                guard !records.isEmpty else { MPathCtl.fail("no records found", code: 21) }
                for (i, record) in records.enumerated() {
                    if i > 0 { print("") }
                    print("# BEGIN RECORD \(record.description)")
                    for line in try record.showLines(base: context.settings, showSecrets: showSecrets) { print(line) }
                    print("# END RECORD")
                }
            } catch {
                MPathCtl.fail("\(error)")
            }
        }
    }

    struct New: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a record by hand (targets that do not allow discovery).")
        @OptionGroup var locations: LocationOptions
        @Option(name: [.customShort("T"), .customLong("targetname")], help: "Target IQN.")
        var target: String
        @Option(name: [.customShort("p"), .customLong("portal")], help: "Portal HOST[:PORT][,TPGT].")
        var portal: String
        @Option(name: [.customShort("I"), .customLong("interface")], help: "iface record name.")
        var iface: String = IfaceRecord.defaultName

        func run() throws {
            let context = CommandContext(locations)
            do {
                _ = try ISCSIName.validate(target)
                if iface != IfaceRecord.defaultName, try context.ifaces.get(iface) == nil {
                    MPathCtl.fail("no iface record named '\(iface)' (create it with `mpathctl iface new`)")
                }
                let record = NodeRecord(targetName: target, portal: context.parsePortal(portal), iface: iface)
                try context.nodes.save(record)
                print("New iSCSI node [tcp:[hw=,ip=,net_if=,iscsi_if=\(iface)] \(record.portal) \(target)] added")
            } catch {
                MPathCtl.fail("\(error)")
            }
        }
    }

    struct Delete: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete the matching records.")
        @OptionGroup var locations: LocationOptions
        @OptionGroup var selection: NodeSelection

        func run() throws {
            let context = CommandContext(locations)
            guard selection.target != nil || selection.portal != nil || selection.iface != nil else {
                MPathCtl.fail("refusing to delete every record: name -T, -p or -I")
            }
            do {
                let deleted = try context.nodes.delete(target: selection.target,
                                                       portal: selection.portal.map(context.parsePortal), iface: selection.iface)
                guard !deleted.isEmpty else { MPathCtl.fail("no records found", code: 21) }
                for record in deleted { print("deleted \(record.description)") }
            } catch {
                MPathCtl.fail("\(error)")
            }
        }
    }

    struct Update: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Set one key on the matching records (`-o update -n KEY -v VALUE`).")
        @OptionGroup var locations: LocationOptions
        @OptionGroup var selection: NodeSelection
        @Option(name: [.customShort("n"), .customLong("name")], help: "Setting key, e.g. node.session.auth.username.")
        var key: String
        @Option(name: [.customShort("v"), .customLong("value")], help: "New value.")
        var value: String

        func run() throws {
            let context = CommandContext(locations)
            guard selection.target != nil else { MPathCtl.fail("update needs -T IQN") }
            do {
                let updated = try context.nodes.update(target: selection.target,
                                                       portal: selection.portal.map(context.parsePortal),
                                                       iface: selection.iface, key: key, value: value)
                let shown = SessionSettings.isSecret(key: key) ? SessionSettings.mask : value
                for record in updated { print("\(record.description): \(key) = \(shown)") }
            } catch {
                MPathCtl.fail("\(error)")
            }
        }
    }
}
