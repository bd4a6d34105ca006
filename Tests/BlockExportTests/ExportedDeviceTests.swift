import Dispatch
import Foundation
import NIOCore
import XCTest

@testable import BlockExport

/// The alignment, read-modify-write and zeroing logic, against the RAM
/// backend directly (no kernel involved), byte for byte.
final class ExportedDeviceTests: XCTestCase {
    private func wait<T>(_ start: (@escaping @Sendable (T) -> Void) -> Void) -> T {
        let done = DispatchSemaphore(value: 0)
        let box = ResultBox<T>()
        start { value in
            box.value = value
            done.signal()
        }
        XCTAssertEqual(done.wait(timeout: .now() + 30), .success, "completion never called")
        return box.value!
    }

    private final class ResultBox<T>: @unchecked Sendable {
        var value: T?
    }

    private func write(_ device: ExportedDevice, _ bytes: [UInt8], at offset: UInt64) -> Result<Int, BlockIOError> {
        wait { done in device.write(offset: offset, data: ByteBuffer(bytes: bytes), completion: done) }
    }

    private func read(_ device: ExportedDevice, _ count: Int, at offset: UInt64) -> Result<[UInt8], BlockIOError> {
        wait { done in device.read(offset: offset, length: count) { done($0.map { Array($0.readableBytesView) }) } }
    }

    func testUnalignedWritesAndReadsAreByteExact() throws {
        for blockSize in [512, 4096] {
            let backend = MemoryBackend(sizeBytes: 1 << 20, blockSize: blockSize, delay: 0.0002)
            let device = try ExportedDevice(backend: backend, name: "t")
            var model = [UInt8](repeating: 0, count: 1 << 20)
            let cases: [(offset: Int, count: Int)] = [
                (1, 1), (511, 2), (0, 513), (4095, 4098), (1000, 10), (8192, 4096), (12345, 70001), (blockSize * 3, blockSize), ((1 << 20) - 7, 7),
            ]
            for (index, testCase) in cases.enumerated() {
                let bytes = TestSupport.pattern(count: testCase.count, seed: UInt64(index + 1))
                XCTAssertEqual(try write(device, bytes, at: UInt64(testCase.offset)).get(), testCase.count)
                model.replaceSubrange(testCase.offset..<(testCase.offset + testCase.count), with: bytes)
                TestSupport.assertBytesEqual(backend.contents(offset: 0, length: 1 << 20), model, "bs \(blockSize) case \(testCase)")
                let start = max(0, testCase.offset - 1)
                let end = min(1 << 20, start + testCase.count + 3)
                TestSupport.assertBytesEqual(try read(device, testCase.count + 3, at: UInt64(start)).get(), Array(model[start..<end]), "read back bs \(blockSize) case \(testCase)")
            }
            XCTAssertEqual(backend.snapshot().misaligned, [], "the backend must only see aligned requests")
            XCTAssertEqual(device.rangeLockCounts.held, 0)
        }
    }

    func testConcurrentUnalignedWritesSharingBlocksLoseNothing() throws {
        // Records of 100 bytes packed into 512-byte blocks: neighbours share
        // blocks, so unordered read-modify-write cycles would drop records.
        let backend = MemoryBackend(sizeBytes: 64 * 1024, blockSize: 512, delay: 0.001)
        let device = try ExportedDevice(backend: backend, name: "t")
        let records = 300
        let group = DispatchGroup()
        for record in 0..<records {
            group.enter()
            let bytes = [UInt8](repeating: UInt8(record % 251 + 1), count: 100)
            device.write(offset: UInt64(record * 100), data: ByteBuffer(bytes: bytes)) { result in
                XCTAssertEqual(try? result.get(), 100)
                group.leave()
            }
        }
        XCTAssertEqual(group.wait(timeout: .now() + 60), .success)
        let contents = backend.contents(offset: 0, length: records * 100)
        for record in 0..<records {
            XCTAssertEqual(Array(contents[(record * 100)..<(record * 100 + 100)]), [UInt8](repeating: UInt8(record % 251 + 1), count: 100), "record \(record)")
        }
        XCTAssertGreaterThan(backend.snapshot().maxInFlight, 1, "disjoint blocks should still be written concurrently")
        XCTAssertEqual(device.rangeLockCounts.held, 0)
        XCTAssertEqual(device.rangeLockCounts.waiting, 0)
    }

