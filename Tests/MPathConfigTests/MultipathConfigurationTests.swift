import XCTest

@testable import MPathConfig

final class MultipathConfigurationTests: XCTestCase {
    let wwid = "36001405abcdef0123456789abcdef012"

    func testBuiltInDefaults() {
        let configuration = MultipathConfiguration()
        let policy = configuration.effective(forWWID: wwid, vendor: "LIO-ORG", product: "disk1")
        XCTAssertEqual(policy.userFriendlyNames, false)
        XCTAssertEqual(policy.pathGroupingPolicy, .failover)
        XCTAssertEqual(policy.pathSelector, .serviceTime)
        XCTAssertEqual(policy.rrMinIORq, 1)
        XCTAssertEqual(policy.failback, .manual)
        XCTAssertEqual(policy.noPathRetry, .fail)
        XCTAssertEqual(policy.features, CountedArguments())
        XCTAssertEqual(policy.prio, .const)
        XCTAssertEqual(policy.hardwareHandler.description, "0")
        XCTAssertEqual(policy.autoResize, .growOnly)
        XCTAssertEqual(policy.fastIOFailTimeout, .value(5))
        XCTAssertEqual(policy.pathChecker, .tur)
        XCTAssertNil(policy.alias)
        XCTAssertFalse(policy.queueIfNoPath)
        XCTAssertEqual(policy.tableFeatures.description, "0")
        XCTAssertEqual(policy.provenance["no_path_retry"], "(setting: multipath internal)")
        XCTAssertEqual(configuration.global.pollingInterval, 5)
        XCTAssertEqual(configuration.global.effectiveMaxPollingInterval, 20)
        XCTAssertEqual(configuration.global.dataPlane, .auto)
        XCTAssertEqual(configuration.global.metricsPort, 0)
        XCTAssertEqual(configuration.global.ioTimeoutFloorMs, 300)
        XCTAssertEqual(configuration.global.ioTimeoutCeilingMs, 30_000)
        XCTAssertFalse(configuration.isBlacklisted(wwid: wwid, vendor: "LIO-ORG", product: "disk1"))
    }

    func testTypedParse() throws {
        let text = """
            defaults {
                user_friendly_names yes
                polling_interval 2
                max_polling_interval 8
                path_grouping_policy multibus
                path_selector round-robin
                rr_min_io_rq 100
                failback 30
                no_path_retry 12
                prio alua
                hardware_handler "1 alua"
                auto_resize grow_shrink
                data_plane dm
                path_devices yes
                fast_io_fail_tmo off
                dev_loss_tmo infinity
                san_path_err_threshold 3
                marginal_path_err_sample_time 120
                marginal_path_err_rate_threshold 0
                path_checker none
                detect_prio no
                flush_on_last_del yes
                queue_without_daemon no
                find_multipaths greedy
                checker_timeout 10
                metrics_port 9642
                io_timeout_floor_ms 500
                io_timeout_ceiling_ms 500
            }
            """
        let result = try MultipathConfiguration.parse(text, file: "m.conf")
        XCTAssertEqual(result.diagnostics, [])
        let configuration = result.value
        XCTAssertEqual(configuration.global.pollingInterval, 2)
        XCTAssertEqual(configuration.global.effectiveMaxPollingInterval, 8)
        XCTAssertEqual(configuration.global.dataPlane, .dm)
        XCTAssertTrue(configuration.global.pathDevices)
        XCTAssertEqual(configuration.global.findMultipaths, "greedy")
        XCTAssertEqual(configuration.global.checkerTimeout, 10)
        XCTAssertEqual(configuration.global.metricsPort, 9642)
        XCTAssertEqual(configuration.global.ioTimeoutFloorMs, 500)

        let policy = configuration.effective(forWWID: wwid, vendor: "v", product: "p")
        XCTAssertTrue(policy.userFriendlyNames)
        XCTAssertEqual(policy.pathGroupingPolicy, .multibus)
        XCTAssertEqual(policy.pathSelector, .roundRobin)
        XCTAssertEqual(policy.rrMinIORq, 100)
        XCTAssertEqual(policy.failback, .seconds(30))
        XCTAssertEqual(policy.noPathRetry, .retries(12))
        XCTAssertEqual(policy.prio, .alua)
        XCTAssertEqual(policy.hardwareHandler.words, ["alua"])
        XCTAssertEqual(policy.autoResize, .growShrink)
        XCTAssertEqual(policy.fastIOFailTimeout, .off)
        XCTAssertEqual(policy.devLossTimeout, .infinity)
        XCTAssertEqual(policy.sanPathErrThreshold, .value(3))
        XCTAssertEqual(policy.sanPathErrForgetRate, .off)
        XCTAssertEqual(policy.marginalPathErrSampleTime, .value(120))
        XCTAssertEqual(policy.marginalPathErrRateThreshold, .value(0))
        XCTAssertEqual(policy.pathChecker, PathChecker.none)
        XCTAssertFalse(policy.detectPrio)
        XCTAssertEqual(policy.flushOnLastDel, .always)
        XCTAssertTrue(policy.queueIfNoPath)
        XCTAssertEqual(policy.tableFeatures.description, "1 queue_if_no_path")
        XCTAssertEqual(policy.provenance["prio"], "(setting: multipath.conf defaults/devices section)")
    }

