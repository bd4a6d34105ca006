extension MultipathConfiguration {
    /// Parses one multipath.conf text.
    public static func parse(_ text: String, file: String) throws -> ParseResult<MultipathConfiguration> {
        try parse(files: [(text: text, file: file)])
    }

    /// Parses several files in order (main file, then drop-ins); later files add entries and
    /// replace `defaults`/`overrides` values, like multipath-tools' config_dir.
    public static func parse(files: [(text: String, file: String)]) throws -> ParseResult<MultipathConfiguration> {
        var builder = MultipathConfBuilder()
        for (text, file) in files {
            let tree = try MultipathConfTree.parse(text, file: file)
            builder.diagnostics += tree.diagnostics
            try builder.apply(tree.value)
        }
        try builder.finish()
        return ParseResult(value: builder.configuration, diagnostics: builder.diagnostics)
    }

    /// Reads `configDir/multipath.conf` (optional) and `configDir/multipath.conf.d/*.conf` in
    /// alphabetical order. With no files at all the built-in configuration is returned.
    public static func load(locations: ConfigLocations) throws -> ParseResult<MultipathConfiguration> {
        var files: [(text: String, file: String)] = []
        for path in [locations.multipathConf] + (try locations.multipathDropIns()) {
            if let text = try FileIO.readText(path) { files.append((text, path)) }
        }
        return try parse(files: files)
    }
}

/// Turns section trees into a `MultipathConfiguration`, one file after another.
struct MultipathConfBuilder {
    var configuration = MultipathConfiguration()
    var diagnostics: [ConfigDiagnostic] = []
    /// Last attribute that set each global key, to place cross-key errors.
    private var globalAttributes: [String: ConfAttribute] = [:]

    /// multipath-tools keywords mpath-iscsi does not implement: warned as such, not as typos.
    static let unsupportedKeys: Set<String> = [
        "verbosity", "reassign_maps", "multipath_dir", "uid_attribute", "uid_attrs", "getuid_callout",
        "prio_args", "alias_prefix", "rr_min_io", "rr_weight", "max_fds", "checker", "bindings_file",
        "wwids_file", "prkeys_file", "log_checker_err", "reservation_key", "all_tg_pt",
        "retain_attached_hw_handler", "detect_checker", "detect_pgpolicy", "detect_pgpolicy_use_tpg",
        "force_sync", "strict_timing", "deferred_remove", "partition_delimiter", "config_dir",
        "delay_watch_checks", "delay_wait_checks", "marginal_pathgroups", "find_multipaths_timeout",
        "uxsock_timeout", "retrigger_tries", "retrigger_delay", "missing_uev_wait_timeout", "skip_kpartx",
        "disable_changed_wwids", "remove_retries", "max_sectors_kb", "ghost_delay", "enable_foreign",
        "recheck_wwid", "eh_deadline", "max_retries", "purge_disconnected", "udev_dir", "product_blacklist",
        "vpd_vendor", "mode", "uid", "gid", "minio", "minio_rq", "pg_timeout", "selector",
        "path_checker_timeout", "dev_loss_tmo_sync", "features_args", "user_friendly_names_prefix",
    ]

    mutating func apply(_ root: ConfSection) throws {
        for section in root.sections {
            switch section.name {
            case "defaults": try applyDefaults(section)
            case "blacklist": configuration.blacklist = try rules(section, into: configuration.blacklist)
            case "blacklist_exceptions":
                configuration.blacklistExceptions = try rules(section, into: configuration.blacklistExceptions)
            case "devices": try applyDevices(section)
            case "multipaths": try applyMultipaths(section)
            case "overrides": try applyOverrides(section)
            default: break  // The tree parser admits only the sections above.
            }
        }
    }

    mutating func finish() throws {
        let global = configuration.global
        if global.ioTimeoutFloorMs > global.ioTimeoutCeilingMs {
            let involved = ["io_timeout_floor_ms", "io_timeout_ceiling_ms"].compactMap { globalAttributes[$0] }
            let last = involved.max { ($0.file, $0.line) < ($1.file, $1.line) }
            throw ConfigError(
                file: last?.file, line: last?.line, key: "io_timeout_floor_ms",
                message: "\(global.ioTimeoutFloorMs) exceeds io_timeout_ceiling_ms (\(global.ioTimeoutCeilingMs))")
        }
    }

