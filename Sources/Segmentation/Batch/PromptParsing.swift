import Foundation
import MedicalImaging

/// Box and point prompts as manifests and the command line spell them, with errors naming where
/// they came from (`origin`, e.g. "cases.csv row 3") and the field.
public enum PromptParsing {
    /// `X0,Y0,X1,Y1` (commas or spaces between the four numbers).
    public static func box(_ text: String, origin: String, field: String) throws -> [Float] {
        let v = numbers(text)
        let b = v.compactMap { $0 }
        guard v.count == 4, b.count == 4, b.allSatisfy(\.isFinite) else {
            throw BatchError("\(origin), field '\(field)': '\(text)' is not a box X0,Y0,X1,Y1 (four numbers)")
        }
        guard b[0] >= 0, b[1] >= 0 else {
            throw BatchError("\(origin), field '\(field)': box '\(text)' has a negative coordinate")
        }
        guard b[2] >= b[0], b[3] >= b[1] else {
            throw BatchError("\(origin), field '\(field)': box '\(text)' has X1 < X0 or Y1 < Y0 (expected X0,Y0,X1,Y1)")
        }
        return b
    }

    /// `X,Y` or `X,Y,L` with L 1 (foreground, the default) or 0 (background).
    public static func point(_ text: String, origin: String, field: String) throws -> ImagePrompt.Point {
        let v = numbers(text)
        guard v.count == 2 || v.count == 3, v.allSatisfy({ $0 != nil && $0!.isFinite }) else {
            throw BatchError("\(origin), field '\(field)': '\(text)' is not a point X,Y or X,Y,L")
        }
        var label = 1
        if v.count == 3 {
            guard v[2] == 0 || v[2] == 1 else {
                throw BatchError("\(origin), field '\(field)': point '\(text)' has label \(v[2]!), expected 0 (background) or 1 (foreground)")
            }
            label = Int(v[2]!)
        }
        return ImagePrompt.Point(x: v[0]!, y: v[1]!, label: label)
    }

    /// Prompts from boxes and points, as `medsam segment` forms them: each box one prompt; the
    /// points one prompt, joined to the box when there is exactly one.
    public static func prompts(boxes: [[Float]], points: [ImagePrompt.Point], origin: String) throws -> [ImagePrompt]? {
        if boxes.isEmpty && points.isEmpty { return nil }
        if boxes.count > 1 && !points.isEmpty {
            throw BatchError("\(origin), field 'point': points join a box only when there is exactly one box (got \(boxes.count) boxes)")
        }
        if boxes.isEmpty { return [ImagePrompt(points: points)] }
        if boxes.count == 1 { return [ImagePrompt(points: points, box: boxes[0])] }
        return boxes.map { ImagePrompt(box: $0) }
    }

    /// `K` (one slice), `A-B` or `A:B` (inclusive range) or `all`.
    public static func selection(slice: String?, slices: String?, axis: String?, origin: String) throws -> CaseSelection? {
        var ax: SliceAxis = .axial
        if let a = axis?.trimmingCharacters(in: .whitespaces), !a.isEmpty {
            guard let parsed = SliceAxis(rawValue: a.lowercased()) else {
                throw BatchError("\(origin), field 'axis': '\(a)' is not axial, coronal or sagittal")
            }
            ax = parsed
        }
        let s = slice?.trimmingCharacters(in: .whitespaces) ?? ""
        let r = slices?.trimmingCharacters(in: .whitespaces) ?? ""
        if !s.isEmpty && !r.isEmpty {
            throw BatchError("\(origin): give either field 'slice' or field 'slices', not both")
        }
        if !s.isEmpty {
            guard let k = Int(s), k >= 0 else { throw BatchError("\(origin), field 'slice': '\(s)' is not a slice index (0, 1, ...)") }
            return .slice(ax, k)
        }
        if !r.isEmpty {
            if r.lowercased() == "all" { return .volume(ax) }
            let parts = r.split(whereSeparator: { $0 == "-" || $0 == ":" }).map { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard parts.count == 2, let a = parts[0], let b = parts[1], a >= 0, a <= b else {
                throw BatchError("\(origin), field 'slices': '\(r)' is not A-B with 0 <= A <= B, or 'all'")
            }
            return .range(ax, a...b)
        }
        return axis == nil || axis!.trimmingCharacters(in: .whitespaces).isEmpty ? nil : .volume(ax)
    }

    private static func numbers(_ text: String) -> [Float?] {
        text.split(whereSeparator: { $0 == "," || $0 == " " || $0 == "\t" }).map { Float($0) }
    }
}