    func testBadValuesAreErrorsWithFileLineKeyAndAllowed() {
        let cases: [(String, String)] = [
            ("failback sometimes", "m.conf:2: failback: 'sometimes' is not allowed; expected immediate, manual, followover or a number of seconds"),
            ("no_path_retry -1", "m.conf:2: no_path_retry: '-1' is not allowed; expected fail, queue or a number of retries"),
            ("prio emc", "m.conf:2: prio: 'emc' is not allowed; expected one of: const, alua"),
            ("path_checker directio", "m.conf:2: path_checker: 'directio' is not allowed; expected one of: tur, none"),
            ("path_selector \"round-robin 1\"", "m.conf:2: path_selector: 'round-robin 1' is not allowed; expected one of: \"round-robin 0\", \"queue-length 0\", \"service-time 0\", \"historical-service-time 0\""),
            ("features \"2 queue_if_no_path\"", "m.conf:2: features: '2 queue_if_no_path' announces 2 word(s) but has 1"),
            ("features queue_if_no_path", "m.conf:2: features: 'queue_if_no_path' must start with the number of words that follow, e.g. \"1 queue_if_no_path\""),
            ("polling_interval 0", "m.conf:2: polling_interval: 0 is out of range; expected 1-3600"),
            ("polling_interval five", "m.conf:2: polling_interval: 'five' is not a number; expected 1-3600"),
            ("user_friendly_names maybe", "m.conf:2: user_friendly_names: 'maybe' is not allowed; expected yes or no"),
            ("data_plane kernel", "m.conf:2: data_plane: 'kernel' is not allowed; expected one of: fuse, dm, auto"),
            ("auto_resize always", "m.conf:2: auto_resize: 'always' is not allowed; expected one of: never, grow_only, grow_shrink"),
            ("marginal_path_err_sample_time 60", "m.conf:2: marginal_path_err_sample_time: '60' is not allowed; expected no/off or a number 120-86400"),
            ("dev_loss_tmo 0", "m.conf:2: dev_loss_tmo: '0' is not allowed; expected infinity or a number of seconds >= 1"),
            ("metrics_port 70000", "m.conf:2: metrics_port: 70000 is out of range; expected 0-65535"),
            ("io_timeout_floor_ms 40000", "m.conf:2: io_timeout_floor_ms: 40000 exceeds io_timeout_ceiling_ms (30000)"),
        ]
        for (line, message) in cases {
            let error = expectConfigError {
                _ = try MultipathConfiguration.parse("defaults {\n\t\(line)\n}\n", file: "m.conf")
            }
            XCTAssertEqual(error?.description, message, line)
        }
    }

