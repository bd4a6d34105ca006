import CoreMetrics
import Prometheus

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The daemon's Prometheus metrics: per-path state, checker verdicts, NOP round trips and IO
/// counters, per-map state, path counts, retries and failovers.
///
/// Hot-path calls (`recordIO`, `recordIOError`, `recordRetry`, `observeNOPRoundTrip`) take one
/// short lock for a dictionary lookup of the series objects, then update atomics; label
/// strings are rendered only when a series is first created.
public final class DaemonMetrics: Sendable {
    /// The registry every series lives in; `render()` is its text exposition.
    public let registry: PrometheusCollectorRegistry
    private let cache = MetricsLock(SeriesCache())
    private let wallClock: @Sendable () -> Double

    /// - Parameter wallClock: Unix time in seconds, for `mpath_map_last_failover_timestamp_seconds`
    ///   (injectable so tests are exact).
    public init(wallClock: @escaping @Sendable () -> Double = DaemonMetrics.unixTime) {
        self.registry = PrometheusCollectorRegistry()
        self.wallClock = wallClock
    }

    /// A swift-metrics factory writing into this registry, for `MetricsSystem.bootstrap` so
    /// libraries using swift-metrics show up on the same endpoint. Names that collide with
    /// mpathd's own families get a `swift_metrics_` prefix rather than trapping the registry.
    public var metricsFactory: any CoreMetrics.MetricsFactory {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.nameAndLabelSanitizer = { name, labels in
            (MetricFamilies.allNames.contains(name) ? "swift_metrics_" + name : name, labels)
        }
        return factory
    }

    // MARK: Paths

    /// Sets `mpath_path_active{path,map}` to 1 (active) or 0 (failed). A path that moved to
    /// another map loses its old series.
    public func setPathState(path: String, map: String, active: Bool) {
        let gauge = cache.withLock { cache -> Prometheus.Gauge in
            if let existing = cache.pathActive[path] {
                if existing.map == map { return existing.gauge }
                registry.unregisterGauge(existing.gauge)
            }
            let gauge = registry.makeGauge(descriptor: MetricFamilies.pathActive, labels: [("path", path), ("map", map)])
            cache.pathActive[path] = (map, gauge)
            // Create the IO series now so the counters read 0 from the start instead of
            // appearing with the first IO (rate() needs the zero).
            _ = cache.ioSeries(path: path, map: map, registry: registry)
            return gauge
        }
        gauge.set(to: active ? 1 : 0)
    }

    /// Sets `mpath_path_checker_state{path,state}`: 1 for `state`, 0 for every other state the
    /// path has had (ready, faulty and shaky always exist).
    public func setPathChecker(path: String, state: String) {
        cache.withLock { cache in
            var gauges = cache.checker[path] ?? [:]
            for name in MetricFamilies.checkerStates + [state] where gauges[name] == nil {
                gauges[name] = registry.makeGauge(
                    descriptor: MetricFamilies.pathCheckerState, labels: [("path", path), ("state", name)])
            }
            cache.checker[path] = gauges
            for (name, gauge) in gauges {
                gauge.set(to: name == state ? 1 : 0)
            }
        }
    }

    /// Observes one NOP-Out/NOP-In round trip in `mpath_path_nop_rtt_seconds{path}`.
    /// Negative, NaN or infinite values are dropped: they can only come from a clock bug.
    public func observeNOPRoundTrip(path: String, seconds: Double) {
        guard seconds.isFinite, seconds >= 0 else { return }
        // Clamp far below Int64 nanosecond overflow (292 years).
        let nanoseconds = Int64((min(seconds, 1e9) * 1e9).rounded())
        let histogram = cache.withLock { cache -> DurationHistogram in
            if let existing = cache.nop[path] { return existing }
            let histogram = registry.makeDurationHistogram(
                descriptor: MetricFamilies.nopRoundTrip, labels: [("path", path)], buckets: MetricFamilies.nopBuckets)
            cache.nop[path] = histogram
            return histogram
        }
        histogram.record(.nanoseconds(nanoseconds))
    }

