/// A libiscsi-style URL naming one LUN: `iscsi://[user[%password]@]host[:port]/IQN/LUN`.
/// IPv6 hosts go in brackets. The password never appears in `description`.
public struct ISCSIURL: Sendable, Equatable, CustomStringConvertible {
    public var username: String?
    public var password: String?
    public var host: String
    public var port: Int
    public var target: String
    public var lun: Int

    public init(parsing text: String) throws {
        func bad(_ reason: String) -> ISCSIURLError { ISCSIURLError(reason: reason) }
        guard text.hasPrefix("iscsi://") else { throw bad("must start with iscsi://") }
        var rest = Substring(text.dropFirst("iscsi://".count))
        if let at = rest.lastIndex(of: "@"), !rest[..<at].contains("/") {
            let userInfo = rest[..<at]
            rest = rest[rest.index(after: at)...]
            if let percent = userInfo.firstIndex(of: "%") {
                username = String(userInfo[..<percent])
                password = String(userInfo[userInfo.index(after: percent)...])
            } else {
                username = String(userInfo)
            }
            if username?.isEmpty == true { throw bad("empty user name before '@'") }
        }
        guard let slash = rest.firstIndex(of: "/") else { throw bad("missing /IQN/LUN after the host") }
        let address: TargetAddress
        do { address = try TargetAddress(parsing: String(rest[..<slash])) } catch {
            throw bad("bad host: \(error)")
        }
        host = address.host
        port = Int(address.port)
        let path = rest[rest.index(after: slash)...].split(separator: "/", omittingEmptySubsequences: false)
        guard path.count == 2, !path[0].isEmpty else { throw bad("path must be /IQN/LUN") }
        target = String(path[0])
        guard let lun = Int(path[1]), lun >= 0, lun < 16384 else { throw bad("LUN '\(path[1])' is not a number 0-16383") }
        self.lun = lun
    }

    public var description: String {
        var user = ""
        if let username { user = password == nil ? "\(username)@" : "\(username)%********@" }
        return "iscsi://\(user)\(TargetAddress.format(host: host, port: port))/\(target)/\(lun)"
    }
}

public struct ISCSIURLError: Error, CustomStringConvertible {
    public var reason: String
    public var description: String { "bad iSCSI URL: \(reason) (expected iscsi://[user[%password]@]host[:port]/IQN/LUN)" }
}