    func testSectionErrors() {
        let cases: [(String, String)] = [
            ("devices {\n device {\n  vendor \"X\"\n }\n}\n", "m.conf:2: device entry needs both vendor and product"),
            ("multipaths {\n multipath {\n  alias a\n }\n}\n", "m.conf:2: multipath entry needs a wwid"),
            ("multipaths {\n multipath {\n  wwid \"a b\"\n }\n}\n", "m.conf:3: wwid: 'a b' must not contain spaces, '/' or control characters"),
            ("multipaths {\n multipath {\n  wwid 1\n  alias x\n }\n multipath {\n  wwid 2\n  alias x\n }\n}\n",
             "m.conf:6: alias: 'x' is already used for wwid 1 at m.conf:2"),
            ("overrides {\n protocol {\n  fast_io_fail_tmo 5\n }\n}\n", "m.conf:2: protocol entry needs a type"),
            ("blacklist {\n wwid \"(\"\n}\n", "m.conf:2: wwid: invalid regular expression '('"),
            ("blacklist {\n device {\n }\n}\n", "m.conf:2: device entry needs a vendor or product expression"),
        ]
        for (text, message) in cases {
            let error = expectConfigError { _ = try MultipathConfiguration.parse(text, file: "m.conf") }
            XCTAssertEqual(error?.description, message, text)
        }
    }

    func testUnknownKeysAreWarningsWithFileAndLine() throws {
        let text = """
            defaults {
                polling_intervall 5
                rr_weight priorities
                alias foo
            }
            devices {
                vendor X
                device {
                    vendor "X"
                    product "Y"
                    polling_interval 3
                }
            }
            overrides {
                protocol {
                    type "scsi:iscsi"
                    failback immediate
                }
            }
            multipaths {
                multipath {
                    wwid 1
                }
                multipath {
                    wwid 1
                }
            }
            """
        let result = try MultipathConfiguration.parse(text, file: "m.conf")
        XCTAssertEqual(
            result.diagnostics.map(\.description),
            [
                "m.conf:2: warning: unknown keyword 'polling_intervall' in defaults section; ignored",
                "m.conf:3: warning: multipath-tools option 'rr_weight' is not supported by mpath-iscsi; ignored",
                "m.conf:4: warning: unknown keyword 'alias' in defaults section; ignored",
                "m.conf:7: warning: unknown keyword 'vendor' in devices section; ignored",
                "m.conf:11: warning: 'polling_interval' is not valid in a device section; ignored",
                "m.conf:17: warning: 'failback' is a map option and cannot be set per protocol; ignored",
                "m.conf:24: warning: wwid 1 also has an entry at m.conf:21; the entries are merged, later values win",
            ])
    }

