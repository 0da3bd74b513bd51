import Foundation
import MedicalImaging

/// Summary statistics of one metric over a group of scored objects, as the papers report them:
/// mean and standard deviation (population, NumPy's `std`; COSMOS prints mean(std) x 100), and
/// median with the quartiles (NumPy's linear percentiles; MedSAM reports median and IQR).
public struct MetricStatistics: Codable, Equatable, Sendable {
    public var n: Int
    public var mean: Double
    public var std: Double
    public var median: Double
    public var q1: Double
    public var q3: Double

    public init?(_ values: [Double]) {
        guard !values.isEmpty else { return nil }
        let s = values.sorted()
        n = s.count
        mean = s.reduce(0, +) / Double(n)
        let m = mean
        std = (s.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(n)).squareRoot()
        median = Self.percentile(s, 50)
        q1 = Self.percentile(s, 25)
        q3 = Self.percentile(s, 75)
    }

    /// NumPy's default (linear) percentile of sorted values.
    static func percentile(_ s: [Double], _ p: Double) -> Double {
        let pos = p / 100 * Double(s.count - 1)
        let lo = Int(pos.rounded(.down)), hi = min(lo + 1, s.count - 1)
        return s[lo] + (s[hi] - s[lo]) * (pos - Double(lo))
    }
}

/// One label x prompt mode x mask choice of a run's summary.
public struct SummaryGroup: Codable, Equatable, Sendable {
    public var label: Int
    public var name: String
    public var mode: String
    public var maskChoice: String
    public var dice: MetricStatistics
    public var nsd: MetricStatistics
    public var iou: MetricStatistics
    /// Mean of COSMOS's smoothed Dice (labelled as such: it is not Dice).
    public var smoothedDiceMean: Double
    /// HD95 and ASD over the objects with a non-empty prediction (nil if none).
    public var hd95: MetricStatistics?
    public var asd: MetricStatistics?
    /// Objects whose prediction was empty (Dice 0, NSD 0, no surface distance).
    public var emptyPredictions: Int
    /// "mean(std)" of Dice x 100, as COSMOS tabulates it.
    public var cosmos: String

    enum CodingKeys: String, CodingKey {
        case label, name, mode, dice, nsd, iou, hd95, asd, cosmos
        case maskChoice = "mask_choice", smoothedDiceMean = "smoothed_dice_mean", emptyPredictions = "empty_predictions"
    }
}

/// Objects of a label not scored, by reason.
public struct SkipCounts: Codable, Equatable, Sendable {
    public var label: Int
    public var name: String
    /// Objects with at most `min_area` pixels.
    public var small: Int
    /// Cases in which a named label is absent from every slice.
    public var absent: Int
}

/// What `medsam evaluate` writes as `summary.json` (and, flattened, `summary.csv`).
public struct EvaluationSummary: Codable, Sendable {
    public var groups: [SummaryGroup]
    public var skipped: [SkipCounts]
    public var cases: Int
    public var failedCases: [String: String]
    public var settings: [String: String]

    enum CodingKeys: String, CodingKey {
        case groups, skipped, cases, settings
        case failedCases = "failed_cases"
    }