    func testEndOfDevice() throws {
        let backend = MemoryBackend(sizeBytes: 8192, blockSize: 4096)
        let device = try ExportedDevice(backend: backend, name: "t")
        XCTAssertEqual(try read(device, 100, at: 8192).get(), [])
        XCTAssertEqual(try read(device, 100, at: 8150).get().count, 42)
        // Writes running past the end are short; writes starting there fail.
        XCTAssertEqual(try write(device, [UInt8](repeating: 9, count: 100), at: 8150).get(), 42)
        XCTAssertEqual(backend.contents(offset: 8150, length: 42), [UInt8](repeating: 9, count: 42))
        XCTAssertEqual(write(device, [1], at: 8192), .failure(.noSpace("write at 8192 is past the end of the device (8192 bytes)")))
        XCTAssertEqual(backend.snapshot().misaligned, [])
    }

    func testSizeIsRoundedDownToBlocks() throws {
        let device = try ExportedDevice(backend: MemoryBackend(sizeBytes: 10000, blockSize: 4096), name: "t")
        XCTAssertEqual(device.visibleSize, 8192)
    }

    func testBackendErrorsPropagateWithErrno() throws {
        let backend = MemoryBackend(sizeBytes: 1 << 16, blockSize: 512)
        let device = try ExportedDevice(backend: backend, name: "t")
        backend.failWritesWith = ENOSPC
        guard case .failure(let error) = write(device, [1, 2, 3], at: 10) else {
            return XCTFail("write should fail")
        }
        XCTAssertEqual(error.errno, ENOSPC)
        XCTAssertEqual(device.rangeLockCounts.held, 0, "a failed write must release its range lock")
        backend.failWritesWith = nil
        XCTAssertEqual(try write(device, [1, 2, 3], at: 10).get(), 3)
    }

    func testShortBackendReadIsAnError() throws {
        let device = try ExportedDevice(backend: ShortReadBackend(), name: "t")
        guard case .failure(let error) = read(device, 512, at: 0) else {
            return XCTFail("read should fail")
        }
        XCTAssertEqual(error.errno, EIO)
        XCTAssertTrue(error.message.contains("returned 100 bytes for a 512-byte read"))
    }

    func testPunchHoleOnZeroingBackendDiscardsInteriorAndZeroesEdges() throws {
        let backend = MemoryBackend(sizeBytes: 1 << 20, blockSize: 4096, discardZeroesData: true)
        backend.fill(offset: 0, bytes: [UInt8](repeating: 0xFF, count: 1 << 20))
        let device = try ExportedDevice(backend: backend, name: "t")
        let result: Result<Void, BlockIOError> = wait { device.punchHole(offset: 1000, length: 20000, completion: $0) }
        XCTAssertNoThrow(try result.get())
        XCTAssertEqual(backend.snapshot().discards.map { [$0.offset, $0.length] }, [[4096, 16384]])
        let contents = backend.contents(offset: 0, length: 32768)
        XCTAssertEqual(Array(contents[0..<1000]), [UInt8](repeating: 0xFF, count: 1000))
        XCTAssertEqual(Array(contents[1000..<21000]), [UInt8](repeating: 0, count: 20000))
        XCTAssertEqual(Array(contents[21000...]), [UInt8](repeating: 0xFF, count: 32768 - 21000))
    }

    func testPunchHoleOnNonZeroingBackendWritesZeros() throws {
        let backend = MemoryBackend(sizeBytes: 4 << 20, blockSize: 512, discardZeroesData: false)
        backend.fill(offset: 0, bytes: [UInt8](repeating: 0xFF, count: 4 << 20))
        let device = try ExportedDevice(backend: backend, name: "t")
        let result: Result<Void, BlockIOError> = wait { device.punchHole(offset: 0, length: 3 << 20, completion: $0) }
        XCTAssertNoThrow(try result.get())
        XCTAssertEqual(backend.snapshot().discards.count, 1, "discard still reaches the backend")
        TestSupport.assertBytesEqual(backend.contents(offset: 0, length: 3 << 20), [UInt8](repeating: 0, count: 3 << 20))
        TestSupport.assertBytesEqual(backend.contents(offset: 3 << 20, length: 1 << 20), [UInt8](repeating: 0xFF, count: 1 << 20))
    }