    func testPrecedenceAndProvenance() throws {
        let text = """
            defaults {
                failback followover
                no_path_retry 5
                path_grouping_policy multibus
                rr_min_io_rq 2
                prio alua
                fast_io_fail_tmo 7
            }
            devices {
                device {
                    vendor "^LIO"
                    product ".*"
                    failback immediate
                    no_path_retry 12
                    path_grouping_policy group_by_prio
                    rr_min_io_rq 3
                }
                device {
                    vendor "LIO-ORG"
                    product "disk"
                    rr_min_io_rq 4
                }
                device {
                    vendor "OTHER"
                    product ".*"
                    failback 99
                }
            }
            overrides {
                no_path_retry queue
                path_grouping_policy group_by_serial
                fast_io_fail_tmo 9
                protocol {
                    type "scsi:iscsi"
                    fast_io_fail_tmo 3
                }
                protocol {
                    type "scsi:fcp"
                    dev_loss_tmo 60
                }
            }
            multipaths {
                multipath {
                    wwid \(wwid)
                    alias dbdata
                    path_grouping_policy failover
                }
            }
            """
        let configuration = try MultipathConfiguration.parse(text, file: "m.conf").value

        let mapped = configuration.effective(forWWID: wwid, vendor: "LIO-ORG", product: "disk1")
        XCTAssertEqual(mapped.alias, "dbdata")
        XCTAssertEqual(mapped.pathGroupingPolicy, .failover)
        XCTAssertEqual(mapped.fastIOFailTimeout, .value(3))
        XCTAssertEqual(mapped.noPathRetry, .queue)
        XCTAssertEqual(mapped.failback, .immediate)
        XCTAssertEqual(mapped.rrMinIORq, 4)
        XCTAssertEqual(mapped.prio, .alua)
        XCTAssertEqual(mapped.devLossTimeout, .systemDefault)
        XCTAssertEqual(mapped.pathChecker, .tur)
        let origins = mapped.provenance
        XCTAssertEqual(origins["alias"], "(setting: multipath.conf multipaths section)")
        XCTAssertEqual(origins["path_grouping_policy"], "(setting: multipath.conf multipaths section)")
        XCTAssertEqual(origins["fast_io_fail_tmo"], "(setting: multipath.conf overrides protocol section)")
        XCTAssertEqual(origins["no_path_retry"], "(setting: multipath.conf overrides section)")
        XCTAssertEqual(origins["failback"], "(setting: storage device configuration)")
        XCTAssertEqual(origins["rr_min_io_rq"], "(setting: storage device configuration)")
        XCTAssertEqual(origins["prio"], "(setting: multipath.conf defaults/devices section)")
        XCTAssertEqual(origins["path_checker"], "(setting: multipath internal)")
        XCTAssertTrue(mapped.explain().contains("failback = immediate (setting: storage device configuration)"))
        XCTAssertTrue(mapped.explain().contains("alias = dbdata (setting: multipath.conf multipaths section)"))
        XCTAssertTrue(mapped.explain().contains("path_selector = \"service-time 0\" (setting: multipath internal)"))

        // Another LUN of the same array: no multipaths entry; earlier device entry only.
        let other = configuration.effective(forWWID: "3600other", vendor: "LIO-ORG", product: "tape")
        XCTAssertNil(other.alias)
        XCTAssertEqual(other.pathGroupingPolicy, .groupBySerial)
        XCTAssertEqual(other.rrMinIORq, 3)
        // An array without a devices entry falls through to defaults.
        let plain = configuration.effective(forWWID: "3600plain", vendor: "IET", product: "VIRTUAL-DISK")
        XCTAssertEqual(plain.failback, .followover)
        XCTAssertEqual(plain.rrMinIORq, 2)
        XCTAssertEqual(plain.provenance["failback"], "(setting: multipath.conf defaults/devices section)")
    }

    func testNoPathRetrySupersedesQueueIfNoPath() throws {
        let explicit = try MultipathConfiguration.parse(
            "defaults {\n\tfeatures \"2 queue_if_no_path pg_init_retries\"\n\tno_path_retry fail\n}\n", file: "m.conf"
        ).value.effective(forWWID: wwid, vendor: "v", product: "p")
        XCTAssertEqual(explicit.noPathRetry, .fail)
        XCTAssertEqual(explicit.features.words, ["pg_init_retries"])
        XCTAssertEqual(explicit.tableFeatures.description, "1 pg_init_retries")
        XCTAssertEqual(
            explicit.notes,
            ["features \"queue_if_no_path\" (setting: multipath.conf defaults/devices section) ignored: "
                + "no_path_retry fail (setting: multipath.conf defaults/devices section) takes precedence"])

        let implicit = try MultipathConfiguration.parse(
            "devices {\n\tdevice {\n\t\tvendor X\n\t\tproduct Y\n\t\tfeatures \"1 queue_if_no_path\"\n\t}\n}\n",
            file: "m.conf"
        ).value.effective(forWWID: wwid, vendor: "X", product: "Y")
        XCTAssertEqual(implicit.noPathRetry, .queue)
        XCTAssertEqual(implicit.provenance["no_path_retry"], "(setting: storage device configuration)")
        XCTAssertEqual(implicit.features.words, [])
        XCTAssertEqual(implicit.tableFeatures.description, "1 queue_if_no_path")
    }

