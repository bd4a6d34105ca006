/// Something the target told us about the logical unit that the multipath layer must act on
/// (rescan, resize, re-read ALUA states), reported through a UNIT ATTENTION or NOT READY sense.
public enum SCSIEvent: Hashable, Sendable, CustomStringConvertible {
    /// 06/2A/09 CAPACITY DATA HAS CHANGED: re-read the capacity and resize the map.
    case capacityChanged
    /// 06/3F/0E REPORTED LUNS DATA HAS CHANGED: re-run REPORT LUNS.
    case lunsChanged
    /// 06/29/xx power on, reset, I_T nexus loss: state on the target was lost (reservations,
    /// mode pages); nothing to rescan, but worth a log line.
    case reset
    /// 06/3F/03 INQUIRY DATA HAS CHANGED: re-read INQUIRY and VPD 0x83 (the WWID may have changed).
    case inquiryDataChanged
    /// 06/2A/06 ASYMMETRIC ACCESS STATE CHANGED, 06/2A/07 implicit transition failed: re-run RTPG.
    case asymmetricAccessStateChanged
    /// 02/04/0A ALUA transition in progress: the path is fine, retry it after a short delay.
    case transitioning
    /// 06/2A/01 MODE PARAMETERS CHANGED.
    case modeParametersChanged
    /// 06/2A/00 and 06/2A/02 PARAMETERS / LOG PARAMETERS CHANGED.
    case parametersChanged
    /// 06/2A/03-05 reservations or registrations preempted or released by another initiator.
    case reservationsChanged
    /// 06/28/00 NOT READY TO READY CHANGE, MEDIUM MAY HAVE CHANGED.
    case mediumMayHaveChanged
    /// 06/38/07 THIN PROVISIONING SOFT THRESHOLD REACHED.
    case thinProvisioningThresholdReached
    /// 06/3F/xx other than 03 and 0E: target operating conditions, microcode, device identifier changed.
    case targetConditionsChanged

    /// True when the command should be retried only after a delay (the target asked us to wait).
    public var advisesDelay: Bool { self == .transitioning }

    public var description: String {
        switch self {
        case .capacityChanged: return "capacity changed"
        case .lunsChanged: return "reported LUNs changed"
        case .reset: return "reset"
        case .inquiryDataChanged: return "inquiry data changed"
        case .asymmetricAccessStateChanged: return "asymmetric access state changed"
        case .transitioning: return "asymmetric access state transition"
        case .modeParametersChanged: return "mode parameters changed"
        case .parametersChanged: return "parameters changed"
        case .reservationsChanged: return "reservations changed"
        case .mediumMayHaveChanged: return "medium may have changed"
        case .thinProvisioningThresholdReached: return "thin provisioning soft threshold reached"
        case .targetConditionsChanged: return "target operating conditions changed"
        }
    }
}

/// What the multipath layer should do with a completed command.
public enum SCSIDisposition: Equatable, Sendable {
    /// The command did what was asked.
    case success
    /// Re-issue on the same path; `backoff` asks for a delay first (target busy or full).
    case retrySamePath(reason: String, backoff: Bool)
    /// This path (transport, target port or the LU behind it) cannot serve the command now:
    /// fail the path and re-issue on another one.
    case retryOtherPath(reason: String)
    /// The command itself is wrong or the data is bad; another path would answer the same.
    /// Complete the I/O with an error.
    case failIO(reason: String)
    /// The target reported `event`; act on it, then re-issue on the same path when `thenRetry`
    /// (after a delay when `event.advisesDelay`).
    case event(SCSIEvent, thenRetry: Bool)
}

extension SCSIDisposition {
    /// Maps a SCSI status and its sense to a disposition.
    ///
    /// Sources: reference-systems.md section 5 "Sense to handle"; Linux `scsi_check_sense` /
    /// `scsi_io_completion` and dm-mpath's `blk_path_error` (which error classes fail a path);
    /// multipath-tools' tur checker (NOT READY other than standby = path down); fujita/tgt
    /// `spc_test_unit` (an LU set `online=0` answers NOT READY 04/01, a removable one 3A/00).
    /// Each rule is one line below, with its reason.
    public static func classify(status: SCSIStatus, sense: SenseData?) -> SCSIDisposition {
        switch status {
        case .good, .conditionMet:
            return .success
        case .busy:
            // The LU is busy now; the same path will take it later.
            return .retrySamePath(reason: "status BUSY", backoff: true)
        case .taskSetFull:
            // Queue full on the target: slow down, the path is healthy.
            return .retrySamePath(reason: "status TASK SET FULL", backoff: true)
        case .reservationConflict:
            // Another initiator holds a reservation; every path gets the same answer (not a path error).
            return .failIO(reason: "status RESERVATION CONFLICT")
        case .taskAborted:
            // Aborted by another I_T nexus's task management (TAS=1); the command itself was fine.
            return .retrySamePath(reason: "status TASK ABORTED", backoff: false)
        case .acaActive:
            // We never set NACA, so ACA should not exist; wait for whoever owns it to clear it.
            return .retrySamePath(reason: "status ACA ACTIVE", backoff: true)
        case .checkCondition:
            guard let sense else {
                // No sense to judge by; a plain retry is harmless and usually clears it.
                return .retrySamePath(reason: "CHECK CONDITION without sense data", backoff: false)
            }
            return classify(sense)
        default:
            // A status no SAM revision we support defines: this target port is misbehaving.
            return .retryOtherPath(reason: "unexpected status \(status)")
        }
    }

