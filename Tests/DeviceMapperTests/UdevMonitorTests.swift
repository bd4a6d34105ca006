import DeviceMapper
import Foundation
import XCTest

final class UdevMonitorTests: XCTestCase {
    /// A container may or may not allow the uevent netlink socket: either the monitor starts and
    /// stops cleanly, or start() says clearly why it cannot.
    func testStartsAndStopsOrExplains() throws {
        let monitor = UdevMonitor { _ in }
        XCTAssertFalse(monitor.isRunning)
        do {
            try monitor.start()
        } catch let error as UdevMonitorError {
            XCTAssertTrue(error.message.hasPrefix("udev monitor: cannot "), error.message)
            XCTAssertNotNil(error.errnoCode, error.message)
            XCTAssertFalse(monitor.isRunning)
            return
        }
        XCTAssertTrue(monitor.isRunning)
        XCTAssertThrowsError(try monitor.start()) { error in
            XCTAssertEqual((error as? UdevMonitorError)?.message, "udev monitor: already running")
        }
        let began = Date()
        monitor.stop()
        XCTAssertLessThan(Date().timeIntervalSince(began), 2, "stop must not wait for a poll timeout")
        XCTAssertFalse(monitor.isRunning)
        monitor.stop()
        // A stopped monitor can start again.
        try monitor.start()
        XCTAssertTrue(monitor.isRunning)
        monitor.stop()
        XCTAssertFalse(monitor.isRunning)
    }

    func testUnknownSource() {
        let monitor = UdevMonitor(options: .init(source: "kernel-ish")) { _ in }
        XCTAssertThrowsError(try monitor.start()) { error in
            XCTAssertEqual((error as? UdevMonitorError)?.message,
                           "udev monitor: source must be 'udev' or 'kernel', found 'kernel-ish'")
        }
        XCTAssertFalse(monitor.isRunning)
    }

    /// With kernel events (no udev daemon needed), a "change" written to a loop device's uevent
    /// file comes back through the monitor with its properties.
    func testDeliversKernelEvents() throws {
        let received = EventBox()
        let monitor = UdevMonitor(options: .init(source: "kernel")) { event in received.append(event) }
        do {
            try monitor.start()
        } catch let error as UdevMonitorError {
            XCTAssertTrue(error.message.hasPrefix("udev monitor: cannot "), error.message)
            return
        }
        defer { monitor.stop() }
        guard let loop = (0..<8).map({ "loop\($0)" }).first(where: {
            FileManager.default.fileExists(atPath: "/sys/class/block/\($0)/uevent")
        }) else {
            XCTAssertTrue(monitor.isRunning)
            return
        }
        guard let trigger = FileHandle(forWritingAtPath: "/sys/class/block/\(loop)/uevent") else {
            // Read-only sysfs: the monitor still runs and stops cleanly.
            XCTAssertTrue(monitor.isRunning)
            return
        }
        trigger.write(Data("change".utf8))
        try? trigger.close()

        let deadline = Date().addingTimeInterval(5)
        while Date() < deadline && !received.events.contains(where: { $0.sysname == loop }) {
            usleep(20_000)
        }
        let event = try XCTUnwrap(received.events.first { $0.sysname == loop }, "no uevent for \(loop)")
        XCTAssertEqual(event.action, .change)
        XCTAssertEqual(event.properties["SUBSYSTEM"], "block")
        XCTAssertEqual(event.properties["DEVTYPE"], "disk")
        XCTAssertEqual(event.devnum?.major, 7)
        XCTAssertEqual(event.devnode, "/dev/\(loop)")
    }

    func testStopFromTheCallbackDoesNotDeadlock() throws {
        let box = MonitorBox()
        let stopped = DispatchSemaphore(value: 0)
        let monitor = UdevMonitor(options: .init(source: "kernel")) { _ in
            box.monitor?.stop()
            stopped.signal()
        }
        box.monitor = monitor
        do {
            try monitor.start()
        } catch let error as UdevMonitorError {
            XCTAssertTrue(error.message.hasPrefix("udev monitor: cannot "), error.message)
            return
        }
        defer { monitor.stop() }
        guard let trigger = FileHandle(forWritingAtPath: "/sys/class/block/loop0/uevent") else { return }
        trigger.write(Data("change".utf8))
        try? trigger.close()
        XCTAssertEqual(stopped.wait(timeout: .now() + 5), .success, "no event arrived")
        let deadline = Date().addingTimeInterval(2)
        while monitor.isRunning && Date() < deadline { usleep(10_000) }
        XCTAssertFalse(monitor.isRunning)
    }
}

private final class EventBox: @unchecked Sendable {
    private let lock = NSLock()
    private var list: [UdevEvent] = []

    func append(_ event: UdevEvent) {
        lock.lock()
        list.append(event)
        lock.unlock()
    }

    var events: [UdevEvent] {
        lock.lock()
        defer { lock.unlock() }
        return list
    }
}

private final class MonitorBox: @unchecked Sendable {
    weak var monitor: UdevMonitor?
}
