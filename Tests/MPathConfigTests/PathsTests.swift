import XCTest

@testable import MPathConfig

final class PathsTests: XCTestCase {
    func testDefaultsWhenNothingGiven() {
        let locations = ConfigLocations.resolve(configDir: nil, stateDir: nil, runDir: nil, environment: [:])
        XCTAssertEqual(locations.configDir, "/etc/mpathd")
        XCTAssertEqual(locations.stateDir, "/var/lib/mpathd")
        XCTAssertEqual(locations.runDir, "/run/mpathd")
    }

    func testEnvironmentBeatsDefaultAndFlagBeatsEnvironment() {
        let environment = [
            "MPATH_CONFIG_DIR": "/env/config", "MPATH_STATE_DIR": "/env/state", "MPATH_RUN_DIR": "/env/run",
        ]
        let fromEnvironment = ConfigLocations.resolve(
            configDir: nil, stateDir: nil, runDir: nil, environment: environment)
        XCTAssertEqual(fromEnvironment, ConfigLocations(configDir: "/env/config", stateDir: "/env/state", runDir: "/env/run"))

        let mixed = ConfigLocations.resolve(
            configDir: "/flag/config", stateDir: nil, runDir: "/flag/run", environment: environment)
        XCTAssertEqual(mixed.configDir, "/flag/config")
        XCTAssertEqual(mixed.stateDir, "/env/state")
        XCTAssertEqual(mixed.runDir, "/flag/run")
    }

    func testEmptyValuesCountAsUnset() {
        let locations = ConfigLocations.resolve(
            configDir: "", stateDir: nil, runDir: nil,
            environment: ["MPATH_CONFIG_DIR": "", "MPATH_STATE_DIR": "/s"])
        XCTAssertEqual(locations.configDir, "/etc/mpathd")
        XCTAssertEqual(locations.stateDir, "/s")
    }

    func testFilePathsAndTrailingSlashes() {
        let locations = ConfigLocations(configDir: "/c/", stateDir: "/s//", runDir: "/")
        XCTAssertEqual(locations.iscsidConf, "/c/iscsid.conf")
        XCTAssertEqual(locations.initiatorNameFile, "/c/initiatorname.iscsi")
        XCTAssertEqual(locations.multipathConf, "/c/multipath.conf")
        XCTAssertEqual(locations.multipathConfDropInDir, "/c/multipath.conf.d")
        XCTAssertEqual(locations.nodesDir, "/s/nodes")
        XCTAssertEqual(locations.ifacesDir, "/s/ifaces")
        XCTAssertEqual(locations.sendTargetsDir, "/s/send_targets")
        XCTAssertEqual(locations.bindingsFile, "/s/bindings")
        XCTAssertEqual(locations.runDir, "/")
    }

    func testDropInsAreConfFilesInAlphabeticalOrder() throws {
        let temp = try TemporaryDirectory()
        let locations = ConfigLocations(configDir: temp.path, stateDir: temp.path, runDir: temp.path)
        XCTAssertEqual(try locations.multipathDropIns(), [])
        try temp.write("multipath.conf.d/20-b.conf", "")
        try temp.write("multipath.conf.d/10-a.conf", "")
        try temp.write("multipath.conf.d/30-c.conf.rpmsave", "")
        try temp.write("multipath.conf.d/.hidden.conf", "")
        XCTAssertEqual(
            try locations.multipathDropIns(),
            [temp.path + "/multipath.conf.d/10-a.conf", temp.path + "/multipath.conf.d/20-b.conf"])
    }
}
