import Foundation
import Metrics
import Prometheus

/// What `GET /metrics` reports, in the Prometheus text format.
///
/// HTTP request counts and durations per route come from Hummingbird's `MetricsMiddleware`
/// through swift-metrics, once the process bootstraps swift-metrics with a
/// `PrometheusMetricsFactory` on this `registry` (`medsam serve` does). The server's own figures
/// are recorded here directly: time per stage of each segment request, and, read at each
/// scrape, the embedding cache, the images held, the background queue and the resident memory.
public final class ServerMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    private let stageSeconds: [String: DurationHistogram]
    private let gauges: [String: Prometheus.Gauge]

    /// Click latencies sit around 10-200 ms; encodes of large models take seconds.
    static let buckets: [Duration] = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1, 2.5, 5, 10, 30]
        .map { Duration.nanoseconds(Int64($0 * 1e9)) }

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        var stages: [String: DurationHistogram] = [:]
        let segment = MetricNameDescriptor(
            namespace: "medsam", metricName: "segment", unitName: "seconds",
            helpText: "Time per stage of POST /v1/images/{id}/segment (encode is 0 when the slice's embedding was cached)")
        for stage in ["queue", "encode", "decode", "total"] {
            stages[stage] = registry.makeDurationHistogram(descriptor: segment, labels: [("stage", stage)], buckets: Self.buckets)
        }
        stageSeconds = stages
        // (name, unit, help); the unit ends the metric's name, as Prometheus's conventions ask.
        let described: [(String, String, String)] = [
            ("cache_entries", "", "Slice embeddings in the cache"),
            ("cache", "bytes", "Bytes the cached embeddings are charged"),
            ("cache_capacity", "bytes", "The cache's bound (--cache-mb)"),
            ("cache_hits", "", "Segment requests whose slice embedding was cached, since start"),
            ("cache_misses", "", "Segment requests that had to encode their slice, since start"),
            ("cache_evictions", "", "Embeddings evicted to stay under the bound, since start"),
            ("images", "", "Uploaded images held in memory"),
            ("encodes_queued", "", "Background encodes waiting for the model thread"),
            ("resident_memory", "bytes", "The server process's resident set size"),
        ]
        var made: [String: Prometheus.Gauge] = [:]
        for (name, unit, help) in described {
            let d = MetricNameDescriptor(namespace: "medsam", metricName: name, unitName: unit, helpText: help)
            made[d.name] = registry.makeGauge(descriptor: d)
        }
        gauges = made
    }

    /// Sends every swift-metrics metric of this process (Hummingbird's request counts and
    /// durations among them) to `registry`. swift-metrics allows this once per process.
    public func bootstrapProcessMetrics() {
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
    }

    /// Records one answered segment request.
    func record(_ t: Timings) {
        for (stage, ms) in [("queue", t.queueMs), ("encode", t.encodeMs), ("decode", t.decodeMs), ("total", t.totalMs)] {
            stageSeconds[stage]?.recordNanoseconds(Int64(ms * 1e6))
        }
    }

    /// The registry's text after reading the service's current state into the gauges.
    func scrape(_ service: SegmentationService) -> [UInt8] {
        let cache = service.cacheStats
        let values: [String: Double] = [
            "medsam_cache_entries": Double(cache.entries), "medsam_cache_bytes": Double(cache.bytes),
            "medsam_cache_capacity_bytes": Double(cache.capacityBytes), "medsam_cache_hits": Double(cache.hits),
            "medsam_cache_misses": Double(cache.misses), "medsam_cache_evictions": Double(cache.evictions),
            "medsam_images": Double(service.imageIDs.count), "medsam_encodes_queued": Double(service.executor.backgroundQueued),
            "medsam_resident_memory_bytes": Double(Self.residentBytes() ?? 0),
        ]
        for (name, v) in values { gauges[name]?.set(v) }
        var out: [UInt8] = []
        out.reserveCapacity(8192)
        registry.emit(into: &out)
        return out
    }

    /// Resident set size from /proc/self/statm (Linux); nil where that file does not exist.
    static func residentBytes() -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return nil }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return nil }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}
