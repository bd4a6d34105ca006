import Foundation
import Multipath

/// Builds a map's dm-multipath table when `path_devices yes` serves every path as its own loop
/// device: each path's table word becomes the `major:minor` of its block device.
public enum PathDeviceTable {
    /// "major:minor" of a block device node, e.g. "7:3" for /dev/loop3.
    public static func majorMinor(ofBlockDevice path: String) throws -> String {
        var info = stat()
        guard stat(path, &info) == 0 else {
            let code = errno
            throw DeviceMapperError.operation(.invalidArgument, "path device", map: nil, errno: code,
                                              "cannot stat \(path): \(errnoText(code))")
        }
        let type = info.st_mode & S_IFMT
        guard type == S_IFBLK else {
            throw DeviceMapperError.operation(
                .invalidArgument, "path device", map: nil,
                "\(path) is \(DeviceMapperAvailability.fileTypeName(type)), not a block device")
        }
        return DeviceNumber(rawValue: UInt64(info.st_rdev)).description
    }

    /// The table for `map`, with every path's device replaced by the `major:minor` of the block
    /// device `blockDevices` names for it (keyed by path name, e.g. "p1" → "/dev/loop4").
    ///
    /// Paths without a block device (not exported at the moment) are left out, and so are
    /// groups left empty, as the kernel refuses empty groups; a map with no path at all is an
    /// error. `initialGroup` counts the groups of `map` like `DMTableBuilder.build`.
    /// `resolve` turns a node into "major:minor" (a parameter for tests).
    public static func build(_ map: MapView, blockDevices: [String: String], policy: DMTablePolicy = DMTablePolicy(),
                             initialGroup: Int? = nil,
                             resolve: (String) throws -> String = majorMinor(ofBlockDevice:)) throws -> DMMultipathTable {
        var served = map
        var anyPath = false
        for g in served.groups.indices {
            var kept: [PathView] = []
            for var path in served.groups[g].paths {
                guard let node = blockDevices[path.name] else { continue }
                path.device = try resolve(node)
                kept.append(path)
            }
            anyPath = anyPath || !kept.isEmpty
            served.groups[g].paths = kept
        }
        guard anyPath else {
            throw DeviceMapperError.operation(.invalidArgument, "table", map: map.name,
                                              "no path of the map has a block device")
        }
        do {
            return try DMTableBuilder.build(served, policy: policy, initialGroup: initialGroup)
        } catch {
            throw DeviceMapperError.operation(.invalidArgument, "table", map: map.name, error.message)
        }
    }
}
