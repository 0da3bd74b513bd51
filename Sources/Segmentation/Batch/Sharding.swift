import Foundation

/// A deterministic share of a batch: the cases in sorted order, every `count`-th from `index`,
/// so `count` shards cover every case exactly once whatever machine runs each.
public struct Shard: Equatable, Sendable {
    public var index: Int
    public var count: Int

    public init(index: Int, count: Int) throws {
        guard count >= 1 else { throw BatchError("--num-shards \(count): expected 1 or more") }
        guard (0..<count).contains(index) else {
            throw BatchError("--shard-id \(index): expected 0...\(count - 1) for --num-shards \(count)")
        }
        self.index = index
        self.count = count
    }

    /// The shard from the options, or else from a Slurm job array's environment
    /// (`SLURM_ARRAY_TASK_ID` minus `SLURM_ARRAY_TASK_MIN`, of `SLURM_ARRAY_TASK_COUNT`), or else
    /// the whole batch. An array whose task ids are not consecutive from its minimum (`--array=1,5,9`)
    /// cannot be mapped to shards and is an error.
    public static func resolve(index: Int?, count: Int?, environment: [String: String]) throws -> Shard {
        if index != nil || count != nil {
            guard let index, let count else {
                throw BatchError("give --num-shards and --shard-id together (got only \(index == nil ? "--num-shards" : "--shard-id"))")
            }
            return try Shard(index: index, count: count)
        }
        guard let idText = environment["SLURM_ARRAY_TASK_ID"] else { return try Shard(index: 0, count: 1) }
        func int(_ name: String) throws -> Int? {
            guard let t = environment[name] else { return nil }
            guard let v = Int(t.trimmingCharacters(in: .whitespaces)) else {
                throw BatchError("environment \(name)='\(t)' is not a whole number")
            }
            return v
        }
        guard let id = try int("SLURM_ARRAY_TASK_ID"), let n = try int("SLURM_ARRAY_TASK_COUNT") else {
            throw BatchError("environment SLURM_ARRAY_TASK_ID='\(idText)' is set but SLURM_ARRAY_TASK_COUNT is not; give --num-shards and --shard-id")
        }
        let min = try int("SLURM_ARRAY_TASK_MIN") ?? 0
        if let max = try int("SLURM_ARRAY_TASK_MAX"), max - min + 1 != n {
            throw BatchError("Slurm array \(min)-\(max) has \(n) tasks, not consecutive ids; give --num-shards and --shard-id")
        }
        do { return try Shard(index: id - min, count: n) } catch {
            throw BatchError("Slurm array task \(id) (min \(min), count \(n)) is not a shard 0...\(n - 1)")
        }
    }

    /// This shard's cases out of `cases` (which the caller has sorted by id).
    public func select<T>(_ cases: [T]) -> [T] {
        cases.enumerated().filter { $0.offset % count == index }.map(\.element)
    }

    /// The journal file name for this shard (`medsam-batch.jsonl`, or `medsam-batch.shard-K-of-N.jsonl`).
    public var journalName: String {
        count == 1 ? "medsam-batch.jsonl" : "medsam-batch.shard-\(index)-of-\(count).jsonl"
    }
}
