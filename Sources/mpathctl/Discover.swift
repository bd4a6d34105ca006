import ArgumentParser
import Foundation
import ISCSI
import Multipath
import MPathConfig
import NIOPosix

extension MPathCtl {
    /// `iscsiadm -m discovery -t st -p P`: SendTargets on each portal, node records saved.
    struct Discover: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "SendTargets discovery; saves node records and prints `portal,tpgt target` lines.")

        @OptionGroup var locations: LocationOptions

        @Option(name: [.customShort("p"), .customLong("portal")], help: "Discovery portal HOST[:PORT] (repeatable).")
        var portals: [String]

        @Option(name: [.customShort("I"), .customLong("interface")], help: "Create the records for these iface records (repeatable).")
        var ifaces: [String] = []

        @Flag(help: "Print what was found without saving records.")
        var noSave = false

        func run() async throws {
            guard !portals.isEmpty else { MPathCtl.fail("name at least one portal with -p HOST[:PORT]") }
            let context = CommandContext(locations)
            let initiator = context.initiatorName()
            let discoveryPortals = portals.map(context.parsePortal)
            let ifaceNames = ifaces.isEmpty ? [IfaceRecord.defaultName] : ifaces
            for name in ifaceNames where name != IfaceRecord.defaultName {
                if (try? context.ifaces.get(name)) ?? nil == nil { MPathCtl.fail("no iface record named '\(name)'") }
            }
            let group = MultiThreadedEventLoopGroup.singleton
            let configuration = LoginSettings.discoveryConfiguration(settings: context.settings, initiatorName: initiator.name)
            let timeout = context.settings.loginTimeout
            // Portals are asked in parallel: one dead portal costs its timeout, not everyone's.
            let results = await withTaskGroup(of: (Portal, Result<[DiscoveredTarget], Error>).self) { tasks in
                for portal in discoveryPortals {
                    tasks.addTask {
                        do {
                            let found = try await Initiator.discover(host: portal.host, port: portal.port, configuration: configuration,
                                                                     group: group, timeout: .seconds(Int64(timeout)))
                            return (portal, .success(found))
                        } catch {
                            return (portal, .failure(error))
                        }
                    }
                }
                var all: [(Portal, Result<[DiscoveredTarget], Error>)] = []
                for await result in tasks { all.append(result) }
                return all.sorted { $0.0 < $1.0 }
            }
            var failed = false
            var printed = Set<String>()
            for (portal, result) in results {
                switch result {
                case .failure(let error):
                    FileHandle.standardError.write(Data("mpathctl: discovery on \(portal.host):\(portal.port): \(error)\n".utf8))
                    failed = true
                case .success(let targets):
                    for target in targets {
                        for found in target.portals {
                            let line = "\(found.description) \(target.name)"
                            if printed.insert(line).inserted { print(line) }
                            if noSave { continue }
                            for iface in ifaceNames {
                                let record = NodeRecord(targetName: target.name,
                                                        portal: Portal(host: found.host, port: found.port, tpgt: found.tpgt),
                                                        iface: iface, discoveryAddress: portal)
                                do {
                                    // Keep the overrides of a record that already exists.
                                    if let existing = try context.nodes.find(target: record.targetName, portal: record.portal,
                                                                             iface: iface).first {
                                        var merged = record
                                        merged.overrides = existing.overrides
                                        try context.nodes.save(merged)
                                    } else {
                                        try context.nodes.save(record)
                                    }
                                } catch {
                                    MPathCtl.fail("saving node record: \(error)")
                                }
                            }
                        }
                    }
                }
            }
            if failed { throw ExitCode(1) }
        }
    }
}
