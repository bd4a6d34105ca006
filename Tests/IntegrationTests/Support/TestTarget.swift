import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One iSCSI target created by `TGT.createTarget` for one test. Call `delete()` when done
/// (in a `defer` or teardown block); deallocation deletes it too, ignoring errors.
final class TestTarget {
    /// Target name, `iqn.2026-11.test.mpath:<suffix>-<tid>`.
    let iqn: String
    /// tgtd's target id.
    let tid: Int
    /// Temp directory holding this target's backing files.
    let directory: String

    private let fixture: TGT
    private let generation: Int
    private var lunFiles: [Int: String] = [:]
    private var accounts: [String] = []
    /// True once `delete()` has run.
    private(set) var isDeleted = false

    init(fixture: TGT, tid: Int, iqn: String, directory: String, generation: Int) {
        self.fixture = fixture
        self.tid = tid
        self.iqn = iqn
        self.directory = directory
        self.generation = generation
    }

    deinit {
        try? delete()
    }

    /// Backing file of `lun`: the file it was added with, else where `addLUN(_:sizeBytes:)`
    /// would create it.
    func lunFile(_ lun: Int) -> String {
        lunFiles[lun] ?? "\(directory)/lun\(lun).img"
    }

    /// Sets a target parameter (`--op update --mode target -n KEY -v VALUE`), e.g.
    /// ("HeaderDigest", "CRC32C"), ("MaxRecvDataSegmentLength", "65536"), ("InitialR2T", "No"),
    /// ("ImmediateData", "No"), ("FirstBurstLength", "65536"), ("MaxBurstLength", "262144"),
    /// ("nop_interval", "1"). tgtd answers "invalid request" for unknown keys or bad values.
    func setParam(_ key: String, _ value: String) throws {
        try fixture.run(["--op", "update", "--mode", "target", "--tid", String(tid), "--name", key, "--value", value])
    }

    /// The target's negotiation parameters as tgtd shows them (`--op show --mode target --tid`).
    func parameters() throws -> [String: String] {
        var values: [String: String] = [:]
        for line in try fixture.run(["--op", "show", "--mode", "target", "--tid", String(tid)]).stdout.split(separator: "\n") {
            guard let equals = line.firstIndex(of: "=") else { continue }
            values[String(line[..<equals])] = String(line[line.index(after: equals)...])
        }
        return values
    }

    /// This target's section of `tgtadm --op show --mode target` (LUNs, sessions, accounts, ACL).
    func show() throws -> String {
        let lines = try fixture.run(["--op", "show", "--mode", "target"]).stdout.split(separator: "\n", omittingEmptySubsequences: false)
        let header = "Target \(tid): "
        guard let start = lines.firstIndex(where: { $0.hasPrefix(header) }) else {
            throw TestSupportError("target \(tid) (\(iqn)) is not in tgtd's target list")
        }
        let end = lines[(start + 1)...].firstIndex(where: { $0.hasPrefix("Target ") }) ?? lines.endIndex
        return lines[start..<end].joined(separator: "\n")
    }

    /// Creates a CHAP account and binds it to this target. Accounts are global in tgtd, so the
    /// name is made unique as "<user>-t<tid>"; use the returned name when logging in.
    /// - Parameter outgoing: true for the target's own credentials in mutual CHAP (one per target).
    @discardableResult
    func addAccount(user: String, password: String, outgoing: Bool = false) throws -> String {
        let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-_.:"))
        guard (1...48).contains(user.count), user.unicodeScalars.allSatisfy({ $0.isASCII && allowed.contains($0) }) else {
            throw TestSupportError("CHAP user must be 1-48 ASCII letters, digits, '-', '_', '.', ':', got '\(user)'")
        }
        guard !password.isEmpty else { throw TestSupportError("CHAP password for '\(user)' is empty") }
        let name = "\(user)-t\(tid)"
        try fixture.run(["--op", "new", "--mode", "account", "--user", name, "--password", password],
                        secrets: [password])
        do {
            try fixture.run(["--op", "bind", "--mode", "account", "--tid", String(tid), "--user", name]
                            + (outgoing ? ["--outgoing"] : []))
        } catch {
            _ = try? fixture.run(["--op", "delete", "--mode", "account", "--user", name], check: false)
            throw error
        }
        accounts.append(name)
        return name
    }

