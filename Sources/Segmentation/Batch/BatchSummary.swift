import Foundation

/// The summary a run prints (`--json`) at the end.
public struct BatchSummary: Codable, Sendable {
    /// Cases in this shard.
    public var cases: Int
    /// Cases finished in this run.
    public var done: Int
    /// Cases the journal already had as done (output present), not redone.
    public var skipped: Int
    /// Cases failed, in this run or (not retried) in an earlier one.
    public var failed: Int
    public var images: Int
    public var prompts: Int
    public var wall_s: Double
    public var images_per_s: Double
    public var prompts_per_s: Double
    public var peak_rss_mb: Double
    public var model: String
    public var backend: String
    public var device: String
    public var journal: String
    public var shard: Int
    public var shards: Int
    public var failures: [BatchFailure]

    public init(cases: Int, done: Int, skipped: Int, failed: Int, images: Int, prompts: Int, wall_s: Double,
                images_per_s: Double, prompts_per_s: Double, peak_rss_mb: Double, model: String, backend: String,
                device: String, journal: String, shard: Int, shards: Int, failures: [BatchFailure]) {
        self.cases = cases; self.done = done; self.skipped = skipped; self.failed = failed
        self.images = images; self.prompts = prompts; self.wall_s = wall_s
        self.images_per_s = images_per_s; self.prompts_per_s = prompts_per_s; self.peak_rss_mb = peak_rss_mb
        self.model = model; self.backend = backend; self.device = device; self.journal = journal
        self.shard = shard; self.shards = shards; self.failures = failures
    }
}

/// Shards' journals combined into one account of the batch.
public struct MergeSummary: Codable, Sendable {
    public var journals: [String]
    public var shards: Int
    /// Cases in the batch (from the journals' run lines).
    public var total: Int
    public var cases: Int
    public var done: Int
    public var failed: Int
    public var images: Int
    public var prompts: Int
    public var failures: [BatchFailure]

    /// Reads every journal (the last line of each case counts), and checks that no case is in
    /// two journals, that the shards are 0..<N of one N, and that the cases add up to the batch.
    public static func merge(paths: [String]) throws -> MergeSummary {
        guard !paths.isEmpty else { throw BatchError("merge needs at least one journal") }
        var owner: [String: String] = [:]
        var latest: [String: JournalEntry] = [:]
        var shardOf: [Int: String] = [:]
        var shardCount: Int?
        var total: Int?
        for path in paths {
            guard FileManager.default.fileExists(atPath: path) else { throw BatchError("journal \(path): no such file") }
            let (entries, _) = try BatchJournal.read(path: path)
            guard let run = entries.last(where: { $0.kind == "run" }) else {
                throw BatchError("journal \(path): no run line (is it a medsam batch journal?)")
            }
            let n = run.shards ?? 1, k = run.shard ?? 0
            if let s = shardCount, s != n {
                throw BatchError("journal \(path): shard \(k) of \(n), but another journal is of \(s) shards")
            }
            shardCount = n
            if let other = shardOf[k] { throw BatchError("journal \(path): shard \(k) is also \(other)") }
            shardOf[k] = path
            if let t = total, let rt = run.total, t != rt {
                throw BatchError("journal \(path): a batch of \(rt) cases, another journal's has \(t)")
            }
            total = total ?? run.total
            for (id, e) in BatchJournal.latest(entries) {
                if let other = owner[id] { throw BatchError("case \(id) is in two journals: \(other) and \(path)") }
                owner[id] = path
                latest[id] = e
            }
        }
        let n = shardCount ?? 1
        let missingShards = (0..<n).filter { shardOf[$0] == nil }
        if !missingShards.isEmpty {
            throw BatchError("journals of shards \(missingShards.map(String.init).joined(separator: ", ")) (of \(n)) are missing")
        }
        let t = total ?? latest.count
        if latest.count != t {
            throw BatchError("the journals record \(latest.count) cases, the batch has \(t) (\(t - latest.count) not finished: rerun their shards)")
        }
        let entries = latest.values.sorted { ($0.id ?? "") < ($1.id ?? "") }
        let done = entries.filter(\.isDone)
        return MergeSummary(journals: paths, shards: n, total: t, cases: latest.count, done: done.count,
                            failed: entries.count - done.count, images: done.reduce(0) { $0 + ($1.images ?? 0) },
                            prompts: done.reduce(0) { $0 + ($1.prompts ?? 0) },
                            failures: entries.filter(\.isFailed).map { BatchFailure(id: $0.id ?? "?", error: $0.error ?? "") })
    }
}
