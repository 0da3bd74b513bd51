import Foundation

/// A manifest of cases: CSV with a header row, or JSON Lines (one object per line).
///
/// Fields (CSV columns / JSON keys): `input` (required), `output`, `slice`, `slices` (`A-B` or
/// `all`), `axis`, `box` (CSV: boxes separated by `;`; JSON: `boxes`, a list of `[x0,y0,x1,y1]`),
/// `point` (CSV: `X,Y[,L]` separated by `;`; JSON: `points`, a list of `[x,y]` or `[x,y,l]`) and
/// `labels` (a label map for boxes from labels). Relative paths are taken from the manifest's
/// folder. Every error names the row (and line) and the field.
public enum Manifest {
    static let csvColumns: Set<String> = ["input", "output", "slice", "slices", "axis", "box", "point", "labels"]
    static let jsonKeys: Set<String> = ["input", "output", "slice", "slices", "axis", "box", "boxes", "point", "points", "labels"]

    public static func read(path: String, defaults: CaseDefaults) throws -> [BatchCase] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw BatchError("manifest \(path): cannot read (no such file, or not readable)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw BatchError("manifest \(path): not UTF-8 text")
        }
        let lower = path.lowercased()
        let cases: [BatchCase]
        if lower.hasSuffix(".jsonl") || lower.hasSuffix(".ndjson") {
            cases = try jsonLines(text, path: path, defaults: defaults)
        } else if lower.hasSuffix(".csv") {
            cases = try csv(text, path: path, defaults: defaults)
        } else {
            throw BatchError("manifest \(path): expected a .csv or .jsonl file name")
        }
        if cases.isEmpty { throw BatchError("manifest \(path): no cases (only a header or blank lines)") }
        return cases
    }

    // MARK: CSV

    static func csv(_ text: String, path: String, defaults: CaseDefaults) throws -> [BatchCase] {
        let rows = try CSVReader.rows(text, path: path)
        guard let header = rows.first else { throw BatchError("manifest \(path): empty file, expected a header row") }
        let names = header.fields.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        for (i, n) in names.enumerated() where !csvColumns.contains(n) {
            throw BatchError("manifest \(path) line \(header.line), column \(i + 1): unknown column '\(n)' (expected \(csvColumns.sorted().joined(separator: ", ")))")
        }
        guard names.contains("input") else {
            throw BatchError("manifest \(path) line \(header.line): the header has no 'input' column (columns: \(names.joined(separator: ", ")))")
        }
        let base = (path as NSString).deletingLastPathComponent
        var cases: [BatchCase] = []
        for (r, row) in rows.dropFirst().enumerated() {
            let origin = "manifest \(path) row \(r + 1) (line \(row.line))"
            guard row.fields.count == names.count else {
                throw BatchError("\(origin): \(row.fields.count) fields, the header has \(names.count) (\(names.joined(separator: ", ")))")
            }
            var f: [String: String] = [:]
            for (n, v) in zip(names, row.fields) { f[n] = v.trimmingCharacters(in: .whitespaces) }
            guard let input = f["input"], !input.isEmpty else {
                throw BatchError("\(origin), field 'input': empty")
            }
            let boxes = try split(f["box"]).map { try PromptParsing.box($0, origin: origin, field: "box") }
            let points = try split(f["point"]).map { try PromptParsing.point($0, origin: origin, field: "point") }
            let prompts = try PromptParsing.prompts(boxes: boxes, points: points, origin: origin)
            let selection = try PromptParsing.selection(slice: f["slice"], slices: f["slices"], axis: f["axis"], origin: origin)
            cases.append(try CasePlanner.make(input: resolve(input, base), selection: selection,
                                              prompts: prompts.map { .explicit($0) },
                                              labels: nonEmpty(f["labels"]).map { resolve($0, base) },
                                              output: nonEmpty(f["output"]).map { resolve($0, base) },
                                              defaults: defaults, origin: origin))
        }
        return cases
    }

    private static func split(_ s: String?) -> [String] {
        (s ?? "").split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    // MARK: JSON Lines

    static func jsonLines(_ text: String, path: String, defaults: CaseDefaults) throws -> [BatchCase] {
        let base = (path as NSString).deletingLastPathComponent
        var cases: [BatchCase] = []
        var row = 0
        for (i, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }
            row += 1
            let origin = "manifest \(path) row \(row) (line \(i + 1))"
            guard let object = try? JSONSerialization.jsonObject(with: Data(trimmed.utf8)) as? [String: Any] else {
                throw BatchError("\(origin): not a JSON object")
            }
            for key in object.keys.sorted() where !jsonKeys.contains(key) {
                throw BatchError("\(origin), field '\(key)': unknown field (expected \(jsonKeys.sorted().joined(separator: ", ")))")
            }
            guard let input = object["input"] as? String, !input.isEmpty else {
                throw BatchError("\(origin), field 'input': missing or not a non-empty string")
            }
            var boxes: [[Float]] = []
            for key in ["box", "boxes"] where object[key] != nil {
                for (j, b) in try list(object[key]!, origin: origin, field: key).enumerated() {
                    boxes.append(try PromptParsing.box(numberText(b), origin: origin, field: "\(key)[\(j)]"))
                }
            }
            var points: [ImagePrompt.Point] = []
            for key in ["point", "points"] where object[key] != nil {
                for (j, p) in try list(object[key]!, origin: origin, field: key).enumerated() {
                    points.append(try PromptParsing.point(numberText(p), origin: origin, field: "\(key)[\(j)]"))
                }
            }
            let prompts = try PromptParsing.prompts(boxes: boxes, points: points, origin: origin)
            let selection = try PromptParsing.selection(slice: try scalar(object["slice"], origin: origin, field: "slice"),
                                                        slices: try slices(object["slices"], origin: origin),
                                                        axis: try scalar(object["axis"], origin: origin, field: "axis"),
                                                        origin: origin)
            cases.append(try CasePlanner.make(input: resolve(input, base), selection: selection,
                                              prompts: prompts.map { .explicit($0) },
                                              labels: try scalar(object["labels"], origin: origin, field: "labels").map { resolve($0, base) },
                                              output: try scalar(object["output"], origin: origin, field: "output").map { resolve($0, base) },
                                              defaults: defaults, origin: origin))
        }
        return cases
    }

    /// A list of prompts; a single flat list of numbers is one prompt.
    private static func list(_ value: Any, origin: String, field: String) throws -> [Any] {
        guard let a = value as? [Any] else { throw BatchError("\(origin), field '\(field)': expected a list") }
        if a.allSatisfy({ $0 is NSNumber }) { return a.isEmpty ? [] : [a] }
        return a
    }

    private static func numberText(_ value: Any) -> String {
        guard let a = value as? [Any] else { return "\(value)" }
        return a.map { ($0 as? NSNumber).map { "\($0)" } ?? "?" }.joined(separator: ",")
    }

    private static func scalar(_ value: Any?, origin: String, field: String) throws -> String? {
        switch value {
        case nil, is NSNull: return nil
        case let s as String: return s
        case let n as NSNumber: return "\(n)"
        default: throw BatchError("\(origin), field '\(field)': expected a string or number")
        }
    }

    private static func slices(_ value: Any?, origin: String) throws -> String? {
        if let a = value as? [Any] {
            guard a.count == 2, a.allSatisfy({ $0 is NSNumber }) else {
                throw BatchError("\(origin), field 'slices': expected [A, B], \"A-B\" or \"all\"")
            }
            return "\(a[0])-\(a[1])"
        }
        return try scalar(value, origin: origin, field: "slices")
    }

    private static func nonEmpty(_ s: String?) -> String? {
        guard let s, !s.isEmpty else { return nil }
        return s
    }

    static func resolve(_ p: String, _ base: String) -> String {
        p.hasPrefix("/") || base.isEmpty ? p : (base as NSString).appendingPathComponent(p)
    }
}

