import ISCSI
import Logging
import MPathConfig
import MPathControl
import Multipath
import NIOCore
import SCSI

/// Learning a LUN's new size and growing the map online (`iscsiadm -m session -R` +
/// `multipathd resize map` + the loop device's capacity, in one step).
extension PathManager {
    /// READ CAPACITY on every path of the map(s), and REPORT LUNS on every session so a LUN added
    /// after login gets its path (and map). Returns what changed, one line each.
    func rescan(map name: String?) async -> ControlResponse {
        let maps = allMaps.filter { name == nil || $0.name == name || $0.wwid == name }
        if let name, maps.isEmpty { return .error(message: "no map named \(name)", code: 2) }
        var lines: [String] = []
        for map in maps {
            for path in map.pathList {
                guard let connection = path.session.connection else { continue }
                do {
                    let unit = LogicalUnit(connection: connection, lun: path.lun)
                    try? await unit.clearUnitAttentions()
                    let capacity = try await unit.readCapacity()
                    if capacity != path.capacity {
                        lines.append("\(map.name) \(path.name): \(path.capacity.sizeBytes) → \(capacity.sizeBytes) bytes")
                        map.setCapacity(path, capacity)
                    }
                } catch {
                    lines.append("\(map.name) \(path.name): READ CAPACITY failed: \(error)")
                }
            }
        }
        if name == nil {
            for session in allSessions {
                guard let connection = session.connection else { continue }
                let added = await attachNewLUNs(of: session, connection: connection)
                lines += added.map { "new LUN \($0) on \(session.record.targetName) via \(session.record.portal)" }
            }
        }
        return .ok(message: lines.isEmpty ? "no change" : lines.joined(separator: "\n"))
    }

    /// `mpathctl resize MAP`: every active path must report the same size; growing is online
    /// (FUSE size, loop capacity, dm table); shrinking needs `force`.
    func resize(map name: String, force: Bool) async -> ControlResponse {
        guard let map = allMaps.first(where: { $0.name == name || $0.wwid == name }) else {
            return .error(message: "no map named \(name)", code: 2)
        }
        _ = await rescan(map: map.name)
        let active = map.pathList.filter { map.isActive($0) }
        guard !active.isEmpty else { return .error(message: "map \(map.name) has no active path to read the size from", code: 1) }
        let sizes = Dictionary(grouping: active, by: { $0.capacity.sizeBytes })
        guard sizes.count == 1, let newSize = sizes.keys.first else {
            let detail = sizes.sorted { $0.key < $1.key }
                .map { "\($0.value.map(\.name).joined(separator: ",")) report \($0.key) bytes" }.joined(separator: "; ")
            return .error(message: "map \(map.name): paths disagree on the size (\(detail)); not resized", code: 1)
        }
        let oldSize = map.sizeBytes
        if newSize == oldSize { return .ok(message: "\(map.name): size unchanged (\(oldSize) bytes)") }
        if newSize < oldSize && !force {
            return .error(message: "map \(map.name): the LUN shrank from \(oldSize) to \(newSize) bytes; refusing to shrink a map without --force", code: 1)
        }
        do {
            try applySize(map, newSize)
        } catch {
            return .error(message: "map \(map.name): resize to \(newSize) bytes failed: \(error)", code: 1)
        }
        return .ok(message: "\(map.name): resized from \(oldSize) to \(newSize) bytes")
    }

    func applySize(_ map: MultipathMap, _ size: UInt64) throws {
        map.updateSize(size)
        for path in map.pathList where map.blockDevice(of: path) != nil {
            try exporter?.sizeChanged(DeviceExporter.pathExportName(path.name))
        }
        if dmDriver == nil { try exporter?.sizeChanged(map.name) } else { syncDM(map) }
        logger.notice("map resized", metadata: ["map": "\(map.name)", "size": "\(size)"])
    }

    /// auto_resize: a path reported CAPACITY DATA HAS CHANGED or REPORTED LUNS DATA HAS
    /// CHANGED; rescan, and grow when every active path agrees (shrink only with grow_shrink).
    func autoResize(_ map: MultipathMap) {
        guard map.policy.autoResize != .never else { return }
        Task {
            let before = map.sizeBytes
            _ = await rescan(map: map.name)
            // Paths still failed after the LU came back count too: their READ CAPACITY answered.
            let sizes = Set(map.pathList.filter { $0.session.connection != nil }.map(\.capacity.sizeBytes))
            guard sizes.count == 1, let size = sizes.first, size != before else { return }
            guard size > before || map.policy.autoResize == .growShrink else {
                logger.warning("LUN shrank; not resized (auto_resize grow_only)", metadata: ["map": "\(map.name)"])
                return
            }
            do { try applySize(map, size) } catch {
                logger.error("auto resize failed", metadata: ["map": "\(map.name)", "error": "\(error)"])
            }
        }
    }
}
