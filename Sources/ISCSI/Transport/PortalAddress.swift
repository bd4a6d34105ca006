extension TargetAddress {
    /// `host:port` with IPv6 in brackets, no portal group tag: how logs and errors name a portal.
    public static func format(host: String, port: Int) -> String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }
}