    /// Convenience for the transport: parses `senseBytes` (nil or undecodable = no sense).
    public static func classify(status: SCSIStatus, senseBytes: [UInt8]?) -> SCSIDisposition {
        let sense = senseBytes.flatMap { try? SenseData(bytes: $0) }
        return classify(status: status, sense: sense)
    }

    private static func classify(_ sense: SenseData) -> SCSIDisposition {
        let code = sense.additionalSenseCode
        let reason = sense.description
        if sense.isDeferred && sense.senseKey != .noSense && sense.senseKey != .recoveredError
            && sense.senseKey != .completed {
            // The error belongs to an earlier command; this one was not executed, so re-issue it.
            return .retrySamePath(reason: reason, backoff: false)
        }
        switch sense.senseKey {
        case .noSense:
            // CHECK CONDITION that names no error: outcome unknown, nothing blames the path; retry.
            return .retrySamePath(reason: reason, backoff: false)
        case .recoveredError, .completed:
            // The device recovered (or completed) the command; the data is good.
            return .success
        case .notReady:
            return classifyNotReady(code, reason: reason)
        case .mediumError:
            // Unreadable/unwritable blocks are on the LU, not the path: every path fails the same.
            return .failIO(reason: reason)
        case .hardwareError:
            // A failed controller or port; another target port may route around it.
            return .retryOtherPath(reason: reason)
        case .illegalRequest:
            if code == .logicalUnitNotSupported {
                // The LU vanished behind this path (unmapped): fail the path, others may still see it.
                return .retryOtherPath(reason: reason)
            }
            // 20/00, 24/00, 21/00, 26/00...: the command is wrong; another path answers the same.
            return .failIO(reason: reason)
        case .unitAttention:
            return classifyUnitAttention(code, reason: reason)
        case .dataProtect:
            // Write protected / space allocation failed: a property of the LU, not the path.
            return .failIO(reason: reason)
        case .abortedCommand:
            return classifyAbortedCommand(code, reason: reason)
        case .blankCheck, .vendorSpecific, .copyAborted, .reserved, .volumeOverflow, .miscompare:
            // Command-level results (MISCOMPARE is COMPARE AND WRITE's answer); no path involved.
            return .failIO(reason: reason)
        }
    }

    private static func classifyNotReady(_ code: AdditionalSenseCode, reason: String) -> SCSIDisposition {
        if code == .asymmetricAccessStateTransition {
            // ALUA transition: the path is coming back by itself; retry it after a delay, don't fail it.
            return .event(.transitioning, thenRetry: true)
        }
        // 04/0B standby, 04/0C unavailable, 04/03 manual intervention, 3A/00 medium not present, and
        // 04/01: tgt answers 04/01 forever for an LU set online=0, so waiting would stall the I/O.
        // Every NOT READY but 04/0A means this path's LU cannot serve now: fail the path (as the tur
        // checker does) and let the checker bring it back.
        return .retryOtherPath(reason: reason)
    }

    private static func classifyUnitAttention(_ code: AdditionalSenseCode, reason: String) -> SCSIDisposition {
        // A UNIT ATTENTION means this command was not executed; it is always retried after the event.
        switch (code.asc, code.ascq) {
        case (0x29, _):
            return .event(.reset, thenRetry: true)
        case (0x2A, 0x09):
            return .event(.capacityChanged, thenRetry: true)
        case (0x2A, 0x06), (0x2A, 0x07):
            return .event(.asymmetricAccessStateChanged, thenRetry: true)
        case (0x2A, 0x01):
            return .event(.modeParametersChanged, thenRetry: true)
        case (0x2A, 0x03), (0x2A, 0x04), (0x2A, 0x05):
            return .event(.reservationsChanged, thenRetry: true)
        case (0x2A, _):
            return .event(.parametersChanged, thenRetry: true)
        case (0x3F, 0x0E):
            return .event(.lunsChanged, thenRetry: true)
        case (0x3F, 0x03):
            return .event(.inquiryDataChanged, thenRetry: true)
        case (0x3F, _):
            return .event(.targetConditionsChanged, thenRetry: true)
        case (0x28, 0x00):
            return .event(.mediumMayHaveChanged, thenRetry: true)
        case (0x38, 0x07):
            return .event(.thinProvisioningThresholdReached, thenRetry: true)
        default:
            // Unknown UA (e.g. 2F/00 commands cleared by another initiator): nothing to act on, just retry.
            return .retrySamePath(reason: reason, backoff: false)
        }
    }

    private static func classifyAbortedCommand(_ code: AdditionalSenseCode, reason: String) -> SCSIDisposition {
        switch code.asc {
        case 0x47, 0x4B:
            // 47/xx CRC/parity and 4B/xx data phase errors (iSCSI: connection lost, data offset,
            // too much write data) are transport faults of this path: try another one.
            return .retryOtherPath(reason: reason)
        case 0x10:
            // 10/xx protection information check failed: data integrity, retrying would hide it.
            return .failIO(reason: reason)
        default:
            // Other aborts (overlapped commands, internal target contention) are transient here.
            return .retrySamePath(reason: reason, backoff: false)
        }
    }
}
