import CDeviceMapper
import Foundation
import Multipath

/// Serialises every libdevmapper call: the library keeps process-wide state (the control file
/// descriptor, the device directory, the log hook) and is not thread-safe.
enum DMLibrary {
    static let lock = NSLock()
    /// What libdevmapper logged when it first failed to start a request. It checks the driver
    /// version once per process and afterwards fails silently, so later failures repeat this.
    static var firstStartFailure: [DMLogLine] = []
}

/// A step of an operation that failed; `DMClient.perform` turns it into a `DeviceMapperError`
/// naming the operation and map, with what libdevmapper logged meanwhile.
struct DMStepFailure: Error {
    var kind: DeviceMapperError.Kind = .operationFailed
    var detail: String
    var errno: Int32? = nil
    /// `dm_task_create` failed (no request could be started at all).
    var isStartFailure = false
}

/// One libdevmapper request (`struct dm_task`), destroyed with its owner.
final class DMTask {
    let handle: OpaquePointer

    /// `type` is one of the DM_DEVICE_* request types.
    init(_ type: Int) throws {
        guard let handle = dm_task_create(Int32(type)) else {
            throw DMStepFailure(detail: "cannot start a device-mapper request", isStartFailure: true)
        }
        self.handle = handle
    }

    deinit { dm_task_destroy(handle) }

    /// Checks a libdevmapper setter's result (1 for success).
    func require(_ result: Int32, _ what: String) throws {
        if result == 0 { throw DMStepFailure(detail: "cannot set the \(what)") }
    }

    func setName(_ name: String) throws {
        try require(dm_task_set_name(handle, name), "map name")
    }

    /// Adds the map's single multipath target.
    func addMultipathTarget(_ table: DMMultipathTable) throws {
        try require(dm_task_add_target(handle, table.start, table.length, "multipath", table.parameters),
                    "multipath target")
    }

    /// Runs the ioctl; on failure the error carries the ioctl's errno.
    func run() throws {
        if dm_task_run(handle) == 0 {
            let code = dm_task_get_errno(handle)
            throw DMStepFailure(detail: "the kernel refused the request", errno: code > 0 ? code : nil)
        }
    }

    /// Runs the ioctl with a udev cookie and waits until udev has processed the uevents it
    /// causes, so the device node exists (or is gone) when this returns. With udev running,
    /// libdevmapper leaves node handling to udev alone, as multipath-tools does; without it the
    /// library creates and removes the nodes itself.
    func runWaitingForUdev() throws {
        var cookie: UInt32 = 0
        let flags: UInt16 = dm_udev_get_sync_support() != 0 ? UInt16(DM_UDEV_DISABLE_LIBRARY_FALLBACK) : 0
        try require(dm_task_set_cookie(handle, &cookie, flags), "udev cookie")
        let ok = dm_task_run(handle)
        let code = dm_task_get_errno(handle)
        // Waiting also releases the cookie's semaphore when the run failed.
        _ = dm_udev_wait(cookie)
        if ok == 0 {
            throw DMStepFailure(detail: "the kernel refused the request", errno: code > 0 ? code : nil)
        }
    }

    /// The targets of a TABLE or STATUS answer, in order.
    func targets() -> [(start: UInt64, length: UInt64, type: String, parameters: String)] {
        var result: [(UInt64, UInt64, String, String)] = []
        var next: UnsafeMutableRawPointer? = nil
        repeat {
            var start: UInt64 = 0
            var length: UInt64 = 0
            var type: UnsafeMutablePointer<CChar>? = nil
            var params: UnsafeMutablePointer<CChar>? = nil
            next = dm_get_next_target(handle, next, &start, &length, &type, &params)
            if let type {
                result.append((start, length, String(cString: type), params.map { String(cString: $0) } ?? ""))
            }
        } while next != nil
        return result
    }

    /// `dm_task_get_info` after a run.
    func info() throws -> dm_info {
        var info = dm_info()
        try require(dm_task_get_info(handle, &info), "device info")
        return info
    }
}
