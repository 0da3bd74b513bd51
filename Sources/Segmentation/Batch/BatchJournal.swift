import Foundation

/// One line of a batch journal (JSON Lines): a `run` line when a run starts (its shard and how
/// many cases the shard holds), then a `case` line as each case finishes.
public struct JournalEntry: Codable, Equatable, Sendable {
    /// "run" or "case".
    public var kind: String
    // A case line.
    public var id: String?
    /// "done" or "failed".
    public var status: String?
    public var input: String?
    public var output: String?
    public var images: Int?
    public var prompts: Int?
    /// Foreground pixels of each prompt's mask, in prompt order (slices in order).
    public var areas: [Int]?
    /// Predicted IoU of each prompt's mask, in the same order.
    public var iou: [Float]?
    /// Embedding files written for the case (`--save-embeddings`), in slice order.
    public var embeddings: [String]?
    public var timings_ms: [String: Double]?
    public var error: String?
    // A run line.
    public var shard: Int?
    public var shards: Int?
    /// Cases in this shard.
    public var cases: Int?
    /// Cases in the whole batch, over all shards.
    public var total: Int?
    public var backend: String?
    public var device: String?
    public var started: String?

    public init(kind: String) { self.kind = kind }

    public var isDone: Bool { kind == "case" && status == "done" }
    public var isFailed: Bool { kind == "case" && status == "failed" }
}

/// The append-only journal of a batch run. Each finished case is one line written with one
/// `write(2)` on a file opened with `O_APPEND`, after its output is in place, so a kill leaves
/// at most a truncated last line, which reading skips.
public final class BatchJournal {
    public let path: String
    private let fd: Int32
    private let lock = NSLock()

    public init(path: String) throws {
        self.path = path
        fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0o644)
        guard fd >= 0 else { throw BatchError("journal \(path): cannot open for appending: \(String(cString: strerror(errno)))") }
        // A run killed mid-line left a line without its newline: end it, so the next entry
        // starts a line of its own (the cut line is skipped on reading).
        if let h = FileHandle(forReadingAtPath: path) {
            let size = h.seekToEndOfFile()
            if size > 0 {
                h.seek(toFileOffset: size - 1)
                if h.readData(ofLength: 1).first != 0x0A { _ = write(fd, "\n", 1) }
            }
            h.closeFile()
        }
    }

    deinit { close(fd) }

    public func append(_ entry: JournalEntry) throws {
        var line = try Self.encoder.encode(entry)
        line.append(0x0A)
        lock.lock()
        defer { lock.unlock() }
        let written = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == line.count else {
            throw BatchError("journal \(path): cannot append: \(String(cString: strerror(errno)))")
        }
    }

    static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        e.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return e
    }()

    /// The entries of a journal; a line that does not parse (a line cut by a kill) is counted in
    /// `skipped`, not an error. A missing file is an empty journal.
    public static func read(path: String) throws -> (entries: [JournalEntry], skipped: Int) {
        guard FileManager.default.fileExists(atPath: path) else { return ([], 0) }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw BatchError("journal \(path): cannot read")
        }
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        var entries: [JournalEntry] = []
        var skipped = 0
        for line in data.split(separator: 0x0A) where !line.isEmpty {
            if let e = try? decoder.decode(JournalEntry.self, from: Data(line)) { entries.append(e) } else { skipped += 1 }
        }
        return (entries, skipped)
    }

    /// The last case entry of each id.
    public static func latest(_ entries: [JournalEntry]) -> [String: JournalEntry] {
        var out: [String: JournalEntry] = [:]
        for e in entries where e.kind == "case" {
            if let id = e.id { out[id] = e }
        }
        return out
    }
}

/// Which cases a (re)run does: a case is skipped when the journal's last line for it says done
/// and its output exists, or says failed (unless `retryFailed`); `force` redoes everything.
public struct ResumePlan {
    public var toRun: [BatchCase] = []
    /// Cases already done (journal and output agree).
    public var done: [BatchCase] = []
    /// Cases that failed in an earlier run and are not retried, with their entries.
    public var failed: [(BatchCase, JournalEntry)] = []

    public init(cases: [BatchCase], journal: [String: JournalEntry], force: Bool, retryFailed: Bool) {
        for c in cases {
            guard !force, let e = journal[c.id] else { toRun.append(c); continue }
            if e.isDone && e.output == c.output && c.outputs.allSatisfy({ FileManager.default.fileExists(atPath: $0) }) {
                done.append(c)
            } else if e.isFailed && !retryFailed {
                failed.append((c, e))
            } else {
                toRun.append(c)
            }
        }
    }
}