    /// Counts one completed read or write of `bytes` bytes on the path:
    /// `mpath_path_io_total` and `mpath_path_bytes_total` with `direction` read|write.
    public func recordIO(path: String, map: String, bytes: Int, write: Bool) {
        let series = cache.withLock { $0.ioSeries(path: path, map: map, registry: registry) }
        if write {
            series.writeOps.increment()
            if bytes > 0 { series.writeBytes.increment(by: Int64(bytes)) }
        } else {
            series.readOps.increment()
            if bytes > 0 { series.readBytes.increment(by: Int64(bytes)) }
        }
    }

    /// Counts one failed IO on the path in `mpath_path_io_errors_total`.
    public func recordIOError(path: String, map: String) {
        cache.withLock { $0.ioSeries(path: path, map: map, registry: registry) }.errors.increment()
    }

    // MARK: Maps

    /// Counts one IO resubmission on the map in `mpath_map_retries_total`.
    public func recordRetry(map: String) {
        cache.withLock { $0.mapSeries(map: map, registry: registry) }.retries.increment()
    }

    /// Counts one switch of the map's IO to another path group in
    /// `mpath_map_failovers_total{map}` and stamps `mpath_map_last_failover_timestamp_seconds`.
    /// `from` and `to` (path groups or paths) stay out of the labels: a label per pair would
    /// multiply series, and the daemon logs the pair.
    public func recordFailover(map: String, from: String, to: String) {
        let series = cache.withLock { $0.mapSeries(map: map, registry: registry) }
        series.failovers.increment()
        series.lastFailover.set(to: wallClock())
    }

    /// Sets `mpath_map_health{map}` (healthy 0, degraded 1, anything else 2, so an unexpected
    /// state alerts like `down`) and `mpath_map_state{map,state}` (1 for `state`, 0 for the
    /// others; healthy, degraded and down always exist).
    public func setMapState(map: String, state: String) {
        cache.withLock { cache in
            let series = cache.mapSeries(map: map, registry: registry)
            series.health.set(to: Double(MetricFamilies.mapStates.firstIndex(of: state) ?? 2))
            var gauges = cache.mapState[map] ?? [:]
            for name in MetricFamilies.mapStates + [state] where gauges[name] == nil {
                gauges[name] = registry.makeGauge(
                    descriptor: MetricFamilies.mapState, labels: [("map", map), ("state", name)])
            }
            cache.mapState[map] = gauges
            for (name, gauge) in gauges {
                gauge.set(to: name == state ? 1 : 0)
            }
        }
    }

    /// Sets `mpath_map_paths_active{map}` and `mpath_map_paths{map}`.
    public func setMapPaths(map: String, active: Int, total: Int) {
        let series = cache.withLock { $0.mapSeries(map: map, registry: registry) }
        series.pathsActive.set(to: Double(active))
        series.paths.set(to: Double(total))
    }

    // MARK: Removal

    /// Unregisters every series labelled with this path, so a removed path stops being exported.
    public func removePath(path: String) {
        // Unregister under our lock: a concurrent recordIO must either see the old series
        // (and lose one count to a dead path) or create a fresh one after we finish, never
        // keep a cached series the registry has already dropped.
        cache.withLock { cache in
            for key in cache.io.keys where key.path == path {
                cache.io.removeValue(forKey: key)?.unregister(from: registry)
            }
            if let (_, gauge) = cache.pathActive.removeValue(forKey: path) {
                registry.unregisterGauge(gauge)
            }
            for gauge in (cache.checker.removeValue(forKey: path) ?? [:]).values {
                registry.unregisterGauge(gauge)
            }
            if let histogram = cache.nop.removeValue(forKey: path) {
                registry.unregisterDurationHistogram(histogram)
            }
        }
    }

    /// Unregisters the map's own series and every per-path series labelled with this map.
    /// Series labelled by path only (checker state, NOP round trip) go with `removePath`.
    public func removeMap(map: String) {
        cache.withLock { cache in
            cache.maps.removeValue(forKey: map)?.unregister(from: registry)
            for gauge in (cache.mapState.removeValue(forKey: map) ?? [:]).values {
                registry.unregisterGauge(gauge)
            }
            for key in cache.io.keys where key.map == map {
                cache.io.removeValue(forKey: key)?.unregister(from: registry)
            }
            for (path, entry) in cache.pathActive where entry.map == map {
                registry.unregisterGauge(entry.gauge)
                cache.pathActive.removeValue(forKey: path)
            }
        }
    }

