import Foundation

/// The document `mpathctl status --json` prints:
/// `{"maps":[{"name","wwid","device","size_bytes","state","paths":[{"name","portal","iface",
/// "target","lun","state","checker","nop_rtt_us",…}],…}]}`, keys sorted for stable output.
public struct StatusReport: Codable, Equatable, Sendable {
    /// Every map the daemon manages.
    public var maps: [MapView]
    /// How the maps are served: "fuse" (FUSE file + loop device) or "dm" (kernel dm-multipath
    /// over per-path devices). `data_plane` in JSON; absent from older daemons.
    public var dataPlane: String?

    enum CodingKeys: String, CodingKey {
        case maps
        case dataPlane = "data_plane"
    }

    public init(maps: [MapView], dataPlane: String? = nil) {
        self.maps = maps
        self.dataPlane = dataPlane
    }

    /// Compact JSON with sorted keys and unescaped slashes ("/dev/loop3", not "\/dev\/loop3").
    public func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(self)
    }

    /// `jsonData()` as text.
    public func jsonString() throws -> String {
        String(decoding: try jsonData(), as: UTF8.self)
    }

    /// Reads a document produced by `jsonData()`.
    public static func decode(_ data: Data) throws -> StatusReport {
        try JSONDecoder().decode(StatusReport.self, from: data)
    }

    /// Exit status for scripts: 0 when every map is healthy (or there are none), 1 when some
    /// map is degraded but all still have a path, 2 when any map has no usable path.
    public var exitCode: Int32 { Self.exitCode(for: maps) }

    /// See `exitCode`.
    public static func exitCode(for maps: [MapView]) -> Int32 {
        var code: Int32 = 0
        for map in maps {
            switch map.health {
            case .down: return 2
            case .degraded: code = 1
            case .healthy: break
            }
        }
        return code
    }
}
