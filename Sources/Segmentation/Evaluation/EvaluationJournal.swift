import Foundation

/// A case as the journal records it: its scores, or why it failed.
public struct JournalCase: Codable, Equatable, Sendable {
    public var kind = "case"
    public var caseID: String
    public var rows: [EvaluationRow]?
    public var skips: [EvaluationSkip]?
    public var encodedSlices: Int?
    public var timingsMilliseconds: [String: Double]?
    public var error: String?

    public init(_ e: CaseEvaluation) {
        caseID = e.caseID
        rows = e.rows
        skips = e.skips
        encodedSlices = e.encodedSlices
        timingsMilliseconds = ["read": e.readMilliseconds, "encode": e.encodeMilliseconds, "decode": e.decodeMilliseconds]
    }

    public init(caseID: String, error: String) {
        self.caseID = caseID
        self.error = error
    }
}

/// Makes an evaluation resumable: one JSON line per finished case (its rows and skips, or its
/// error) appended to `evaluation-journal.jsonl` in the output folder, after a first line with
/// the run's settings. A rerun with the same settings reuses the cases the journal holds as done
/// and evaluates the others (failed ones again); other settings are refused rather than mixed.
/// A line cut short by a kill is ignored (that case is evaluated again).
public final class EvaluationJournal {
    public static let fileName = "evaluation-journal.jsonl"
    public let path: String
    /// Cases done in an earlier run, by id.
    public private(set) var done: [String: JournalCase] = [:]
    private let handle: FileHandle
    private let encoder: JSONEncoder

    /// Opens (or starts) the journal in `directory` for a run with `settings`. `fresh` discards
    /// an existing journal.
    public init(directory: String, settings: [String: String], fresh: Bool) throws {
        path = (directory as NSString).appendingPathComponent(Self.fileName)
        encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        let fm = FileManager.default
        if fresh { try? fm.removeItem(atPath: path) }
        if let data = fm.contents(atPath: path), !data.isEmpty {
            let decoder = JSONDecoder()
            decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
            let lines = data.split(separator: UInt8(ascii: "\n"))
            guard let first = lines.first,
                  let header = try? JSONDecoder().decode([String: [String: String]].self, from: Data(first)),
                  let previous = header["settings"] else {
                throw EvaluationError("\(path): the first line is not an evaluation journal's settings; use --force or another --output-dir")
            }
            if previous != settings {
                let differ = Set(previous.keys).union(settings.keys).sorted().filter { previous[$0] != settings[$0] }
                throw EvaluationError("\(path) was written by a run with other settings (\(differ.joined(separator: ", "))); use --force to start over or another --output-dir")
            }
            for line in lines.dropFirst() {
                guard let c = try? decoder.decode(JournalCase.self, from: Data(line)) else { continue }
                if c.error == nil { done[c.caseID] = c } else { done[c.caseID] = nil }
            }
        } else {
            guard fm.createFile(atPath: path, contents: try encoder.encode(["settings": settings]) + Data("\n".utf8)) else {
                throw EvaluationError("\(path): cannot create the journal")
            }
        }
        guard let h = FileHandle(forWritingAtPath: path) else { throw EvaluationError("\(path): cannot open the journal for writing") }
        handle = h
        handle.seekToEndOfFile()
        // A line cut short by a kill gets its end, so the next case starts a line of its own.
        if let data = fm.contents(atPath: path), data.last != UInt8(ascii: "\n") {
            try append(raw: Data("\n".utf8))
        }
    }

    deinit { try? handle.close() }

    /// Appends one finished case, flushed to disk before the next case starts.
    public func append(_ c: JournalCase) throws {
        try append(raw: try encoder.encode(c) + Data("\n".utf8))
    }

    private func append(raw: Data) throws {
        do {
            try handle.write(contentsOf: raw)
            try handle.synchronize()
        } catch {
            throw EvaluationError("\(path): cannot append to the journal: \(error)")
        }
    }
}
