import Foundation
import MPathConfig

/// What most subcommands need: resolved directories, iscsid.conf, the initiator name and the
/// node database. Config warnings go to stderr once; errors end the command with one line.
struct CommandContext {
    let locations: ConfigLocations
    let settings: SessionSettings
    let nodes: NodeDatabase
    let ifaces: IfaceDatabase

    init(_ options: LocationOptions) {
        locations = ConfigLocations.resolve(configDir: options.configDir, stateDir: options.stateDir, runDir: options.runDir)
        if FileManager.default.fileExists(atPath: locations.iscsidConf) {
            do {
                let parsed = try ISCSIDConf.load(path: locations.iscsidConf)
                for warning in parsed.diagnostics {
                    FileHandle.standardError.write(Data("mpathctl: \(warning)\n".utf8))
                }
                settings = parsed.value
            } catch {
                MPathCtl.fail("\(error)")
            }
        } else {
            settings = SessionSettings()
        }
        nodes = NodeDatabase(stateDir: locations.stateDir)
        ifaces = IfaceDatabase(stateDir: locations.stateDir)
    }

    /// initiatorname.iscsi, created with a fresh IQN on first use (like open-iscsi's packaging).
    func initiatorName() -> InitiatorName {
        do {
            try FileManager.default.createDirectory(atPath: locations.configDir, withIntermediateDirectories: true)
            return try InitiatorName.loadOrCreate(at: locations.initiatorNameFile)
        } catch {
            MPathCtl.fail("\(error)")
        }
    }

    func parsePortal(_ text: String) -> Portal {
        do { return try Portal(parsing: text) } catch { MPathCtl.fail("\(error)") }
    }
}