    /// Groups `rows` by label, mode and mask choice (in the order labels, then modes and mask
    /// choices as `modes` and `choices` list them) and counts `skips` per label.
    public init(rows: [EvaluationRow], skips: [EvaluationSkip], modes: [String], choices: [MaskChoice],
                cases: Int, failedCases: [String: String], settings: [String: String]) {
        var byKey: [String: [EvaluationRow]] = [:]
        for r in rows { byKey["\(r.label)|\(r.mode)|\(r.maskChoice.rawValue)", default: []].append(r) }
        var names: [Int: String] = [:]
        for r in rows { names[r.label] = r.name }
        for s in skips { names[s.label] = s.name }
        var groups: [SummaryGroup] = []
        // The `everything` mode is always matched by best Dice (oracle), whichever choices were asked for.
        let allChoices = choices + MaskChoice.allCases.filter { c in !choices.contains(c) && rows.contains { $0.maskChoice == c } }
        for label in names.keys.sorted() {
            for mode in modes {
                for choice in allChoices {
                    guard let g = byKey["\(label)|\(mode)|\(choice.rawValue)"], let dice = MetricStatistics(g.map(\.dice)) else { continue }
                    groups.append(SummaryGroup(
                        label: label, name: names[label]!, mode: mode, maskChoice: choice.rawValue, dice: dice,
                        nsd: MetricStatistics(g.map(\.nsd))!, iou: MetricStatistics(g.map(\.iou))!,
                        smoothedDiceMean: g.reduce(0) { $0 + $1.smoothedDice } / Double(g.count),
                        hd95: MetricStatistics(g.compactMap(\.hd95)), asd: MetricStatistics(g.compactMap(\.asd)),
                        emptyPredictions: g.filter(\.emptyPrediction).count,
                        cosmos: String(format: "%.2f(%.2f)", dice.mean * 100, dice.std * 100)))
                }
            }
        }
        self.groups = groups
        skipped = names.keys.sorted().compactMap { l in
            let s = skips.filter { $0.label == l }
            return s.isEmpty ? nil : SkipCounts(label: l, name: names[l]!, small: s.filter { $0.reason == .small }.count,
                                                absent: s.filter { $0.reason == .absent }.count)
        }
        self.cases = cases
        self.failedCases = failedCases
        self.settings = settings
    }
}

/// Where one case's time went, for `timings.csv`.
public struct EvaluationCaseTiming: Sendable, Equatable {
    /// `evaluated` (this run), `reused` (from the journal: its first run's times) or `failed`.
    public enum Status: String, Sendable { case evaluated, reused, failed }
    public var caseID: String
    public var status: Status
    public var encodedSlices: Int
    public var scores: Int
    public var readMilliseconds: Double
    public var encodeMilliseconds: Double
    public var decodeMilliseconds: Double

    public init(caseID: String, status: Status, encodedSlices: Int = 0, scores: Int = 0,
                readMilliseconds: Double = 0, encodeMilliseconds: Double = 0, decodeMilliseconds: Double = 0) {
        self.caseID = caseID
        self.status = status
        self.encodedSlices = encodedSlices
        self.scores = scores
        self.readMilliseconds = readMilliseconds
        self.encodeMilliseconds = encodeMilliseconds
        self.decodeMilliseconds = decodeMilliseconds
    }
}

/// The CSV files of an evaluation. Numbers are printed with a fixed format, so the same run
/// gives byte-identical score files (`per_case.csv`, `skipped.csv`, `summary.csv`); times,
/// which differ between runs by nature, are in `timings.csv` and `summary.json` only.
public enum EvaluationCSV {
    static func number(_ x: Double?) -> String {
        guard let x else { return "" }
        return x.isFinite ? String(format: "%.6f", x) : (x > 0 ? "inf" : "-inf")
    }

    static func field(_ s: String) -> String {
        s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" }) ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
    }

    /// `per_case.csv`: one row per scored object (the slice empty for a 3-D score, `2d` for a 2-D image).
    public static func perCase(_ rows: [EvaluationRow]) -> String {
        var out = "case,label,name,slice,mode,mask_choice,dice,smoothed_dice,iou,nsd,hd95,asd,predicted_iou,gt_area,pred_area,empty_prediction,prompt\n"
        for r in rows {
            out += [field(r.caseID), String(r.label), field(r.name), r.slice.map(String.init) ?? (r.isThreeD ? "" : "2d"), r.mode, r.maskChoice.rawValue,
                    number(r.dice), number(r.smoothedDice), number(r.iou), number(r.nsd), number(r.hd95), number(r.asd),
                    number(r.predictedIoU), String(r.groundTruthArea), String(r.predictionArea), r.emptyPrediction ? "1" : "0", field(r.prompt)]
                .joined(separator: ",") + "\n"
        }
        return out
    }