    /// Brings a LUN online or offline; an offline disk LUN fails I/O with NOT READY sense.
    func setLUNOnline(_ lun: Int, _ online: Bool) throws {
        try fixture.run(["--op", "update", "--mode", "logicalunit", "--tid", String(tid), "--lun", String(lun),
                         "--params", "online=\(online ? 1 : 0)"])
    }

    /// Removes a LUN, retrying while tgtd reports it busy. Its backing file is kept, so the LUN
    /// can be added back with the same data.
    func deleteLUN(_ lun: Int) throws {
        try fixture.retryWhileBusy(["--op", "delete", "--mode", "logicalunit", "--tid", String(tid), "--lun", String(lun)])
    }

    /// Adds LUN `lun` backed by an existing `file`. `scsiID`/`scsiSN` set what INQUIRY VPD 0x83
    /// and 0x80 report (give two LUNs the same values to make them one multipath device);
    /// `blockSize` is the logical block size (default 512).
    func addLUN(_ lun: Int, file: String, scsiID: String? = nil, scsiSN: String? = nil, blockSize: Int? = nil) throws {
        guard (1...255).contains(lun) else {
            throw TestSupportError("LUN \(lun) is out of range 1...255 (LUN 0 is tgtd's controller)")
        }
        guard FileManager.default.fileExists(atPath: file) else {
            throw TestSupportError("backing file \(file) for LUN \(lun) does not exist")
        }
        var params: [String] = []
        for (key, value) in [("scsi_id", scsiID), ("scsi_sn", scsiSN)] {
            guard let value else { continue }
            guard !value.isEmpty, !value.contains(","), !value.contains("="), value.allSatisfy({ $0.isASCII }) else {
                throw TestSupportError("\(key) '\(value)' must be non-empty ASCII without ',' or '='")
            }
            params.append("\(key)=\(value)")
        }
        var create = ["--op", "new", "--mode", "logicalunit", "--tid", String(tid), "--lun", String(lun),
                      "--backing-store", file]
        if let blockSize {
            guard [512, 1024, 2048, 4096].contains(blockSize) else {
                throw TestSupportError("block size \(blockSize) is not one of 512, 1024, 2048, 4096")
            }
            create += ["--blocksize", String(blockSize)]
        }
        try fixture.run(create)
        lunFiles[lun] = file
        if !params.isEmpty {
            try fixture.run(["--op", "update", "--mode", "logicalunit", "--tid", String(tid), "--lun", String(lun),
                             "--params", params.joined(separator: ",")])
        }
    }

    /// Creates a sparse backing file of `sizeBytes` in this target's directory and adds it as
    /// LUN `lun`. Returns the file's path.
    @discardableResult
    func addLUN(_ lun: Int, sizeBytes: UInt64, scsiID: String? = nil, scsiSN: String? = nil,
                blockSize: Int? = nil) throws -> String {
        let path = "\(directory)/lun\(lun).img"
        try Self.makeSparseFile(path, sizeBytes: sizeBytes)
        try addLUN(lun, file: path, scsiID: scsiID, scsiSN: scsiSN, blockSize: blockSize)
        return path
    }

    /// Deletes the target (forced, retried while busy) and its accounts, then `directory` with
    /// every file in it. Idempotent. After `TGT.restartTGTD()` only the directory is removed.
    func delete() throws {
        guard !isDeleted else { return }
        if fixture.generation == generation {
            try fixture.deleteTarget(tid: tid)
            for account in accounts {
                let result = try fixture.run(["--op", "delete", "--mode", "account", "--user", account], check: false)
                guard result.status == 0 || result.stderr.contains("can't find") else {
                    throw TestSupportError("could not delete CHAP account \(account): \(result.stderr.trimmingCharacters(in: .whitespacesAndNewlines))")
                }
            }
        }
        accounts = []
        isDeleted = true
        try TestTempDirectory.remove(directory)
    }

    static func makeSparseFile(_ path: String, sizeBytes: UInt64) throws {
        guard sizeBytes > 0, sizeBytes <= UInt64(Int64.max) else {
            throw TestSupportError("backing file size \(sizeBytes) is not positive")
        }
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw TestSupportError("cannot create backing file \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        guard ftruncate(fd, off_t(sizeBytes)) == 0 else {
            throw TestSupportError("cannot size backing file \(path) to \(sizeBytes) bytes: \(String(cString: strerror(errno)))")
        }
    }
}
