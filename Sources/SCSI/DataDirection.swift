/// Which way data moves for a command; the iSCSI layer turns this into the R/W bits of the
/// SCSI Command PDU.
public enum DataDirection: Sendable, Equatable {
    /// No data phase (TEST UNIT READY, SYNCHRONIZE CACHE).
    case none
    /// Target to initiator (data-in).
    case read
    /// Initiator to target (data-out).
    case write
}

extension CDB {
    /// The data direction of the command in `cdb`, or nil for an opcode this table does not know
    /// (the caller then decides from the buffers it has). Bidirectional commands are reported by
    /// their data-out leg.
    public static func direction(ofCDB cdb: some Collection<UInt8>) -> DataDirection? {
        guard let first = cdb.first, let opcode = SCSIOpcode(rawValue: first) else { return nil }
        switch opcode {
        case .testUnitReady, .startStopUnit, .preventAllowMediumRemoval, .synchronizeCache10,
            .synchronizeCache16, .reserve6, .release6, .formatUnit, .prefetch10, .prefetch16,
            .verify10, .verify12, .verify16, .sendDiagnostic:
            // VERIFY with BYTCHK and FORMAT UNIT with FMTDATA do send data; this initiator never sets those.
            return DataDirection.none
        case .requestSense, .read6, .inquiry, .modeSense6, .readCapacity10, .read10, .readBuffer,
            .modeSense10, .persistentReserveIn, .receiveCopyResults, .read16, .serviceActionIn16,
            .reportLuns, .maintenanceIn, .read12:
            return .read
        case .write6, .modeSelect6, .write10, .writeAndVerify10, .writeBuffer, .writeSame10, .unmap,
            .modeSelect10, .persistentReserveOut, .extendedCopy, .compareAndWrite, .write16,
            .writeAndVerify16, .maintenanceOut, .write12, .writeAndVerify12:
            return .write
        case .writeSame16:
            // NDOB (byte 1 bit 0) means "write zeroes, no data-out buffer".
            let flags = cdb.dropFirst().first ?? 0
            return flags & 0x01 != 0 ? DataDirection.none : .write
        }
    }
}