    /// `timings.csv`: one row per case, in the dataset's order: its status, slices encoded,
    /// scores written, and the milliseconds spent reading, encoding and decoding (decoding includes
    /// post-processing and scoring). The one output file that is not the same on a rerun.
    public static func timings(_ cases: [EvaluationCaseTiming]) -> String {
        var out = "case,status,encoded_slices,scores,read_ms,encode_ms,decode_ms,total_ms\n"
        for c in cases {
            let ms = [c.readMilliseconds, c.encodeMilliseconds, c.decodeMilliseconds]
            out += ([field(c.caseID), c.status.rawValue, String(c.encodedSlices), String(c.scores)]
                    + (ms + [ms.reduce(0, +)]).map { String(format: "%.3f", $0) }).joined(separator: ",") + "\n"
        }
        return out
    }

    /// `skipped.csv`: one row per object or label not scored (slice `3d` for a 3-D skip).
    public static func skipped(_ skips: [EvaluationSkip]) -> String {
        var out = "case,label,name,slice,reason,area\n"
        for s in skips {
            out += [field(s.caseID), String(s.label), field(s.name), s.slice.map(String.init) ?? (s.threeD == true ? "3d" : ""), s.reason.rawValue, String(s.area)]
                .joined(separator: ",") + "\n"
        }
        return out
    }

    /// `summary.csv`: one row per label x mode x mask choice.
    public static func summary(_ s: EvaluationSummary) -> String {
        var out = "label,name,mode,mask_choice,n,dice_mean,dice_std,dice_median,dice_q1,dice_q3,nsd_mean,nsd_std,nsd_median,nsd_q1,nsd_q3,iou_mean,smoothed_dice_mean,hd95_median,asd_median,empty_predictions,cosmos_dice_x100\n"
        for g in s.groups {
            out += [String(g.label), field(g.name), g.mode, g.maskChoice, String(g.dice.n),
                    number(g.dice.mean), number(g.dice.std), number(g.dice.median), number(g.dice.q1), number(g.dice.q3),
                    number(g.nsd.mean), number(g.nsd.std), number(g.nsd.median), number(g.nsd.q1), number(g.nsd.q3),
                    number(g.iou.mean), number(g.smoothedDiceMean), number(g.hd95?.median), number(g.asd?.median),
                    String(g.emptyPredictions), g.cosmos].joined(separator: ",") + "\n"
        }
        return out
    }
}

/// Writes an evaluation's files into a folder, each through `AtomicFile` (a temporary name and a
/// rename), so an interrupted run never leaves a partial file under a final name.
public enum EvaluationOutput {
    /// The files written, in order.
    public static let files = ["per_case.csv", "skipped.csv", "summary.csv", "timings.csv", "summary.json", "report.html"]

    public static func write(to directory: String, rows: [EvaluationRow], skips: [EvaluationSkip], summary: EvaluationSummary,
                             timings: [String: Double], caseTimings: [EvaluationCaseTiming], html: String) throws {
        let dir = URL(fileURLWithPath: directory)
        try AtomicFile.write(Array(EvaluationCSV.perCase(rows).utf8), to: dir.appendingPathComponent("per_case.csv"))
        try AtomicFile.write(Array(EvaluationCSV.skipped(skips).utf8), to: dir.appendingPathComponent("skipped.csv"))
        try AtomicFile.write(Array(EvaluationCSV.summary(summary).utf8), to: dir.appendingPathComponent("summary.csv"))
        try AtomicFile.write(Array(EvaluationCSV.timings(caseTimings).utf8), to: dir.appendingPathComponent("timings.csv"))
        try AtomicFile.write(Array(try summaryJSON(summary, timings: timings)), to: dir.appendingPathComponent("summary.json"))
        try AtomicFile.write(Array(html.utf8), to: dir.appendingPathComponent("report.html"))
    }

    /// `summary.json`: the summary plus the run's timings (kept out of the CSVs, which stay
    /// byte-identical between runs).
    public static func summaryJSON(_ summary: EvaluationSummary, timings: [String: Double]) throws -> Data {
        struct File: Encodable {
            var summary: EvaluationSummary
            var timings_ms: [String: Double]
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return try encoder.encode(File(summary: summary, timings_ms: timings))
    }
}
