import BlockExport
import ISCSI
import NIOConcurrencyHelpers
import NIOCore
import SCSI

/// One block IO on a map, carried across retries and path changes until it completes once.
final class MapIO: @unchecked Sendable {
    enum Kind {
        case read(length: Int)
        case write(ByteBuffer)
        case flush
        case unmap(blocks: UInt32)
    }

    let kind: Kind
    let lba: UInt64
    let blocks: UInt32
    let completion: (Result<ByteBuffer, BlockIOError>) -> Void
    var attempts = 0
    /// Paths this IO already failed on, so a retry prefers another.
    var triedPaths: Set<Int> = []
    let queuedAt = NIODeadline.now()
    private let done = NIOLockedValueBox(false)

    init(kind: Kind, lba: UInt64, blocks: UInt32, completion: @escaping (Result<ByteBuffer, BlockIOError>) -> Void) {
        self.kind = kind
        self.lba = lba
        self.blocks = blocks
        self.completion = completion
    }

    var byteCount: Int {
        switch kind {
        case .read(let length): return length
        case .write(let data): return data.readableBytes
        case .flush, .unmap: return 0
        }
    }

    var isWrite: Bool {
        if case .write = kind { return true }
        return false
    }

    func request(lun: UInt64) throws -> SCSITaskRequest {
        switch kind {
        case .read(let length):
            return SCSITaskRequest(lun: lun, cdb: CDB.read(lba: lba, blocks: blocks), direction: .read, expectedReadLength: length)
        case .write(let data):
            return SCSITaskRequest(lun: lun, cdb: CDB.write(lba: lba, blocks: blocks), direction: .write, dataOut: data)
        case .flush:
            return SCSITaskRequest(lun: lun, cdb: CDB.synchronizeCache10())
        case .unmap(let count):
            let list = try CDB.unmapParameterList([(lba: lba, blocks: count)])
            return SCSITaskRequest(lun: lun, cdb: CDB.unmap(parameterListLength: UInt16(list.count)), direction: .write,
                                   dataOut: ByteBuffer(bytes: list))
        }
    }

    /// Completes once; later calls (a late answer from a path already given up on) are dropped.
    func finish(_ result: Result<ByteBuffer, BlockIOError>) {
        let first = done.withLockedValue { finished -> Bool in
            defer { finished = true }
            return !finished
        }
        if first { completion(result) }
    }
}
