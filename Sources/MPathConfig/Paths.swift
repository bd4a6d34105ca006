import Foundation

/// Where mpath-iscsi keeps its configuration, persistent state and runtime files.
///
/// The layout mirrors open-iscsi (`/etc/iscsi` + `/var/lib/iscsi`) and multipath-tools
/// (`/etc/multipath.conf`, `/etc/multipath/bindings`) under our own roots, so both stacks can
/// coexist on one host.
public struct ConfigLocations: Equatable, Sendable {
    /// Configuration directory: iscsid.conf, initiatorname.iscsi, multipath.conf.
    public var configDir: String
    /// Persistent state: node, iface and discovery records, bindings.
    public var stateDir: String
    /// Runtime files: control socket, pid file.
    public var runDir: String

    /// Default configuration directory.
    public static let defaultConfigDir = "/etc/mpathd"
    /// Default state directory.
    public static let defaultStateDir = "/var/lib/mpathd"
    /// Default runtime directory.
    public static let defaultRunDir = "/run/mpathd"

    /// Environment variables consulted when no flag is given.
    public static let configDirVariable = "MPATH_CONFIG_DIR"
    public static let stateDirVariable = "MPATH_STATE_DIR"
    public static let runDirVariable = "MPATH_RUN_DIR"

    public init(configDir: String, stateDir: String, runDir: String) {
        self.configDir = Self.normalized(configDir)
        self.stateDir = Self.normalized(stateDir)
        self.runDir = Self.normalized(runDir)
    }

    /// Resolves each directory with the precedence flag > environment variable > default.
    /// Empty strings count as "not given" so `MPATH_STATE_DIR= mpathctl …` means the default.
    public static func resolve(
        configDir: String?,
        stateDir: String?,
        runDir: String?,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) -> ConfigLocations {
        func pick(_ flag: String?, _ variable: String, _ fallback: String) -> String {
            if let flag, !flag.isEmpty { return flag }
            if let value = environment[variable], !value.isEmpty { return value }
            return fallback
        }
        return ConfigLocations(
            configDir: pick(configDir, configDirVariable, defaultConfigDir),
            stateDir: pick(stateDir, stateDirVariable, defaultStateDir),
            runDir: pick(runDir, runDirVariable, defaultRunDir))
    }

    /// configDir/iscsid.conf
    public var iscsidConf: String { configDir + "/iscsid.conf" }
    /// configDir/initiatorname.iscsi
    public var initiatorNameFile: String { configDir + "/initiatorname.iscsi" }
    /// configDir/multipath.conf
    public var multipathConf: String { configDir + "/multipath.conf" }
    /// configDir/multipath.conf.d, the drop-in directory.
    public var multipathConfDropInDir: String { configDir + "/multipath.conf.d" }
    /// stateDir/nodes
    public var nodesDir: String { stateDir + "/nodes" }
    /// stateDir/ifaces
    public var ifacesDir: String { stateDir + "/ifaces" }
    /// stateDir/send_targets
    public var sendTargetsDir: String { stateDir + "/send_targets" }
    /// stateDir/bindings
    public var bindingsFile: String { stateDir + "/bindings" }

    /// The `*.conf` drop-ins in alphabetical order (read after multipath.conf; later wins).
    /// A missing directory yields no drop-ins.
    public func multipathDropIns() throws -> [String] {
        try FileIO.listDirectory(multipathConfDropInDir)
            .filter { $0.hasSuffix(".conf") }
            .map { multipathConfDropInDir + "/" + $0 }
    }

    /// Drops trailing slashes so joined paths never contain "//" (but keeps "/" itself).
    static func normalized(_ path: String) -> String {
        var result = path
        while result.count > 1 && result.hasSuffix("/") { result.removeLast() }
        return result
    }
}
