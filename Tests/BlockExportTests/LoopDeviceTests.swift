import Foundation
import NIOCore
import NIOPosix
import XCTest

@testable import BlockExport

/// Loop devices on top of the FUSE export: the path the daemon uses to give
/// the system a real block device.
final class LoopDeviceTests: XCTestCase {
    private var directory = ""

    override func setUpWithError() throws {
        directory = try TestSupport.makeTemporaryDirectory()
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Mounts an export with one RAM device, attaches a direct-IO loop device
    /// to it and tears everything down afterwards, even when `body` fails.
    private func withLoopDevice(
        sizeBytes: Int = 64 << 20, blockSize: Int = 4096, delay: Double = 0,
        discardZeroesData: Bool = true, discardSupported: Bool = true, threads: Int = 2, receiveLoop: EventLoop? = nil,
        _ body: (FUSEExport, MemoryBackend, LoopDevice) throws -> Void
    ) throws {
        let export = try FUSEExport(mountpoint: directory + "/dev", logger: TestSupport.logger, receiveThreads: threads,
                                    receiveLoop: receiveLoop)
        defer { export.shutdown() }
        let backend = MemoryBackend(sizeBytes: sizeBytes, blockSize: blockSize, delay: delay,
                                    discardZeroesData: discardZeroesData, discardSupported: discardSupported)
        try export.add(name: "mpatha", backend: backend)
        let loop = try LoopDevice.attach(file: export.path(of: "mpatha"), blockSize: blockSize, directIO: true)
        defer { XCTAssertNoThrow(try loop.detach()) }
        try body(export, backend, loop)
    }

    // MARK: pure helpers

    func testParsesSysfsValues() {
        XCTAssertEqual(LoopDevice.parseBackingFile("/run/mpathd/dev/mpatha\n"), "/run/mpathd/dev/mpatha")
        XCTAssertEqual(LoopDevice.parseBackingFile("/tmp/x (deleted)\n"), "/tmp/x")
        XCTAssertNil(LoopDevice.parseBackingFile("\n"))
        XCTAssertEqual(LoopDevice.parseLoopName("loop12"), 12)
        XCTAssertNil(LoopDevice.parseLoopName("loop"))
        XCTAssertNil(LoopDevice.parseLoopName("loop1p2"))
        XCTAssertNil(LoopDevice.parseLoopName("sda"))
    }

    func testAttachErrorsNameTheProblem() {
        XCTAssertThrowsError(try LoopDevice.attach(file: "/nonexistent/file", blockSize: 512, directIO: true)) { error in
            XCTAssertEqual("\(error)", "attach /nonexistent/file to a loop device: open /nonexistent/file failed: No such file or directory")
        }
        XCTAssertThrowsError(try LoopDevice.attach(file: "/dev/null", blockSize: 1000, directIO: true)) { error in
            XCTAssertEqual("\(error)", "attach /dev/null to a loop device: block size 1000 is not a power of two between 512 and 4096")
        }
    }

    // MARK: (b) geometry and verified IO

    func testBlockSizesGeometryAndFioVerify() throws {
        for blockSize in [512, 4096] {
            try withLoopDevice(blockSize: blockSize, delay: 0.0002) { export, backend, loop in
                XCTAssertTrue(loop.isDirectIO, "loop must do direct IO on the FUSE file")
                XCTAssertEqual(loop.logicalBlockSize, blockSize)
                let flags = export.lastOpenFlags(of: "mpatha") ?? 0
                XCTAssertNotEqual(flags & cbsODirect, 0, "the FUSE file should be opened with O_DIRECT (flags 0o\(String(flags, radix: 8)))")
                let geometry = try TestSupport.run(["blockdev", "--getss", "--getsize64", loop.path])
                XCTAssertEqual(geometry.split(separator: "\n"), ["\(blockSize)", "\(64 << 20)"])
                try TestSupport.run([
                    "fio", "--name=v", "--filename=\(loop.path)", "--rw=randwrite", "--bs=4k", "--iodepth=32",
                    "--ioengine=libaio", "--direct=1", "--size=32M", "--verify=crc32c", "--verify_state_save=0", "--do_verify=1",
                    "--randrepeat=0", "--verify_fatal=1",
                ])
                // Sub-4k direct IO on the 512-byte device reaches the backend as 512-byte requests.
                if blockSize == 512 {
                    try TestSupport.run([
                        "fio", "--name=v512", "--filename=\(loop.path)", "--rw=randwrite", "--bs=512", "--iodepth=8",
                        "--ioengine=libaio", "--direct=1", "--size=4M", "--offset=40M", "--verify=crc32c", "--verify_state_save=0", "--do_verify=1",
                    ])
                }
                XCTAssertEqual(backend.snapshot().misaligned, [])
            }
        }
    }

    func testDataWrittenThroughLoopIsInTheBackendByteForByte() throws {
        try withLoopDevice(blockSize: 512) { _, backend, loop in
            let bytes = TestSupport.pattern(count: 3 << 20, seed: 42)
            let fd = open(loop.path, O_RDWR | cbsODirect)
            XCTAssertGreaterThanOrEqual(fd, 0)
            defer { close(fd) }
            // O_DIRECT needs aligned memory.
            var memory: UnsafeMutableRawPointer?
            XCTAssertEqual(posix_memalign(&memory, 4096, bytes.count), 0)
            defer { free(memory) }
            bytes.withUnsafeBytes { memory!.copyMemory(from: $0.baseAddress!, byteCount: bytes.count) }
            XCTAssertEqual(pwrite(fd, memory, bytes.count, 512 * 1001), bytes.count)
            XCTAssertEqual(fsync(fd), 0)
            TestSupport.assertBytesEqual(backend.contents(offset: 512 * 1001, length: bytes.count), bytes)
            memset(memory!, 0, bytes.count)
            XCTAssertEqual(pread(fd, memory, bytes.count, 512 * 1001), bytes.count)
            TestSupport.assertBytesEqual(Array(UnsafeRawBufferPointer(start: memory, count: bytes.count)), bytes)
        }
    }

    // MARK: (c) concurrency

    func testManyIOsInFlightUnderFioQueueDepth32() throws {
        try withLoopDevice(blockSize: 4096, delay: 0.002) { export, backend, loop in
            backend.resetStats()
            try TestSupport.run([
                "fio", "--name=qd", "--filename=\(loop.path)", "--rw=randwrite", "--bs=4k", "--iodepth=32",
                "--ioengine=libaio", "--direct=1", "--size=16M", "--io_size=8M",
            ])
            let writes = backend.snapshot().maxInFlight
            backend.resetStats()
            try TestSupport.run([
                "fio", "--name=qd", "--filename=\(loop.path)", "--rw=randread", "--bs=4k", "--iodepth=32",
                "--ioengine=libaio", "--direct=1", "--size=16M", "--io_size=8M",
            ])
            let reads = backend.snapshot().maxInFlight
            print("max backend IOs in flight at QD32 with 2 ms latency: writes \(writes), reads \(reads); export peak \(export.peakRequestsInFlight)")
            XCTAssertGreaterThanOrEqual(writes, 16, "writes are serialized somewhere")
            XCTAssertGreaterThanOrEqual(reads, 16, "reads are serialized somewhere")
        }
    }

    /// Reading /dev/fuse on an event loop (as mpathd does): requests stay concurrent, data intact.
    func testEventLoopReceiveKeepsIOConcurrentAndVerified() throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }
        try withLoopDevice(blockSize: 4096, delay: 0.002, receiveLoop: group.next()) { export, backend, loop in
            backend.resetStats()
            try TestSupport.run([
                "fio", "--name=qd", "--filename=\(loop.path)", "--rw=randwrite", "--bs=4k", "--iodepth=32",
                "--ioengine=libaio", "--direct=1", "--size=16M", "--io_size=8M", "--verify=crc32c",
                "--verify_state_save=0", "--verify_fatal=1",
            ])
            XCTAssertGreaterThanOrEqual(backend.snapshot().maxInFlight, 16, "requests read on the loop are serialized somewhere")
            // A 1 MiB write needs the full-size receive buffer.
            try TestSupport.run([
                "fio", "--name=big", "--filename=\(loop.path)", "--rw=write", "--bs=1m", "--iodepth=4",
                "--ioengine=libaio", "--direct=1", "--size=16M", "--verify=crc32c", "--verify_state_save=0", "--verify_fatal=1",
            ])
        }
    }

    // MARK: (d) a real filesystem

    func testMkfsMountWriteUmountRemount() throws {
        try withLoopDevice(blockSize: 4096, delay: 0.0001) { _, _, loop in
            let mountpoint = directory + "/ext4"
            try FileManager.default.createDirectory(atPath: mountpoint, withIntermediateDirectories: true)
            try TestSupport.run(["mkfs.ext4", "-q", "-F", loop.path])
            try TestSupport.run(["mount", "-t", "ext4", loop.path, mountpoint])
            var mounted = true
            defer {
                if mounted {
                    _ = try? TestSupport.run(["umount", mountpoint])
                }
            }
            let bytes = TestSupport.pattern(count: 5 << 20, seed: 9)
            try Data(bytes).write(to: URL(fileURLWithPath: mountpoint + "/file.bin"))
            try TestSupport.run(["sync", "-f", mountpoint + "/file.bin"])
            try TestSupport.run(["umount", mountpoint])
            mounted = false
            try TestSupport.run(["e2fsck", "-f", "-n", loop.path])
            try TestSupport.run(["mount", "-t", "ext4", "-o", "ro", loop.path, mountpoint])
            mounted = true
            let back = try Data(contentsOf: URL(fileURLWithPath: mountpoint + "/file.bin"))
            TestSupport.assertBytesEqual(Array(back), bytes)
            try TestSupport.run(["umount", mountpoint])
            mounted = false
        }
    }

    // MARK: (e) growing

    func testGrowPropagatesToLoopAndFilesystem() throws {
        try withLoopDevice(sizeBytes: 64 << 20, blockSize: 4096) { export, backend, loop in
            let mountpoint = directory + "/ext4"
            try FileManager.default.createDirectory(atPath: mountpoint, withIntermediateDirectories: true)
            try TestSupport.run(["mkfs.ext4", "-q", "-F", loop.path])
            try TestSupport.run(["mount", "-t", "ext4", loop.path, mountpoint])
            var mounted = true
            defer {
                if mounted {
                    _ = try? TestSupport.run(["umount", mountpoint])
                }
            }
            let before = try blocks(of: mountpoint)
            let bytes = TestSupport.pattern(count: 1 << 20, seed: 3)
            try Data(bytes).write(to: URL(fileURLWithPath: mountpoint + "/keep.bin"))

            // The LUN grows while the filesystem is mounted.
            backend.grow(to: 160 << 20)
            export.sizeChanged(name: "mpatha")
            try loop.setCapacity()
            XCTAssertEqual(try TestSupport.run(["blockdev", "--getsize64", loop.path]), "\(160 << 20)\n")

            // Online resize needs CAP_SYS_RESOURCE, which test containers may lack: resize offline.
            try TestSupport.run(["umount", mountpoint])
            mounted = false
            try TestSupport.run(["e2fsck", "-f", "-p", loop.path])
            try TestSupport.run(["resize2fs", loop.path])
            try TestSupport.run(["mount", "-t", "ext4", loop.path, mountpoint])
            mounted = true
            let after = try blocks(of: mountpoint)
            XCTAssertGreaterThan(after, before * 2, "resize should more than double the filesystem (\(before) -> \(after) MiB)")
            TestSupport.assertBytesEqual(Array(try Data(contentsOf: URL(fileURLWithPath: mountpoint + "/keep.bin"))), bytes)
        }
    }

    private func blocks(of mountpoint: String) throws -> Int {
        let output = try TestSupport.run(["df", "--output=size", "-B", "1M", mountpoint])
        guard let last = output.split(separator: "\n").last, let value = Int(last.trimmingCharacters(in: .whitespaces)) else {
            throw TestSupport.CommandError(command: "df", status: 0, output: output)
        }
        return value
    }

    // MARK: (f) flush and discard

    func testFsyncOnLoopReachesBackendFlush() throws {
        try withLoopDevice(blockSize: 4096) { _, backend, loop in
            let fd = open(loop.path, O_RDWR)
            XCTAssertGreaterThanOrEqual(fd, 0)
            defer { close(fd) }
            XCTAssertEqual([UInt8](repeating: 7, count: 4096).withUnsafeBytes { pwrite(fd, $0.baseAddress, 4096, 8192) }, 4096)
            let before = backend.snapshot().flushes
            XCTAssertEqual(fsync(fd), 0)
            XCTAssertGreaterThan(backend.snapshot().flushes, before, "fsync must end in a backend flush")
            XCTAssertEqual(backend.contents(offset: 8192, length: 4096), [UInt8](repeating: 7, count: 4096))
        }
    }

    func testBlkdiscardReachesBackendDiscard() throws {
        for zeroes in [true, false] {
            try withLoopDevice(blockSize: 4096, discardZeroesData: zeroes) { _, backend, loop in
                backend.fill(offset: 0, bytes: [UInt8](repeating: 0xCC, count: 8 << 20))
                try TestSupport.run(["blkdiscard", "--offset", "\(1 << 20)", "--length", "\(4 << 20)", loop.path])
                let discards = backend.snapshot().discards
                XCTAssertFalse(discards.isEmpty, "blkdiscard must reach backend.discard")
                XCTAssertEqual(discards.reduce(0) { $0 + $1.length }, 4 << 20)
                XCTAssertTrue(discards.allSatisfy { $0.offset >= 1 << 20 && $0.offset + $0.length <= 5 << 20 })
                // Hole punch semantics: zeros afterwards, whatever the backend's discard leaves.
                XCTAssertEqual(Set(backend.contents(offset: 1 << 20, length: 4 << 20)), [0], "discardZeroesData \(zeroes)")
                XCTAssertEqual(Set(backend.contents(offset: 0, length: 1 << 20)), [0xCC])
                XCTAssertEqual(Set(backend.contents(offset: 5 << 20, length: 1 << 20)), [0xCC])
            }
        }
    }

    func testDiscardUnsupportedIsIgnoredButZeroOutStillWorks() throws {
        try withLoopDevice(blockSize: 4096, discardSupported: false) { _, backend, loop in
            backend.fill(offset: 0, bytes: [UInt8](repeating: 0xCC, count: 4 << 20))
            // The kernel treats EOPNOTSUPP on discard as success (discard is advisory).
            try TestSupport.run(["blkdiscard", "--offset", "0", "--length", "\(1 << 20)", loop.path])
            XCTAssertEqual(Set(backend.contents(offset: 0, length: 1 << 20)), [0xCC], "a refused discard changes nothing")
            // Zeroing falls back to writing zeros when the hole punch is refused.
            try TestSupport.run(["blkdiscard", "--zeroout", "--offset", "0", "--length", "\(2 << 20)", loop.path])
            XCTAssertEqual(Set(backend.contents(offset: 0, length: 2 << 20)), [0])
            XCTAssertEqual(Set(backend.contents(offset: 2 << 20, length: 1 << 20)), [0xCC])
            XCTAssertEqual(backend.snapshot().discards.count, 0)
        }
    }

    // MARK: (g) cleanup

    func testShutdownLeavesNoMountAndNoLoopDevice() throws {
        let mountpoint = directory + "/dev"
        let export = try FUSEExport(mountpoint: mountpoint, logger: TestSupport.logger)
        defer { export.shutdown() }
        let backend = MemoryBackend(sizeBytes: 16 << 20, blockSize: 512)
        try export.add(name: "mpatha", backend: backend)
        let file = export.path(of: "mpatha")
        let loop = try LoopDevice.attach(file: file, blockSize: 512, directIO: true)
        defer { try? loop.detach() }
        XCTAssertEqual(LoopDevice.find(backingFile: file).map(\.number), [loop.number])
        XCTAssertTrue(TestSupport.isMounted(mountpoint))

        try loop.detach()
        XCTAssertEqual(LoopDevice.find(backingFile: file).map(\.number), [])
        XCTAssertNoThrow(try loop.detach(), "a second detach is a no-op")
        try export.remove(name: "mpatha")
        export.shutdown()
        XCTAssertFalse(TestSupport.isMounted(mountpoint), "mount left behind")
        XCTAssertFalse(MountTable.current().contains { $0.mountPoint.hasPrefix(directory) })
        XCTAssertEqual(LoopDevice.find(backingFile: file).map(\.number), [])
    }

    func testShutdownWithAttachedLoopAbortsItsIO() throws {
        let mountpoint = directory + "/dev"
        let export = try FUSEExport(mountpoint: mountpoint, logger: TestSupport.logger)
        defer { export.shutdown() }
        try export.add(name: "mpatha", backend: MemoryBackend(sizeBytes: 16 << 20, blockSize: 4096))
        let file = export.path(of: "mpatha")
        let loop = try LoopDevice.attach(file: file, blockSize: 4096, directIO: true)
        defer { try? loop.detach() }
        export.shutdown()
        XCTAssertFalse(TestSupport.isMounted(mountpoint), "the mount is detached lazily")
        XCTAssertThrowsError(try TestSupport.run(["timeout", "30", "dd", "if=\(loop.path)", "of=/dev/null", "bs=4096", "count=1", "iflag=direct"]),
                             "IO on an aborted connection must fail, not hang")
        try loop.detach()
        XCTAssertEqual(LoopDevice.find(backingFile: file).map(\.number), [])
    }

    func testFindAndDetachLeftoverFromAnotherProcess() throws {
        let export = try FUSEExport(mountpoint: directory + "/dev", logger: TestSupport.logger)
        defer { export.shutdown() }
        try export.add(name: "mpatha", backend: MemoryBackend(sizeBytes: 16 << 20, blockSize: 512))
        let file = export.path(of: "mpatha")
        // A device bound by losetup (no autoclear) plays the crashed run's leftover.
        let path = try TestSupport.run(["losetup", "--find", "--show", "--direct-io=on", file]).trimmingCharacters(in: .whitespacesAndNewlines)
        var leftovers = LoopDevice.find(backingFile: file)
        defer {
            if !leftovers.isEmpty {
                _ = try? TestSupport.run(["losetup", "-d", path])
            }
        }
        XCTAssertEqual(leftovers.map(\.path), [path])
        for leftover in leftovers {
            try leftover.detach()
        }
        leftovers = LoopDevice.find(backingFile: file)
        XCTAssertEqual(leftovers.map(\.path), [])
    }

    // MARK: measurements (reported, not asserted)

    func testMeasureThroughputCeiling() throws {
        var lines: [String] = []
        for threads in [1, 2, 4] {
            try withLoopDevice(sizeBytes: 256 << 20, blockSize: 4096, threads: threads) { _, _, loop in
                // Fill once so reads move real data.
                try TestSupport.run(["fio", "--name=fill", "--filename=\(loop.path)", "--rw=write", "--bs=1M", "--iodepth=8",
                                     "--ioengine=libaio", "--direct=1", "--size=256M"])
                let random = try fio(loop.path, ["--rw=randread", "--bs=4k", "--iodepth=32"])
                let sequential = try fio(loop.path, ["--rw=read", "--bs=128k", "--iodepth=16"])
                let randomWrite = try fio(loop.path, ["--rw=randwrite", "--bs=4k", "--iodepth=32"])
                lines.append(String(format: "threads=%d  4k randread QD32: %.0f IOPS  4k randwrite QD32: %.0f IOPS  128k read QD16: %.0f MB/s",
                                    threads, random.iops, randomWrite.iops, sequential.bytesPerSecond / 1e6))
                XCTAssertGreaterThan(random.iops, 0)
            }
        }
        print("loop+FUSE ceiling with the in-memory backend:\n" + lines.joined(separator: "\n"))
    }

    private func fio(_ device: String, _ arguments: [String]) throws -> (iops: Double, bytesPerSecond: Double) {
        let output = try TestSupport.run(["fio", "--name=m", "--filename=\(device)", "--ioengine=libaio", "--direct=1",
                                          "--time_based", "--runtime=3", "--size=256M", "--output-format=json"] + arguments)
        guard let json = try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any],
              let job = (json["jobs"] as? [[String: Any]])?.first else {
            throw TestSupport.CommandError(command: "fio", status: 0, output: output)
        }
        let read = job["read"] as? [String: Any] ?? [:]
        let write = job["write"] as? [String: Any] ?? [:]
        let iops = (read["iops"] as? Double ?? 0) + (write["iops"] as? Double ?? 0)
        let bandwidth = Double(read["bw_bytes"] as? Int ?? 0) + Double(write["bw_bytes"] as? Int ?? 0)
        return (iops, bandwidth)
    }
}

/// O_DIRECT, which Swift's Glibc module does not export.
let cbsODirect = OpenFlags.direct
