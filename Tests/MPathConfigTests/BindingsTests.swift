import Foundation
import XCTest

@testable import MPathConfig

final class BindingsTests: XCTestCase {
    func testFriendlyNameSequence() {
        let expected: [(Int, String)] = [
            (0, "mpatha"), (1, "mpathb"), (25, "mpathz"), (26, "mpathaa"), (27, "mpathab"), (51, "mpathaz"),
            (52, "mpathba"), (701, "mpathzz"), (702, "mpathaaa"), (18277, "mpathzzz"), (18278, "mpathaaaa"),
        ]
        for (index, name) in expected {
            XCTAssertEqual(BindingsFile.friendlyName(index: index, prefix: "mpath"), name)
            XCTAssertEqual(BindingsFile.index(ofFriendlyName: name, prefix: "mpath"), index)
        }
        for index in 0..<3000 {
            let name = BindingsFile.friendlyName(index: index, prefix: "p")
            XCTAssertEqual(BindingsFile.index(ofFriendlyName: name, prefix: "p"), index)
        }
        XCTAssertNil(BindingsFile.index(ofFriendlyName: "mpath", prefix: "mpath"))
        XCTAssertNil(BindingsFile.index(ofFriendlyName: "mpathA", prefix: "mpath"))
        XCTAssertNil(BindingsFile.index(ofFriendlyName: "mpath1", prefix: "mpath"))
        XCTAssertNil(BindingsFile.index(ofFriendlyName: "dbdata", prefix: "mpath"))
        XCTAssertNil(BindingsFile.index(ofFriendlyName: "mpath" + String(repeating: "z", count: 13), prefix: "mpath"))
    }

    func testAllocationPersistsAndIsStable() throws {
        let temp = try TemporaryDirectory()
        let file = BindingsFile(path: temp.path + "/state/bindings")
        XCTAssertEqual(try file.name(forWWID: "3600a"), "mpatha")
        XCTAssertEqual(try file.name(forWWID: "3600b"), "mpathb")
        XCTAssertEqual(try file.name(forWWID: "3600a"), "mpatha")
        XCTAssertEqual(
            try String(contentsOfFile: file.path, encoding: .utf8),
            (Bindings.header + ["mpatha 3600a", "mpathb 3600b"]).joined(separator: "\n") + "\n")
        XCTAssertEqual(mode(of: file.path), 0o600)
        XCTAssertEqual(mode(of: temp.path + "/state"), 0o700)

        let loaded = try file.load()
        XCTAssertEqual(loaded.alias(forWWID: "3600b"), "mpathb")
        XCTAssertEqual(loaded.wwid(forAlias: "mpatha"), "3600a")
        XCTAssertEqual(loaded.entries.map(\.line), [8, 9])
    }

    func testSequenceRunsPastZ() throws {
        let temp = try TemporaryDirectory()
        let file = BindingsFile(path: temp.path + "/bindings")
        var names: [String] = []
        for index in 0..<30 { names.append(try file.name(forWWID: "wwid\(index)")) }
        XCTAssertEqual(names[0], "mpatha")
        XCTAssertEqual(names[25], "mpathz")
        XCTAssertEqual(Array(names[26...]), ["mpathaa", "mpathab", "mpathac", "mpathad"])
    }

    func testCommentsPreservedGapsReusedReservedSkipped() throws {
        let temp = try TemporaryDirectory()
        let original = """
            # my notes
            mpatha 3600a

            # keep this
            mpathc\t3600c
            dbdata 3600d
            """
        try temp.write("bindings", original + "\n")
        let file = BindingsFile(path: temp.path + "/bindings")
        XCTAssertEqual(try file.name(forWWID: "3600new"), "mpathb")
        XCTAssertEqual(try file.name(forWWID: "3600other", reserved: ["mpathd"]), "mpathe")
        XCTAssertEqual(
            try temp.read("bindings"), original + "\nmpathb 3600new\nmpathe 3600other\n")
    }

    func testMalformedAndDuplicateLinesNameTheLine() throws {
        let temp = try TemporaryDirectory()
        let path = temp.path + "/bindings"
        let cases: [(String, String)] = [
            ("mpatha\n", "\(path):1: expected '<alias> <wwid>' (found 1 field)"),
            ("# c\nmpatha 3600a extra\n", "\(path):2: expected '<alias> <wwid>' (found 3 fields)"),
            ("mpatha 3600a\nmpatha 3600b\n", "\(path):2: alias 'mpatha' is bound twice (first on line 1)"),
            ("mpatha 3600a\n\nmpathb 3600a\n", "\(path):3: wwid 3600a is bound twice (first on line 1)"),
            ("mp/a 3600a\n", "\(path):1: alias: 'mp/a' must not contain spaces, '/' or control characters"),
        ]
        for (text, message) in cases {
            try temp.write("bindings", text)
            let error = expectConfigError { _ = try BindingsFile(path: path).name(forWWID: "x") }
            XCTAssertEqual(error?.description, message)
            // A bad file is never rewritten.
            XCTAssertEqual(try temp.read("bindings"), text)
        }
    }

    func testConcurrentAllocationsNeverShareAName() throws {
        let temp = try TemporaryDirectory()
        let path = temp.path + "/bindings"
        let lock = NSLock()
        var names: [String] = []
        var failures: [String] = []
        DispatchQueue.concurrentPerform(iterations: 16) { index in
            do {
                let name = try BindingsFile(path: path).name(forWWID: "3600\(index)")
                lock.lock()
                names.append(name)
                lock.unlock()
            } catch {
                lock.lock()
                failures.append("\(error)")
                lock.unlock()
            }
        }
        XCTAssertEqual(failures, [])
        XCTAssertEqual(Set(names).count, 16)
        XCTAssertEqual(try BindingsFile(path: path).load().entries.count, 16)
    }

    func testAddRefusesDuplicates() throws {
        var bindings = Bindings()
        try bindings.add(alias: "mpatha", wwid: "1")
        XCTAssertEqual(
            expectConfigError { try bindings.add(alias: "mpatha", wwid: "2") }?.description,
            "alias 'mpatha' is already bound to wwid 1")
        XCTAssertEqual(
            expectConfigError { try bindings.add(alias: "mpathb", wwid: "1") }?.description,
            "wwid 1 is already bound to alias 'mpatha'")
        XCTAssertEqual(bindings.nextFriendlyName(prefix: "mpath"), "mpathb")
    }
}
