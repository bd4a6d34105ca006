import Multipath

/// Arguments are checked before anything reaches libdevmapper, so a bad name or table gets a
/// precise sentence instead of the kernel's bare EINVAL.
extension DMClient {
    static func checkName(_ name: String) throws {
        let bytes = name.utf8.count
        guard bytes > 0 else { throw DMStepFailure(kind: .invalidArgument, detail: "the map name is empty") }
        guard bytes < maxNameLength else {
            throw DMStepFailure(kind: .invalidArgument,
                                detail: "the map name is \(bytes) bytes, the kernel allows \(maxNameLength - 1)")
        }
        guard name != ".", name != "..", !name.contains(where: { $0 == "/" || $0.isWhitespace || Self.isControl($0) }) else {
            throw DMStepFailure(kind: .invalidArgument,
                                detail: "the map name must not be '.' or '..' or contain '/', blanks or control characters")
        }
    }

    static func checkUUID(_ uuid: String) throws {
        guard uuid.hasPrefix(uuidPrefix), uuid.count > uuidPrefix.count else {
            throw DMStepFailure(kind: .invalidArgument,
                                detail: "the UUID must be '\(uuidPrefix)<wwid>', found '\(shortened(uuid))'")
        }
        let bytes = uuid.utf8.count
        guard bytes < maxUUIDLength else {
            throw DMStepFailure(kind: .invalidArgument,
                                detail: "the UUID is \(bytes) bytes, the kernel allows \(maxUUIDLength - 1)")
        }
        guard !uuid.contains(where: { $0.isWhitespace || Self.isControl($0) }) else {
            throw DMStepFailure(kind: .invalidArgument, detail: "the UUID must not contain blanks or control characters")
        }
    }

    static func checkTable(_ table: DMMultipathTable) throws {
        guard table.length > 0 else {
            throw DMStepFailure(kind: .invalidArgument, detail: "the table has length 0")
        }
        do {
            try table.validate()
        } catch {
            throw DMStepFailure(kind: .invalidArgument, detail: error.message)
        }
    }

    static func isControl(_ c: Character) -> Bool {
        c.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7f }
    }
}