    // MARK: Sections

    private mutating func applyDefaults(_ section: ConfSection) throws {
        for attribute in section.attributes {
            if let parse = GlobalSettings.parsers[attribute.key] {
                try Self.located(attribute) {
                    do {
                        try parse(&configuration.global, attribute.value)
                    } catch let error as ValueError {
                        throw ConfigError(key: attribute.key, message: error.message)
                    }
                }
                globalAttributes[attribute.key] = attribute
            } else if MapKey.byName[attribute.key] != nil {
                try Self.located(attribute) { try configuration.defaults.set(key: attribute.key, value: attribute.value) }
            } else {
                warnUnknown(attribute, in: "defaults")
            }
        }
    }

    private mutating func rules(_ section: ConfSection, into existing: BlacklistRules) throws -> BlacklistRules {
        var rules = existing
        for attribute in section.attributes {
            switch attribute.key {
            case "wwid": rules.wwids.append(try regex(attribute))
            case "devnode": rules.devnodes.append(try regex(attribute))
            case "property": rules.properties.append(try regex(attribute))
            case "protocol": rules.protocols.append(try regex(attribute))
            default: warnUnknown(attribute, in: section.name)
            }
        }
        for device in section.sections {
            var match = DeviceMatch()
            for attribute in device.attributes {
                switch attribute.key {
                case "vendor": match.vendor = try regex(attribute)
                case "product": match.product = try regex(attribute)
                default: warnUnknown(attribute, in: "\(section.name) device")
                }
            }
            if match.vendor == nil && match.product == nil {
                throw ConfigError(
                    file: device.file, line: device.line, message: "device entry needs a vendor or product expression")
            }
            rules.devices.append(match)
        }
        return rules
    }

    private mutating func applyDevices(_ section: ConfSection) throws {
        for attribute in section.attributes { warnUnknown(attribute, in: "devices") }
        for device in section.sections {
            var vendor: ConfRegex?
            var product: ConfRegex?
            var revision: ConfRegex?
            var settings = MapSettings()
            for attribute in device.attributes {
                switch attribute.key {
                case "vendor": vendor = try regex(attribute)
                case "product": product = try regex(attribute)
                case "revision": revision = try regex(attribute)
                default:
                    if MapKey.byName[attribute.key] != nil {
                        try Self.located(attribute) { try settings.set(key: attribute.key, value: attribute.value) }
                    } else {
                        warnUnknown(attribute, in: "device")
                    }
                }
            }
            guard let vendor, let product else {
                throw ConfigError(
                    file: device.file, line: device.line, message: "device entry needs both vendor and product")
            }
            configuration.devices.append(
                DeviceEntry(
                    match: DeviceMatch(vendor: vendor, product: product), revision: revision, settings: settings,
                    file: device.file, line: device.line))
        }
    }

    private mutating func applyMultipaths(_ section: ConfSection) throws {
        for attribute in section.attributes { warnUnknown(attribute, in: "multipaths") }
        for entry in section.sections {
            var wwid: String?
            var alias: String?
            var settings = MapSettings()
            for attribute in entry.attributes {
                switch attribute.key {
                case "wwid":
                    try Self.located(attribute) { try Self.checkName(attribute.value, key: "wwid") }
                    wwid = attribute.value
                case "alias":
                    try Self.located(attribute) { try Self.checkName(attribute.value, key: "alias") }
                    alias = attribute.value
                default:
                    if MapKey.byName[attribute.key] != nil {
                        try Self.located(attribute) { try settings.set(key: attribute.key, value: attribute.value) }
                    } else {
                        warnUnknown(attribute, in: "multipath")
                    }
                }
            }
            guard let wwid else {
                throw ConfigError(file: entry.file, line: entry.line, message: "multipath entry needs a wwid")
            }
            if let previous = configuration.multipaths.first(where: { $0.wwid == wwid }) {
                diagnostics.append(
                    ConfigDiagnostic(
                        file: entry.file, line: entry.line,
                        message: "wwid \(wwid) also has an entry at \(previous.file):\(previous.line); "
                            + "the entries are merged, later values win"))
            }
            if let alias, let other = configuration.multipaths.first(where: { $0.alias == alias && $0.wwid != wwid }) {
                throw ConfigError(
                    file: entry.file, line: entry.line, key: "alias",
                    message: "'\(alias)' is already used for wwid \(other.wwid) at \(other.file):\(other.line)")
            }
            configuration.multipaths.append(
                MultipathEntry(wwid: wwid, alias: alias, settings: settings, file: entry.file, line: entry.line))
        }
    }