    func testPunchHoleUnsupportedReportsEOPNOTSUPP() throws {
        let backend = MemoryBackend(sizeBytes: 1 << 20, blockSize: 512, discardSupported: false)
        let device = try ExportedDevice(backend: backend, name: "t")
        let result: Result<Void, BlockIOError> = wait { device.punchHole(offset: 0, length: 4096, completion: $0) }
        guard case .failure(let error) = result else { return XCTFail("should fail") }
        XCTAssertEqual(error.errno, EOPNOTSUPP)
    }

    func testZeroRangeLargeAndUnaligned() throws {
        let size = 6 << 20
        let backend = MemoryBackend(sizeBytes: size, blockSize: 4096, delay: 0.0001)
        backend.fill(offset: 0, bytes: [UInt8](repeating: 0x5A, count: size))
        let device = try ExportedDevice(backend: backend, name: "t")
        let start = 3333
        let length = (5 << 20) + 77
        let result: Result<Void, BlockIOError> = wait { device.zeroRange(offset: UInt64(start), length: UInt64(length), completion: $0) }
        XCTAssertNoThrow(try result.get())
        var expected = [UInt8](repeating: 0x5A, count: size)
        expected.replaceSubrange(start..<(start + length), with: [UInt8](repeating: 0, count: length))
        TestSupport.assertBytesEqual(backend.contents(offset: 0, length: size), expected)
        let stats = backend.snapshot()
        XCTAssertEqual(stats.misaligned, [])
        XCTAssertLessThanOrEqual(stats.largestRequest, ExportedDevice.zeroChunk + 4096)
        XCTAssertGreaterThan(stats.maxInFlight, 1, "zero fill keeps several writes in flight")
    }

    func testZeroRangeSurvivesSynchronousCompletions() throws {
        // A backend completing inline must not recurse once per chunk.
        let backend = InlineBackend(sizeBytes: 256 << 20)
        let device = try ExportedDevice(backend: backend, name: "t")
        let result: Result<Void, BlockIOError> = wait { device.zeroRange(offset: 0, length: 256 << 20, completion: $0) }
        XCTAssertNoThrow(try result.get())
        XCTAssertEqual(backend.writes, 256)
    }
}

/// Returns fewer bytes than asked: a buggy backend.
private final class ShortReadBackend: BlockBackend, @unchecked Sendable {
    let blockSize = 512
    let sizeBytes: UInt64 = 1 << 20
    func read(offset: UInt64, length: Int, completion: @escaping @Sendable (Result<ByteBuffer, BlockIOError>) -> Void) {
        completion(.success(ByteBuffer(bytes: [UInt8](repeating: 1, count: 100))))
    }
    func write(offset: UInt64, data: ByteBuffer, completion: @escaping @Sendable (Result<Void, BlockIOError>) -> Void) {
        completion(.success(()))
    }
    func flush(completion: @escaping @Sendable (Result<Void, BlockIOError>) -> Void) { completion(.success(())) }
    func discard(offset: UInt64, length: UInt64, completion: @escaping @Sendable (Result<Void, BlockIOError>) -> Void) {
        completion(.failure(.unsupported("no")))
    }
}

/// Completes every call before returning; counts writes, stores nothing.
private final class InlineBackend: BlockBackend, @unchecked Sendable {
    let blockSize = 4096
    let sizeBytes: UInt64
    private let lock = NSLock()
    private var _writes = 0
    var writes: Int { lock.withLock { _writes } }
    init(sizeBytes: Int) { self.sizeBytes = UInt64(sizeBytes) }
    func read(offset: UInt64, length: Int, completion: @escaping @Sendable (Result<ByteBuffer, BlockIOError>) -> Void) {
        completion(.success(ByteBuffer(bytes: [UInt8](repeating: 0, count: length))))
    }
    func write(offset: UInt64, data: ByteBuffer, completion: @escaping @Sendable (Result<Void, BlockIOError>) -> Void) {
        lock.withLock { _writes += 1 }
        completion(.success(()))
    }
    func flush(completion: @escaping @Sendable (Result<Void, BlockIOError>) -> Void) { completion(.success(())) }
    func discard(offset: UInt64, length: UInt64, completion: @escaping @Sendable (Result<Void, BlockIOError>) -> Void) {
        completion(.success(()))
    }
}
