import ArgumentParser
import MPathConfig

extension MPathCtl {
    /// `iscsi-iname`: a new unique initiator name.
    struct Iname: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print a new unique iSCSI initiator name (IQN).")

        @Option(name: .shortAndLong, help: "IQN prefix.")
        var prefix: String = InitiatorName.defaultPrefix

        @Flag(name: .short, help: "Print it as an initiatorname.iscsi line (InitiatorName=…).")
        var generateLine = false

        func run() throws {
            let name: String
            do { name = try InitiatorName.generate(prefix: prefix) } catch { MPathCtl.fail("\(error)") }
            print(generateLine ? "InitiatorName=\(name)" : name)
        }
    }
}
