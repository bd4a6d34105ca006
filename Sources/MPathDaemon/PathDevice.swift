import BlockExport
import ISCSI
import NIOCore
import SCSI

/// One path's LUN as its own block device (`path_devices yes`): what /dev/sdX is under
/// dm-multipath. IO goes down this path only; there is no failover here (that is the map's job,
/// or the kernel's dm-multipath map built over these devices). Like the sd driver it retries
/// what the target asks to be retried on the same path (unit attention, busy) a few times, and
/// fails everything else with the errno the map would use.
final class PathDevice: MapIOTarget, @unchecked Sendable {
    let path: MapPath
    private weak var map: MultipathMap?
    let blockSize: Int
    /// Same-path retries before an IO fails (sd's default allows 5).
    static let retryLimit = 5

    init(path: MapPath, map: MultipathMap) {
        self.path = path
        self.map = map
        self.blockSize = map.blockSize
    }

    var sizeBytes: UInt64 { map?.capacity(of: path).sizeBytes ?? 0 }

    var transferLimitBlocks: UInt32 { IOLimits.transferBlocks(blockSize: blockSize, [path.identity]) }

    var unmapLimit: (supported: Bool, maxBlocks: UInt64) {
        (path.identity.provisioning?.lbpu ?? false, IOLimits.unmapBlocks([path.identity]))
    }

    var unitName: String { "path \(path.name)" }

    func dispatch(_ io: MapIO) {
        guard let connection = map?.connection(of: path) else {
            io.finish(.failure(.io("path \(path.name) has no session (\(path.session.portalText) is down)")))
            return
        }
        let request: SCSITaskRequest
        do { request = try io.request(lun: path.samLUN) } catch {
            io.finish(.failure(.io("\(error)")))
            return
        }
        connection.execute(request) { [self] result in
            switch result {
            case .success(let response) where response.isGood:
                io.finish(.success(response.data))
            case .success(let response):
                let sense = response.sense.flatMap { try? SenseData(bytes: $0) }
                let status = SCSIStatus(rawValue: response.status)
                let what = "path \(path.name): \(status)" + (sense.map { ": \($0)" } ?? "")
                switch SCSIDisposition.classify(status: status, sense: sense) {
                case .success:
                    io.finish(.success(response.data))
                case .retrySamePath, .event(_, thenRetry: true):
                    io.attempts += 1
                    if io.attempts <= Self.retryLimit { dispatch(io) } else { io.finish(.failure(.io(what))) }
                case .retryOtherPath(let reason), .failIO(let reason):
                    io.finish(.failure(MultipathMap.blockError(status: status, sense: sense, reason: "\(what) (\(reason))")))
                case .event:
                    io.finish(.failure(.io(what)))
                }
            case .failure(let error):
                io.finish(.failure(.io("path \(path.name): \(error)")))
            }
        }
    }
}