    // MARK: Exposition

    /// The Prometheus text exposition (format 0.0.4), families sorted by name and series by
    /// labels so successive scrapes and diffs line up.
    public func render() -> String {
        ExpositionOrder.sorted(registry.emitToString())
    }

    /// Wall-clock time in seconds since 1970.
    @Sendable public static func unixTime() -> Double {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
    }
}

/// Series objects by label values; only touched under `DaemonMetrics.cache`'s lock.
private struct SeriesCache {
    struct PathMap: Hashable {
        var path: String
        var map: String
    }

    var io: [PathMap: PathIOSeries] = [:]
    var pathActive: [String: (map: String, gauge: Prometheus.Gauge)] = [:]
    var checker: [String: [String: Prometheus.Gauge]] = [:]
    var nop: [String: DurationHistogram] = [:]
    var maps: [String: MapSeries] = [:]
    var mapState: [String: [String: Prometheus.Gauge]] = [:]

    mutating func ioSeries(path: String, map: String, registry: PrometheusCollectorRegistry) -> PathIOSeries {
        let key = PathMap(path: path, map: map)
        if let existing = io[key] { return existing }
        let series = PathIOSeries(path: path, map: map, registry: registry)
        io[key] = series
        return series
    }

    mutating func mapSeries(map: String, registry: PrometheusCollectorRegistry) -> MapSeries {
        if let existing = maps[map] { return existing }
        let series = MapSeries(map: map, registry: registry)
        maps[map] = series
        return series
    }
}

/// The counters of one (path, map) pair.
private final class PathIOSeries: Sendable {
    let readOps: Prometheus.Counter
    let writeOps: Prometheus.Counter
    let readBytes: Prometheus.Counter
    let writeBytes: Prometheus.Counter
    let errors: Prometheus.Counter

    init(path: String, map: String, registry: PrometheusCollectorRegistry) {
        let read = [("path", path), ("map", map), ("direction", "read")]
        let write = [("path", path), ("map", map), ("direction", "write")]
        readOps = registry.makeCounter(descriptor: MetricFamilies.pathIO, labels: read)
        writeOps = registry.makeCounter(descriptor: MetricFamilies.pathIO, labels: write)
        readBytes = registry.makeCounter(descriptor: MetricFamilies.pathBytes, labels: read)
        writeBytes = registry.makeCounter(descriptor: MetricFamilies.pathBytes, labels: write)
        errors = registry.makeCounter(descriptor: MetricFamilies.pathIOErrors, labels: [("path", path), ("map", map)])
    }

    func unregister(from registry: PrometheusCollectorRegistry) {
        for counter in [readOps, writeOps, readBytes, writeBytes, errors] {
            registry.unregisterCounter(counter)
        }
    }
}

/// The per-map series other than the labelled state gauges.
private final class MapSeries: Sendable {
    let retries: Prometheus.Counter
    let failovers: Prometheus.Counter
    let lastFailover: Prometheus.Gauge
    let health: Prometheus.Gauge
    let pathsActive: Prometheus.Gauge
    let paths: Prometheus.Gauge

    init(map: String, registry: PrometheusCollectorRegistry) {
        let labels = [("map", map)]
        retries = registry.makeCounter(descriptor: MetricFamilies.mapRetries, labels: labels)
        failovers = registry.makeCounter(descriptor: MetricFamilies.mapFailovers, labels: labels)
        lastFailover = registry.makeGauge(descriptor: MetricFamilies.mapLastFailover, labels: labels)
        health = registry.makeGauge(descriptor: MetricFamilies.mapHealth, labels: labels)
        pathsActive = registry.makeGauge(descriptor: MetricFamilies.mapPathsActive, labels: labels)
        paths = registry.makeGauge(descriptor: MetricFamilies.mapPaths, labels: labels)
    }

    func unregister(from registry: PrometheusCollectorRegistry) {
        for counter in [retries, failovers] {
            registry.unregisterCounter(counter)
        }
        for gauge in [lastFailover, health, pathsActive, paths] {
            registry.unregisterGauge(gauge)
        }
    }
}