    private mutating func applyOverrides(_ section: ConfSection) throws {
        for attribute in section.attributes {
            if MapKey.byName[attribute.key] != nil {
                try Self.located(attribute) { try configuration.overrides.set(key: attribute.key, value: attribute.value) }
            } else {
                warnUnknown(attribute, in: "overrides")
            }
        }
        for entry in section.sections {
            var type: String?
            var settings = MapSettings()
            for attribute in entry.attributes {
                if attribute.key == "type" {
                    type = attribute.value
                } else if let key = MapKey.byName[attribute.key] {
                    if key.isPathLevel {
                        try Self.located(attribute) { try settings.set(key: attribute.key, value: attribute.value) }
                    } else {
                        diagnostics.append(
                            ConfigDiagnostic(
                                file: attribute.file, line: attribute.line,
                                message: "'\(attribute.key)' is a map option and cannot be set per protocol; ignored"))
                    }
                } else {
                    warnUnknown(attribute, in: "protocol")
                }
            }
            guard let type, !type.isEmpty else {
                throw ConfigError(file: entry.file, line: entry.line, message: "protocol entry needs a type")
            }
            configuration.protocolOverrides.append(
                ProtocolEntry(type: type, settings: settings, file: entry.file, line: entry.line))
        }
    }

    // MARK: Helpers

    /// Runs `body`, attributing any ConfigError to the attribute's file and line.
    private static func located(_ attribute: ConfAttribute, _ body: () throws -> Void) throws {
        do {
            try body()
        } catch let error as ConfigError {
            throw error.located(file: attribute.file, line: attribute.line)
        }
    }

    private func regex(_ attribute: ConfAttribute) throws -> ConfRegex {
        do {
            return try ConfRegex(attribute.value)
        } catch let error as ConfigError {
            throw ConfigError(file: attribute.file, line: attribute.line, key: attribute.key, message: error.message)
        }
    }

    private mutating func warnUnknown(_ attribute: ConfAttribute, in section: String) {
        let key = ISCSIName.printable(attribute.key)
        let message: String
        if Self.unsupportedKeys.contains(attribute.key) {
            message = "multipath-tools option '\(key)' is not supported by mpath-iscsi; ignored"
        } else if MapKey.byName[attribute.key] != nil || GlobalSettings.parsers[attribute.key] != nil {
            message = "'\(key)' is not valid in a \(section) section; ignored"
        } else {
            message = "unknown keyword '\(key)' in \(section) section; ignored"
        }
        diagnostics.append(ConfigDiagnostic(file: attribute.file, line: attribute.line, message: message))
    }

    /// WWIDs and aliases become device names: no spaces, no '/', not empty.
    static func checkName(_ value: String, key: String) throws {
        if value.isEmpty { throw ConfigError(key: key, message: "value is empty") }
        if value.utf8.count > 128 { throw ConfigError(key: key, message: "longer than 128 bytes") }
        if value.unicodeScalars.contains(where: { $0 == "/" || $0.value <= 0x20 || $0.value == 0x7f }) {
            throw ConfigError(
                key: key, message: "'\(ISCSIName.printable(value))' must not contain spaces, '/' or control characters")
        }
    }
}
