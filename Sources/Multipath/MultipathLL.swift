import Foundation

/// Renders maps in the shape of `multipath -ll` (multipath-tools `libmultipath/print.c`):
///
///     mpatha (360000000000000000000a000e0000001) /dev/loop3 IET,VIRTUAL-DISK
///     size=1.0G features='0' hwhandler='0' wp=rw
///     |-+- policy='service-time 0' prio=1 status=active
///     | `- p1 127.0.0.2:3260 default iqn.2026-11.test:lun1 lun 1 active ready running rtt=210us
///     `-+- policy='service-time 0' prio=1 status=enabled
///       `- p2 127.0.0.3:3260 default iqn.2026-11.test:lun1 lun 1 active ready running rtt=190us
///
/// Path lines are `<name> <portal> <iface> <target> lun <lun> <dm state> <checker> <device state>
/// rtt=<µs>us`; like multipath-tools, every column but the last is padded to the widest value
/// among all printed paths.
public enum MultipathLL {
    /// The whole listing, one line per row, each ending in "\n"; empty for no maps.
    public static func render(_ maps: [MapView]) -> String {
        let widths = ColumnWidths(maps.flatMap(\.paths))
        var out = ""
        for map in maps {
            out += header(map) + "\n"
            out += "size=\(formatSize(bytes: map.sizeBytes)) features='\(map.features)' "
                + "hwhandler='\(map.hwhandler)' wp=\(map.writeProtect)\n"
            for (g, group) in map.groups.enumerated() {
                let lastGroup = g == map.groups.count - 1
                out += (lastGroup ? "`-+- " : "|-+- ")
                    + "policy='\(group.selector)' prio=\(group.priority) status=\(group.status.rawValue)\n"
                let stem = lastGroup ? "  " : "| "
                for (p, path) in group.paths.enumerated() {
                    let lastPath = p == group.paths.count - 1
                    out += stem + (lastPath ? "`- " : "|- ") + widths.line(for: path) + "\n"
                }
            }
        }
        return out
    }

    /// `"%n[ (%w)] %d %s"`: the WWID only when it differs from the name, then the device and
    /// "vendor,product".
    static func header(_ map: MapView) -> String {
        var text = map.name
        if !map.wwid.isEmpty && map.wwid != map.name { text += " (\(map.wwid))" }
        return text + " \(map.device) \(map.vendor),\(map.product)"
    }

    /// multipath-tools' `snprint_size` for a size in bytes: kibibytes as a 32-bit float,
    /// divided by 1024 while ≥ 1024 up to P, printed with one decimal below 10 and none from
    /// 10 up: "1.0G", "10G", "512M", "2.5T".
    public static func formatSize(bytes: UInt64) -> String {
        formatSize(sectors: bytes / 512)
    }

    /// `snprint_size` for a size in 512-byte sectors.
    public static func formatSize(sectors: UInt64) -> String {
        let units: [Character] = ["K", "M", "G", "T", "P"]
        var value = Float(sectors >> 1)
        var unit = 0
        while value >= 1024 && unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        // Float promoted to double for printf, exactly as the C code does.
        let number = String(format: value < 10 ? "%.1f" : "%.0f", Double(value))
        return number + String(units[unit])
    }

    /// Column widths shared by every path line, so columns line up across groups and maps.
    struct ColumnWidths {
        var name = 0, portal = 0, iface = 0, target = 0, lun = 0, dmState = 0, checker = 0, deviceState = 0

        init(_ paths: [PathView]) {
            for path in paths {
                name = max(name, path.name.count)
                portal = max(portal, path.portal.count)
                iface = max(iface, path.iface.count)
                target = max(target, path.target.count)
                lun = max(lun, String(path.lun).count)
                dmState = max(dmState, path.dmState.rawValue.count)
                checker = max(checker, path.checker.rawValue.count)
                deviceState = max(deviceState, path.deviceState.rawValue.count)
            }
        }

        func line(for path: PathView) -> String {
            let rtt = path.nopRTTMicros.map { "rtt=\($0)us" } ?? "rtt=-"
            return [
                pad(path.name, name), pad(path.portal, portal), pad(path.iface, iface),
                pad(path.target, target), "lun", pad(String(path.lun), lun), pad(path.dmState.rawValue, dmState),
                pad(path.checker.rawValue, checker), pad(path.deviceState.rawValue, deviceState), rtt,
            ].joined(separator: " ")
        }

        private func pad(_ text: String, _ width: Int) -> String {
            text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
        }
    }
}
