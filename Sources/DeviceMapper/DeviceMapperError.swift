import Foundation

/// A device-mapper failure: unavailable kernel support, an argument the kernel would refuse, a
/// failed libdevmapper call, or an answer that does not read as a multipath map.
public struct DeviceMapperError: Error, Equatable, Sendable, CustomStringConvertible {
    /// What went wrong, broadly.
    public enum Kind: String, Equatable, Sendable {
        /// `/dev/mapper/control` is missing or unusable.
        case unavailable
        /// A name, UUID, table or message was refused before it reached the kernel.
        case invalidArgument
        /// libdevmapper or the kernel refused the operation.
        case operationFailed
        /// The kernel answered with something that is not a multipath map.
        case unexpectedResponse
        /// The configured data plane is not one of fuse, dm, auto.
        case invalidConfiguration
    }

    public let kind: Kind
    /// The operation, e.g. "create", "reload", "message"; "availability" for the probe.
    public let operation: String
    /// The map the operation was about, if any.
    public let map: String?
    /// The system error behind the failure, if one was reported.
    public let errnoCode: Int32?
    /// The whole sentence, e.g. "dm create mpatha: device-mapper is not available: …".
    public let message: String

    public init(kind: Kind, operation: String, map: String?, errnoCode: Int32? = nil, message: String) {
        self.kind = kind
        self.operation = operation
        self.map = map
        self.errnoCode = errnoCode
        self.message = message
    }

    /// An error about `operation` on `map`, worded "dm <operation> <map>: <detail>" with the
    /// errno text appended when there is one and `detail` does not already carry it.
    static func operation(_ kind: Kind, _ operation: String, map: String?, errno code: Int32? = nil,
                          _ detail: String) -> DeviceMapperError {
        var text = "dm \(operation)"
        if let map { text += " \(map)" }
        text += ": " + detail
        var reported: Int32? = nil
        if let code, code > 0 {
            reported = code
            let reason = errnoText(code)
            if !detail.contains(reason) { text += " (\(reason), errno \(code))" }
        }
        return DeviceMapperError(kind: kind, operation: operation, map: map, errnoCode: reported, message: text)
    }

    public var description: String { message }
}

/// `strerror` text for an errno value.
func errnoText(_ code: Int32) -> String {
    String(cString: strerror(code))
}
