import DeviceMapper
import Logging
import Multipath

/// `data_plane dm`: the kernel's dm-multipath does the IO. Every path is served as its own block
/// device (`path_devices`), one dm map per multipath map is built over them from the table
/// model, and the daemon keeps it in step: the table on path changes and resizes
/// (reload, suspend, resume), fail_path / reinstate_path when the checker or an operator changes
/// a path, switch_group on request. The daemon's own map object keeps doing what multipathd
/// does in user space (checker, grouping, policy); it just serves no IO itself.
extension PathManager {
    /// Loads the map's current table into the kernel (create on first use). Errors are logged:
    /// the map stays as the kernel last had it, and the next change retries.
    func syncDM(_ map: MultipathMap) {
        guard let dm = dmDriver else { return }
        var devices: [String: String] = [:]
        for path in map.pathList {
            if let device = map.blockDevice(of: path) { devices[path.name] = device.node }
        }
        guard !devices.isEmpty else { return }
        do {
            try dm.sync(map: map.view(), blockDevices: devices, policy: map.tablePolicy)
            map.device = "/dev/mapper/\(map.name)"
        } catch {
            logger.error("dm map not updated", metadata: ["map": "\(map.name)", "error": "\(error)"])
        }
    }

    /// A path left or returned to service: tell the kernel map.
    func dmPathStateChanged(_ map: MultipathMap, _ path: MapPath, active: Bool) {
        guard let dm = dmDriver, map.blockDevice(of: path) != nil else { return }
        do {
            if active { try dm.reinstatePath(map: map.name, path: path.name) } else { try dm.failPath(map: map.name, path: path.name) }
        } catch {
            logger.error("dm path message failed", metadata: ["map": "\(map.name)", "path": "\(path.name)", "error": "\(error)"])
        }
    }

    func dmSwitchGroup(_ map: MultipathMap, _ group: Int) throws {
        try dmDriver?.switchGroup(map: map.name, group: group)
    }

    func dmRemove(_ map: MultipathMap) {
        guard let dm = dmDriver else { return }
        do { try dm.remove(map: map.name, deferred: true) } catch {
            logger.error("dm map not removed", metadata: ["map": "\(map.name)", "error": "\(error)"])
        }
    }
}

extension PathManager {
    /// udev events on the path devices (dm data plane): a device that goes away fails its path
    /// in the kernel map; a change (a capacity change shows up as one) makes the map check its
    /// size, as multipathd's uevent handling does.
    func handleUdev(_ event: UdevEvent) {
        guard let number = event.devnum?.description else { return }
        for map in allMaps {
            for path in map.pathList where map.blockDevice(of: path)?.number == number {
                switch event.action {
                case .remove:
                    map.fail(path, reason: "its block device \(event.devnode ?? number) was removed (udev)")
                case .change:
                    autoResize(map)
                case .add, .other:
                    break
                }
            }
        }
    }
}