    func testBlacklistAndExceptions() throws {
        let text = """
            blacklist {
                wwid "^3600a"
                devnode "!^sd[a-z]"
                property "ID_CDROM"
                device {
                    vendor "^VendorX$"
                    product "CDROM"
                }
                device {
                    vendor "^BadVendor"
                }
            }
            blacklist_exceptions {
                wwid "^3600a0001"
                device {
                    vendor "^VendorX$"
                    product "CDROM-2"
                }
            }
            """
        let configuration = try MultipathConfiguration.parse(text, file: "m.conf").value
        // wwid criterion
        XCTAssertTrue(configuration.isBlacklisted(wwid: "3600a0000", vendor: "V", product: "P"))
        XCTAssertFalse(configuration.isBlacklisted(wwid: "3600a0001", vendor: "V", product: "P"))
        XCTAssertFalse(configuration.isBlacklisted(wwid: "x3600a", vendor: "V", product: "P"), "anchored at start")
        XCTAssertFalse(configuration.isBlacklisted(wwid: "3600a00017", vendor: "V", product: "P"), "unanchored end")
        // device criterion: regexes are unanchored unless written so
        XCTAssertTrue(configuration.isBlacklisted(wwid: "1", vendor: "VendorX", product: "SuperCDROM"))
        XCTAssertFalse(configuration.isBlacklisted(wwid: "1", vendor: "VendorXY", product: "CDROM"))
        XCTAssertFalse(configuration.isBlacklisted(wwid: "1", vendor: "VendorX", product: "CDROM-2"))
        XCTAssertTrue(configuration.isBlacklisted(wwid: "1", vendor: "BadVendor Inc", product: "anything"))
        // an exception in one criterion does not cancel a blacklist match in another
        XCTAssertTrue(configuration.isBlacklisted(wwid: "3600a0000", vendor: "VendorX", product: "CDROM-2"))
        // inverted devnode
        XCTAssertFalse(configuration.isBlacklisted(wwid: "1", vendor: "V", product: "P", devnode: "sdb"))
        XCTAssertTrue(configuration.isBlacklisted(wwid: "1", vendor: "V", product: "P", devnode: "nvme0n1"))
        // property
        XCTAssertTrue(configuration.isBlacklisted(wwid: "1", vendor: "V", product: "P", properties: ["ID_CDROM"]))
        XCTAssertFalse(configuration.isBlacklisted(wwid: "1", vendor: "V", product: "P", properties: ["ID_SERIAL"]))
        // case-sensitive
        XCTAssertFalse(configuration.isBlacklisted(wwid: "1", vendor: "vendorx", product: "CDROM"))
    }

    func testExceptionPropertiesAreRequiredWhenPresent() throws {
        let configuration = try MultipathConfiguration.parse(
            "blacklist_exceptions {\n\tproperty \"(SCSI_IDENT_|ID_WWN)\"\n}\nblacklist {\n\tprotocol \"scsi:fcp\"\n}\n",
            file: "m.conf"
        ).value
        XCTAssertTrue(configuration.isBlacklisted(wwid: "1", vendor: "V", product: "P", properties: ["ID_SERIAL"]))
        XCTAssertFalse(configuration.isBlacklisted(wwid: "1", vendor: "V", product: "P", properties: ["ID_WWN"]))
        XCTAssertFalse(configuration.isBlacklisted(wwid: "1", vendor: "V", product: "P"))
        XCTAssertTrue(configuration.isBlacklisted(wwid: "1", vendor: "V", product: "P", protocol: "scsi:fcp"))
        XCTAssertFalse(
            configuration.isBlacklisted(
                wwid: "1", vendor: "V", product: "P", protocol: MultipathConfiguration.iscsiProtocol))
    }

