import ISCSI
import MPathConfig
import NIOCore

/// Turns open-iscsi style settings (iscsid.conf + node record overrides) into what the iSCSI
/// layer logs in with. One place, so `mpathctl` and `mpathd` negotiate the same way.
public enum LoginSettings {
    public static func offer(_ op: OperationalSettings, discovery: Bool = false,
                             discoveryMaxRecv: Int = 32768) -> OperationalOffer {
        var offer = OperationalOffer()
        offer.headerDigest = op.headerDigest.offer.compactMap { DigestType(rawValue: $0) }
        offer.dataDigest = op.dataDigest.offer.compactMap { DigestType(rawValue: $0) }
        offer.initialR2T = op.initialR2T
        offer.immediateData = op.immediateData
        offer.maxRecvDataSegmentLength = discovery ? discoveryMaxRecv : op.maxRecvDataSegmentLength
        offer.maxXmitDataSegmentLength = op.maxXmitDataSegmentLength > 0 ? op.maxXmitDataSegmentLength : nil
        offer.maxBurstLength = op.maxBurstLength
        offer.firstBurstLength = min(op.firstBurstLength, op.maxBurstLength)
        offer.defaultTime2Wait = op.defaultTime2Wait
        offer.defaultTime2Retain = op.defaultTime2Retain
        offer.maxOutstandingR2T = op.maxOutstandingR2T
        offer.maxConnections = 1
        offer.dataPDUInOrder = op.dataPDUInOrder
        offer.dataSequenceInOrder = op.dataSequenceInOrder
        offer.errorRecoveryLevel = 0  // ERL 0 only, like open-iscsi and libiscsi
        return offer
    }

    /// CHAP is used whenever a username and password are set (open-iscsi's rule: authmethod is
    /// checked but credentials decide).
    public static func authentication(_ auth: AuthSettings, algorithms: [MPathConfig.CHAPAlgorithm]) -> LoginAuthentication {
        guard let username = auth.username, !username.isEmpty, let password = auth.password, !password.isEmpty else {
            return .none
        }
        var mutual: CHAPCredentials?
        if let userIn = auth.usernameIn, let passwordIn = auth.passwordIn {
            mutual = CHAPCredentials(username: userIn, secret: passwordIn)
        }
        let algs = algorithms.compactMap { ISCSI.CHAPAlgorithm(rawValue: $0.chapA) }
        return .chap(CHAPCredentials(username: username, secret: password), mutual: mutual,
                     algorithms: algs.isEmpty ? [.md5] : algs)
    }

    public static func configuration(settings: SessionSettings, initiatorName: String, targetName: String) -> LoginConfiguration {
        LoginConfiguration(initiatorName: initiatorName, targetName: targetName,
                           authentication: authentication(settings.auth, algorithms: settings.chapAlgorithms),
                           offer: offer(settings.operational))
    }

    /// Discovery sessions use discovery.sendtargets.auth.* and their own MaxRecvDataSegmentLength.
    public static func discoveryConfiguration(settings: SessionSettings, initiatorName: String) -> LoginConfiguration {
        var offer = offer(settings.operational, discovery: true, discoveryMaxRecv: settings.discoveryMaxRecvDataSegmentLength)
        offer.headerDigest = [.none]
        offer.dataDigest = [.none]
        return LoginConfiguration(initiatorName: initiatorName, targetName: nil,
                                  authentication: authentication(settings.discoveryAuth, algorithms: settings.chapAlgorithms),
                                  offer: offer)
    }

    /// One path's login target: ISID derived from the path so a relogin reinstates the session.
    public static func target(host: String, port: Int, targetName: String, iface: String, localAddress: String?,
                              settings: SessionSettings, initiatorName: String) -> LoginTarget {
        let portal = TargetAddress.format(host: host, port: port)
        return LoginTarget(
            host: host, port: port, localAddress: localAddress,
            configuration: configuration(settings: settings, initiatorName: initiatorName, targetName: targetName),
            isid: SessionIdentity.isid(initiator: initiatorName, target: targetName, portal: portal, iface: iface),
            connectTimeout: .seconds(Int64(settings.loginTimeout)), loginTimeout: .seconds(Int64(settings.loginTimeout)),
            maxOutstanding: settings.cmdsMax)
    }
}