/// RFC 4180 CSV: fields separated by commas, optionally in double quotes (which may hold commas,
/// line breaks and doubled quotes). Blank lines are skipped.
enum CSVReader {
    struct Row { var fields: [String]; var line: Int }

    static func rows(_ text: String, path: String) throws -> [Row] {
        var rows: [Row] = []
        var field = "", fields: [String] = []
        var inQuotes = false, quotedField = false
        var line = 1, rowLine = 1
        var chars = Array(text.unicodeScalars)
        if chars.first == "\u{FEFF}" { chars.removeFirst() }
        var i = 0
        func endRow() {
            fields.append(field)
            if !(fields.count == 1 && fields[0].trimmingCharacters(in: .whitespaces).isEmpty && !quotedField) {
                rows.append(Row(fields: fields, line: rowLine))
            }
            fields = []; field = ""; quotedField = false
        }
        while i < chars.count {
            let c = chars[i]
            if inQuotes {
                if c == "\"" {
                    if i + 1 < chars.count && chars[i + 1] == "\"" { field.unicodeScalars.append("\""); i += 1 } else { inQuotes = false }
                } else {
                    if c == "\n" { line += 1 }
                    field.unicodeScalars.append(c)
                }
            } else if c == "\"" {
                guard field.trimmingCharacters(in: .whitespaces).isEmpty else {
                    throw BatchError("manifest \(path) line \(line): a quote inside an unquoted field")
                }
                field = ""; inQuotes = true; quotedField = true
            } else if c == "," {
                fields.append(field); field = ""
            } else if c == "\n" || c == "\r" {
                if c == "\r" && i + 1 < chars.count && chars[i + 1] == "\n" { i += 1 }
                endRow()
                line += 1
                rowLine = line
            } else {
                field.unicodeScalars.append(c)
            }
            i += 1
        }
        if inQuotes { throw BatchError("manifest \(path) line \(rowLine): a quoted field is not closed") }
        if !field.isEmpty || !fields.isEmpty || quotedField { endRow() }
        return rows
    }
}