    func testDropInsAreReadAlphabeticallyAndLaterWins() throws {
        let temp = try TemporaryDirectory()
        let locations = ConfigLocations(configDir: temp.path, stateDir: temp.path, runDir: temp.path)
        XCTAssertEqual(try MultipathConfiguration.load(locations: locations).value, MultipathConfiguration())

        try temp.write("multipath.conf", "defaults {\n\tpolling_interval 3\n\tfailback manual\n}\n")
        try temp.write("multipath.conf.d/20-late.conf", "defaults {\n\tfailback immediate\n}\n")
        try temp.write(
            "multipath.conf.d/10-early.conf",
            "defaults {\n\tfailback 10\n\tpolling_intervall 1\n}\nblacklist {\n\twwid \"^1\"\n}\n")
        try temp.write("multipath.conf.d/30-ignored.txt", "garbage {")
        let result = try MultipathConfiguration.load(locations: locations)
        XCTAssertEqual(result.value.global.pollingInterval, 3)
        XCTAssertEqual(result.value.defaults.failback, .immediate)
        XCTAssertEqual(result.value.blacklist.wwids.map(\.pattern), ["^1"])
        XCTAssertEqual(
            result.diagnostics.map(\.description),
            ["\(temp.path)/multipath.conf.d/10-early.conf:3: warning: unknown keyword 'polling_intervall' in defaults section; ignored"])

        try temp.write("multipath.conf.d/40-broken.conf", "defaults {\n")
        let error = expectConfigError { _ = try MultipathConfiguration.load(locations: locations) }
        XCTAssertEqual(
            error?.description,
            "\(temp.path)/multipath.conf.d/40-broken.conf:1: unbalanced braces: section 'defaults' opened here is not closed")
    }

    func testShippedSampleParsesCleanlyAndMatchesBuiltIns() throws {
        let sample = try sampleConfig("multipath.conf")
        let result = try MultipathConfiguration.parse(sample.text, file: sample.path)
        XCTAssertEqual(result.diagnostics, [])
        XCTAssertEqual(result.value.global, GlobalSettings())
        var fromSample = result.value.effective(forWWID: wwid, vendor: "LIO-ORG", product: "x")
        let builtIn = MultipathConfiguration().effective(forWWID: wwid, vendor: "LIO-ORG", product: "x")
        fromSample.provenance = builtIn.provenance
        XCTAssertEqual(fromSample, builtIn, "sample defaults section must document the built-in values")

        // The commented examples must be valid when uncommented.
        let uncommented = sample.text.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
            let examplePrefixes = ["#\t", "#blacklist", "#devices", "#multipaths", "#overrides", "#}"]
            if examplePrefixes.contains(where: { line.hasPrefix($0) }) { return String(line.dropFirst()) }
            // Optional keys inside defaults are written "\t#key value"; prose is "\t# text".
            if line.hasPrefix("\t#"), let next = line.dropFirst(2).first, next != " " {
                return "\t" + line.dropFirst(2)
            }
            return String(line)
        }.joined(separator: "\n")
        XCTAssertNotEqual(uncommented, sample.text)
        let full = try MultipathConfiguration.parse(uncommented, file: sample.path)
        XCTAssertEqual(full.diagnostics, [])
        XCTAssertEqual(full.value.devices.count, 1)
        XCTAssertEqual(full.value.multipaths.first?.alias, "dbdata")
        XCTAssertEqual(full.value.global.maxPollingInterval, 20)
        XCTAssertTrue(full.value.isBlacklisted(wwid: "36001405deadbeef0002", vendor: "V", product: "P"))
        XCTAssertFalse(full.value.isBlacklisted(wwid: "36001405deadbeef0001", vendor: "V", product: "P"))
        let lio = full.value.effective(forWWID: "36001405abcdef0123456789abcdef012", vendor: "LIO-ORG", product: "d")
        XCTAssertEqual(lio.noPathRetry, .queue)
        XCTAssertEqual(lio.fastIOFailTimeout, .value(10))
        XCTAssertEqual(lio.failback, .immediate)
    }
}
