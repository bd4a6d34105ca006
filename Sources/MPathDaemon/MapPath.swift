import ISCSI
import Multipath
import SCSI

/// One LUN reached through one session: what dm-multipath calls a path. Mutable state is
/// guarded by the owning map's lock.
final class MapPath: @unchecked Sendable {
    let name: String
    let session: PathSession
    let lun: UInt64
    let samLUN: UInt64
    let identity: LogicalUnit.Identity
    var capacity: LogicalUnit.Capacity

    // Guarded by the map lock.
    var connection: ISCSIConnection?
    var dmState: PathDMState = .active
    var checker: CheckerState = .ready
    var ioCount: UInt64 = 0
    var bytes: UInt64 = 0
    var errors: UInt64 = 0
    var failCount = 0
    /// Set by `fail-path`: stays failed until `reinstate-path`, whatever the checker says.
    var administrativelyFailed = false
    /// Index in the map's path array (the selector's path number).
    var index = 0
    /// Its own block device when `path_devices yes`: /dev/loopN and its "major:minor", which
    /// names the path in the dm table (as multipath-tools names sdX by 8:16).
    var blockDevice: (node: String, number: String)?

    init(name: String, session: PathSession, lun: UInt64, identity: LogicalUnit.Identity,
         capacity: LogicalUnit.Capacity, connection: ISCSIConnection) {
        self.name = name
        self.session = session
        self.lun = lun
        self.samLUN = LogicalUnit(connection: connection, lun: lun).samLUN
        self.identity = identity
        self.capacity = capacity
        self.connection = connection
    }

    var usable: Bool { dmState == .active && connection != nil && !administrativelyFailed }
}
