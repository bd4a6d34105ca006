import Prometheus

/// The metric families mpathd exports: names, label names and HELP text in one place, so the
/// registry never sees two help texts for one name (it traps on that).
enum MetricFamilies {
    static let pathActive = MetricNameDescriptor(
        metricName: "mpath_path_active", unitName: "",
        helpText: "1 when the path is active (usable for IO) in its map, 0 when it is failed.")
    static let pathCheckerState = MetricNameDescriptor(
        metricName: "mpath_path_checker_state", unitName: "",
        helpText: "Path checker verdict: 1 for the current state (ready, faulty or shaky), 0 for the others.")
    static let nopRoundTrip = MetricNameDescriptor(
        metricName: "mpath_path_nop_rtt_seconds", unitName: "",
        helpText: "Round-trip time of the checker's NOP-Out ping on the path, in seconds.")
    static let pathIO = MetricNameDescriptor(
        metricName: "mpath_path_io_total", unitName: "",
        helpText: "SCSI read and write commands completed on the path.")
    static let pathBytes = MetricNameDescriptor(
        metricName: "mpath_path_bytes_total", unitName: "",
        helpText: "Bytes read and written on the path.")
    static let pathIOErrors = MetricNameDescriptor(
        metricName: "mpath_path_io_errors_total", unitName: "",
        helpText: "IOs that failed on the path (transport or path-level SCSI errors).")
    static let mapRetries = MetricNameDescriptor(
        metricName: "mpath_map_retries_total", unitName: "",
        helpText: "IOs on the map resubmitted after a path error.")
    static let mapFailovers = MetricNameDescriptor(
        metricName: "mpath_map_failovers_total", unitName: "",
        helpText: "Times the map switched IO to another path group (failover, or failback).")
    static let mapLastFailover = MetricNameDescriptor(
        metricName: "mpath_map_last_failover_timestamp_seconds", unitName: "",
        helpText: "Unix time of the map's most recent failover, 0 if none since the daemon started.")
    static let mapHealth = MetricNameDescriptor(
        metricName: "mpath_map_health", unitName: "",
        helpText: "Map health: 0 healthy (all paths active), 1 degraded (some paths failed), 2 down (no usable path).")
    static let mapState = MetricNameDescriptor(
        metricName: "mpath_map_state", unitName: "",
        helpText: "Map state: 1 for the current state (healthy, degraded or down), 0 for the others.")
    static let mapPathsActive = MetricNameDescriptor(
        metricName: "mpath_map_paths_active", unitName: "",
        helpText: "Paths of the map that are active.")
    static let mapPaths = MetricNameDescriptor(
        metricName: "mpath_map_paths", unitName: "",
        helpText: "Paths the map has, active or failed.")

    /// Every family name, for callers that must keep their own names clear of ours.
    static let allNames: Set<String> = [
        pathActive, pathCheckerState, nopRoundTrip, pathIO, pathBytes, pathIOErrors, mapRetries,
        mapFailovers, mapLastFailover, mapHealth, mapState, mapPathsActive, mapPaths,
    ].reduce(into: Set<String>()) { $0.insert($1.name) }

    /// Checker states that always have a series, so a dashboard sees 0 rather than no data.
    static let checkerStates = ["ready", "faulty", "shaky"]
    /// Map states in `mpath_map_health` order.
    static let mapStates = ["healthy", "degraded", "down"]

    /// NOP round trips on a LAN run from tens of microseconds (loopback) to the checker's
    /// timeout (seconds) when a path stalls; roughly 1-2.5-5 steps cover 50 µs … 5 s.
    static let nopBuckets: [Duration] = [
        .microseconds(50), .microseconds(100), .microseconds(250), .microseconds(500),
        .milliseconds(1), .microseconds(2_500), .milliseconds(5), .milliseconds(10),
        .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250),
        .milliseconds(500), .seconds(1), .milliseconds(2_500), .seconds(5),
    ]
}
