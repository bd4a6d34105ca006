/// A failure of the integration-test plumbing (tgtd fixture, iptables, loopback checks).
/// The message says what was wrong and never contains a secret.
struct TestSupportError: Error, CustomStringConvertible {
    let message: String

    init(_ message: String) {
        self.message = message
    }

    var description: String { message }
}
