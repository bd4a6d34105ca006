import Dispatch
import Foundation
import NIOCore
import XCTest

@testable import BlockExport

/// The FUSE file interface, exercised through the kernel with pread/pwrite.
final class FUSEExportTests: XCTestCase {
    private var directory = ""

    override func setUpWithError() throws {
        directory = try TestSupport.makeTemporaryDirectory()
    }

    override func tearDown() {
        // Mounts are gone by now (each test defers shutdown); only the tree is left.
        try? FileManager.default.removeItem(atPath: directory)
    }

    private func openFile(_ path: String, _ flags: Int32 = O_RDWR) throws -> Int32 {
        let fd = open(path, flags)
        guard fd >= 0 else {
            throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
        }
        return fd
    }

    func testReadWriteAlignedAndUnalignedByteExact() throws {
        let export = try FUSEExport(mountpoint: directory + "/mnt", logger: TestSupport.logger)
        defer { export.shutdown() }
        let size = 64 << 20
        let backend = MemoryBackend(sizeBytes: size, blockSize: 4096, delay: 0.0005)
        try export.add(name: "mpatha", backend: backend)
        let fd = try openFile(export.path(of: "mpatha"))
        defer { close(fd) }

        var model = [UInt8](repeating: 0, count: size)
        let sizes = [512, 4096, 65536, 1 << 20, 4 << 20]
        let offsets = [0, 4096, 1 << 20, 1, 511, 4095, 7777, (1 << 20) + 123]
        var seed: UInt64 = 1
        for length in sizes {
            for base in offsets {
                let offset = base + length   // spread the cases over the device
                let bytes = TestSupport.pattern(count: length, seed: seed)
                seed += 1
                try TestSupport.pwriteAll(fd, bytes, at: offset)
                model.replaceSubrange(offset..<(offset + length), with: bytes)
                TestSupport.assertBytesEqual(try TestSupport.preadAll(fd, count: length, at: offset), bytes, "length \(length) offset \(offset)")
            }
        }
        // Everything at once, through the file and straight from the backend.
        TestSupport.assertBytesEqual(try TestSupport.preadAll(fd, count: size, at: 0), model, "whole device via FUSE")
        TestSupport.assertBytesEqual(backend.contents(offset: 0, length: size), model, "whole device in the backend")
        XCTAssertEqual(backend.snapshot().misaligned, [])
        XCTAssertLessThanOrEqual(backend.snapshot().largestRequest, (1 << 20) + 8192, "FUSE splits requests at max_write")
    }

    func testConcurrentUnalignedWritersThroughTheKernel() throws {
        let export = try FUSEExport(mountpoint: directory + "/mnt", logger: TestSupport.logger)
        defer { export.shutdown() }
        let backend = MemoryBackend(sizeBytes: 1 << 20, blockSize: 512, delay: 0.001)
        try export.add(name: "d", backend: backend)
        let path = export.path(of: "d")
        // 8 threads write interleaved 100-byte records that share 512-byte blocks.
        let threads = 8
        let perThread = 40
        DispatchQueue.concurrentPerform(iterations: threads) { thread in
            let fd = open(path, O_RDWR)
            XCTAssertGreaterThanOrEqual(fd, 0)
            defer { close(fd) }
            for index in 0..<perThread {
                let record = index * threads + thread
                let bytes = [UInt8](repeating: UInt8(record % 255 + 1), count: 100)
                do {
                    try TestSupport.pwriteAll(fd, bytes, at: record * 100)
                } catch {
                    XCTFail("pwrite of record \(record): \(error)")
                }
            }
        }
        let contents = backend.contents(offset: 0, length: threads * perThread * 100)
        for record in 0..<(threads * perThread) {
            XCTAssertEqual(Set(contents[(record * 100)..<(record * 100 + 100)]), [UInt8(record % 255 + 1)], "record \(record) was lost or torn")
        }
    }

    func testAttributesDirectoryAndSizeRules() throws {
        let export = try FUSEExport(mountpoint: directory + "/mnt", logger: TestSupport.logger)
        defer { export.shutdown() }
        try export.add(name: "mpatha", backend: MemoryBackend(sizeBytes: 8 << 20, blockSize: 512))
        try export.add(name: "mpathb", backend: MemoryBackend(sizeBytes: 4 << 20, blockSize: 4096))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory + "/mnt").sorted(), ["mpatha", "mpathb"])
        XCTAssertEqual(export.names, ["mpatha", "mpathb"])

        var info = stat()
        XCTAssertEqual(stat(export.path(of: "mpatha"), &info), 0)
        XCTAssertEqual(info.st_size, 8 << 20)
        XCTAssertEqual(info.st_mode & S_IFMT, S_IFREG)
        XCTAssertEqual(info.st_mode & 0o777, 0o600)
        XCTAssertEqual(info.st_blksize, 512)

        // The size belongs to the LUN: no truncation, no O_TRUNC; same size is a no-op.
        XCTAssertEqual(truncate(export.path(of: "mpatha"), 1 << 20), -1)
        XCTAssertEqual(errno, EPERM)
        XCTAssertEqual(truncate(export.path(of: "mpatha"), 8 << 20), 0)
        XCTAssertEqual(open(export.path(of: "mpatha"), O_RDWR | O_TRUNC), -1)
        XCTAssertEqual(errno, EPERM)
        XCTAssertEqual(chmod(export.path(of: "mpatha"), 0o666), -1)
        XCTAssertEqual(errno, EPERM)
        XCTAssertEqual(stat(export.path(of: "nothere"), &info), -1)
        XCTAssertEqual(errno, ENOENT)

        // Writes start past the end fail with ENOSPC.
        let fd = try openFile(export.path(of: "mpathb"))
        defer { close(fd) }
        XCTAssertEqual([UInt8](repeating: 1, count: 10).withUnsafeBytes { pwrite(fd, $0.baseAddress, 10, off_t(4 << 20)) }, -1)
        XCTAssertEqual(errno, ENOSPC)
        XCTAssertEqual(try TestSupport.preadAll(fd, count: 100, at: (4 << 20) - 10).count, 10)

        XCTAssertThrowsError(try export.add(name: "mpatha", backend: MemoryBackend(sizeBytes: 4096, blockSize: 512)))
    }

    func testLargeDirectoryListingSpansSeveralReaddirCalls() throws {
        let export = try FUSEExport(mountpoint: directory + "/mnt", logger: TestSupport.logger)
        defer { export.shutdown() }
        let names = (0..<300).map { "mpath-\($0)-" + String(repeating: "x", count: 60) }
        let backend = MemoryBackend(sizeBytes: 4096, blockSize: 512)
        for name in names {
            try export.add(name: name, backend: backend)
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory + "/mnt").sorted(), names.sorted())
    }

    func testRemoveRefusesOpenFileAndHidesName() throws {
        let export = try FUSEExport(mountpoint: directory + "/mnt", logger: TestSupport.logger)
        defer { export.shutdown() }
        try export.add(name: "mpatha", backend: MemoryBackend(sizeBytes: 1 << 20, blockSize: 512))
        let fd = try openFile(export.path(of: "mpatha"))
        XCTAssertThrowsError(try export.remove(name: "mpatha")) { error in
            XCTAssertEqual((error as? BlockExportError)?.errno, EBUSY)
        }
        close(fd)
        XCTAssertNoThrow(try export.remove(name: "mpatha"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: export.path(of: "mpatha")))
        // Re-adding the name works and shows the new device.
        try export.add(name: "mpatha", backend: MemoryBackend(sizeBytes: 2 << 20, blockSize: 512))
        var info = stat()
        XCTAssertEqual(stat(export.path(of: "mpatha"), &info), 0)
        XCTAssertEqual(info.st_size, 2 << 20)
    }

    func testFsyncReachesBackendFlushAndFallocatePunchesHoles() throws {
        let export = try FUSEExport(mountpoint: directory + "/mnt", logger: TestSupport.logger)
        defer { export.shutdown() }
        let backend = MemoryBackend(sizeBytes: 4 << 20, blockSize: 4096, delay: 0.001, discardZeroesData: false)
        try export.add(name: "d", backend: backend)
        let fd = try openFile(export.path(of: "d"))
        defer { close(fd) }
        try TestSupport.pwriteAll(fd, [UInt8](repeating: 0xEE, count: 1 << 20), at: 0)
        let flushesBefore = backend.snapshot().flushes
        XCTAssertEqual(fsync(fd), 0)
        XCTAssertGreaterThan(backend.snapshot().flushes, flushesBefore)

        // Punch from an unaligned offset: whole blocks are discarded, everything reads as zeros.
        let path = export.path(of: "d")
        try TestSupport.run(["fallocate", "--punch-hole", "--keep-size", "--offset", "1000", "--length", "100000", path])
        XCTAssertEqual(backend.snapshot().discards.map { [$0.offset, $0.length] }, [[4096, 94208]])
        let contents = try TestSupport.preadAll(fd, count: 1 << 20, at: 0)
        XCTAssertEqual(Set(contents[0..<1000]), [0xEE])
        XCTAssertEqual(Set(contents[1000..<101_000]), [0])
        XCTAssertEqual(Set(contents[101_000...]), [0xEE])

        // Zero range, and modes that are refused.
        try TestSupport.run(["fallocate", "--zero-range", "--keep-size", "--offset", "200000", "--length", "5000", path])
        XCTAssertEqual(Set(backend.contents(offset: 200_000, length: 5000)), [0])
        XCTAssertThrowsError(try TestSupport.run(["fallocate", "--offset", "0", "--length", "\(8 << 20)", path]), "growing the file is refused") { error in
            XCTAssertTrue("\(error)".contains("No space left on device"), "\(error)")
        }
        XCTAssertThrowsError(try TestSupport.run(["fallocate", "--collapse-range", "--offset", "0", "--length", "4096", path])) { error in
            XCTAssertTrue("\(error)".contains("Operation not supported"), "\(error)")
        }
    }

    func testSizeChangedIsVisibleToStat() throws {
        let export = try FUSEExport(mountpoint: directory + "/mnt", logger: TestSupport.logger)
        defer { export.shutdown() }
        let backend = MemoryBackend(sizeBytes: 1 << 20, blockSize: 512)
        try export.add(name: "d", backend: backend)
        var info = stat()
        XCTAssertEqual(stat(export.path(of: "d"), &info), 0)
        XCTAssertEqual(info.st_size, 1 << 20)
        backend.grow(to: 3 << 20)
        export.sizeChanged(name: "d")
        XCTAssertEqual(stat(export.path(of: "d"), &info), 0)
        XCTAssertEqual(info.st_size, 3 << 20)
    }

    func testStaleMountIsReplacedAndShutdownOnlyUnmountsItsOwn() throws {
        let mountpoint = directory + "/mnt"
        let first = try FUSEExport(mountpoint: mountpoint, logger: TestSupport.logger)
        defer { first.shutdown() }
        try first.add(name: "old", backend: MemoryBackend(sizeBytes: 1 << 20, blockSize: 512))
        // A second export at the same place (as after a crash) replaces the first mount.
        let second = try FUSEExport(mountpoint: mountpoint, logger: TestSupport.logger)
        defer { second.shutdown() }
        try second.add(name: "new", backend: MemoryBackend(sizeBytes: 1 << 20, blockSize: 512))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: mountpoint), ["new"])
        first.shutdown()
        XCTAssertTrue(TestSupport.isMounted(mountpoint), "shutting down the old export must not unmount the new one")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: mountpoint), ["new"])
        second.shutdown()
        XCTAssertFalse(TestSupport.isMounted(mountpoint))
    }

    func testBadMountpointIsAClearError() {
        XCTAssertThrowsError(try FUSEExport(mountpoint: "relative/path", logger: TestSupport.logger)) { error in
            XCTAssertEqual("\(error)", "mount FUSE export at relative/path: the mount point must be an absolute path")
        }
    }

    func testBackendErrorReachesTheCaller() throws {
        let export = try FUSEExport(mountpoint: directory + "/mnt", logger: TestSupport.logger)
        defer { export.shutdown() }
        let backend = MemoryBackend(sizeBytes: 1 << 20, blockSize: 512)
        try export.add(name: "d", backend: backend)
        let fd = try openFile(export.path(of: "d"))
        defer { close(fd) }
        backend.failWritesWith = EIO
        XCTAssertEqual([UInt8](repeating: 1, count: 4096).withUnsafeBytes { pwrite(fd, $0.baseAddress, 4096, 0) }, -1)
        XCTAssertEqual(errno, EIO)
        backend.failWritesWith = nil
        XCTAssertEqual([UInt8](repeating: 1, count: 4096).withUnsafeBytes { pwrite(fd, $0.baseAddress, 4096, 0) }, 4096)
        // The reply wakes the writer before the replying thread drops its in-flight count.
        for _ in 0..<100 where export.requestsInFlight != 0 { usleep(10_000) }
        XCTAssertEqual(export.requestsInFlight, 0)
    }
}
