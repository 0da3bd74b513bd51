import Foundation
import MedicalImaging

/// An error in a batch's inputs (manifest, folder, arguments) or in one case, worded for the
/// user: it names the manifest row and field, or the file, at fault.
public struct BatchError: Error, CustomStringConvertible, Equatable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Which part of an input a case segments.
public enum CaseSelection: Equatable, Sendable {
    /// A 2-D image as a whole; for a volume, every slice along the axial direction (or its only slice).
    case image
    /// One slice along an axis.
    case slice(SliceAxis, Int)
    /// Slices A...B (inclusive) along an axis.
    case range(SliceAxis, ClosedRange<Int>)
    /// Every slice along an axis.
    case volume(SliceAxis)

    /// The part of a case's id (and default output name) that says which slices it covers.
    var tag: String {
        switch self {
        case .image: return ""
        case .slice(let a, let k): return "\(a.rawValue)\(k)"
        case .range(let a, let r): return "\(a.rawValue)\(r.lowerBound)-\(r.upperBound)"
        case .volume(let a): return "\(a.rawValue)-all"
        }
    }
}

/// How the margin around a box derived from a label is chosen.
public enum BoxMargin: Equatable, Sendable {
    /// The same number of pixels on every side.
    case fixed(Int)
    /// A random whole number of pixels in 0...max on each side (MedSAM trains with 0...20), drawn
    /// from a generator seeded by `seed` and the case, slice and label, so a case gets the same
    /// boxes whichever shard, order or rerun computes it.
    case random(max: Int, seed: UInt64)
}

/// Where a case's prompts come from.
public enum PromptSource: Equatable, Sendable {
    /// The same prompts on every slice the case covers (boxes are one prompt each; points form
    /// one prompt, joined to the box when there is exactly one).
    case explicit([ImagePrompt])
    /// One tight box per label value and slice of a label map on the input's grid.
    case labels(path: String, margin: BoxMargin)
    /// The `boxes` of a MedSAM challenge `.npz` (2-D `N x 4`, 3-D `N x 6`).
    case challenge
    /// No prompts: SAM's automatic mask generator (Everything mode) on the case's one slice,
    /// with `BatchOptions.everything`, writing what `medsam everything` writes.
    case everything
}

/// The file kinds a case's masks can be written as.
public enum MaskFormat: String, Sendable, CaseIterable {
    /// A one-slice label map (8-bit grey PNG, prompt i or label value as the grey level).
    case png
    /// `P x H x W` uint8 masks of one slice (as `medsam segment` writes them).
    case npy
    /// A label map on the input's grid (NIfTI, gzip-compressed for `.nii.gz`).
    case nifti
    /// A MedSAM challenge result: `segs` uint8 with label k for box k.
    case npz

    /// The format an output path's extension names, or nil.
    public static func of(path: String) -> MaskFormat? {
        let p = path.lowercased()
        if p.hasSuffix(".png") { return .png }
        if p.hasSuffix(".npy") { return .npy }
        if p.hasSuffix(".nii") || p.hasSuffix(".nii.gz") { return .nifti }
        if p.hasSuffix(".npz") { return .npz }
        return nil
    }
}

/// One unit of a batch: an input, the slices to segment, the prompts, and where the masks go.
public struct BatchCase: Equatable, Sendable {
    /// Stable identity (input path and slice selection): the journal's key and the sort order
    /// shards are dealt from.
    public var id: String
    public var input: String
    public var selection: CaseSelection
    public var prompts: PromptSource
    public var output: String
    public var format: MaskFormat
    /// Where the case was declared ("manifest.csv row 3", "--input"), for error messages.
    public var origin: String

    public init(id: String, input: String, selection: CaseSelection, prompts: PromptSource, output: String,
                format: MaskFormat, origin: String) {
        self.id = id
        self.input = input
        self.selection = selection
        self.prompts = prompts
        self.output = output
        self.format = format
        self.origin = origin
    }

    /// An Everything case's JSON records (`medsam everything --output-json`): the output's
    /// path with `.json` for its extension; nil for other cases.
    public var recordsPath: String? {
        guard prompts == .everything else { return nil }
        let lower = output.lowercased()
        for ext in [".nii.gz", ".nii", ".png"] where lower.hasSuffix(ext) { return String(output.dropLast(ext.count)) + ".json" }
        return output + ".json"
    }

    /// Every file the case writes.
    var outputs: [String] { [output] + (recordsPath.map { [$0] } ?? []) }
}

/// How cases are completed from what a manifest row or the command line leaves out.
public struct CaseDefaults: Sendable {
    /// Folder for outputs without an explicit path.
    public var outputDirectory: String
    /// Extension for outputs without an explicit path (nil: png for one slice, nii.gz for more,
    /// npz for challenge cases).
    public var format: MaskFormat?
    public var selection: CaseSelection = .image
    /// Prompts for rows and inputs that give none.
    public var prompts: PromptSource?
    /// Folder of label maps named like the inputs (`--boxes-from-labels DIR`).
    public var labelsDirectory: String?
    public var margin: BoxMargin = .fixed(0)

    public init(outputDirectory: String, format: MaskFormat? = nil) {
        self.outputDirectory = outputDirectory
        self.format = format
    }
}

/// Builds cases with their ids and default output names.
public enum CasePlanner {
    /// A case for `input`, with the prompts, selection and output resolved against `defaults`.
    public static func make(input: String, selection: CaseSelection?, prompts: PromptSource?, labels: String?,
                            output: String?, defaults: CaseDefaults, origin: String) throws -> BatchCase {
        let sel = selection ?? defaults.selection
        var source: PromptSource
        if let prompts {
            source = prompts
        } else if let labels {
            source = .labels(path: labels, margin: defaults.margin)
        } else if let dir = defaults.labelsDirectory {
            source = .labels(path: (dir as NSString).appendingPathComponent(fileName(input)), margin: defaults.margin)
        } else if let p = defaults.prompts {
            source = p
        } else if input.lowercased().hasSuffix(".npz") {
            source = .challenge
        } else {
            throw BatchError("\(origin): no prompts for \(input): give boxes, points or labels (--box, --point, --boxes-from-labels)")
        }
        if source == .challenge, sel != .image {
            throw BatchError("\(origin): a challenge .npz case (\(input)) covers its boxes' slices itself; it takes no slice selection")
        }
        let path: String
        let format: MaskFormat
        if let output {
            guard let f = MaskFormat.of(path: output) else {
                throw BatchError("\(origin), field 'output': '\(output)' is not a .png, .npy, .nii, .nii.gz or .npz file name")
            }
            path = output
            format = f
        } else {
            if source == .challenge {
                format = .npz
            } else if let f = defaults.format, f != .npz {
                format = f
            } else {
                format = oneSlice(sel, input: input) ? .png : .nifti
            }
            let tag = sel.tag.isEmpty ? "" : "_" + sel.tag
            let name = source == .challenge ? fileName(input) : stem(input) + tag + "." + (format == .nifti ? "nii.gz" : format.rawValue)
            path = (defaults.outputDirectory as NSString).appendingPathComponent(name)
        }
        if source == .challenge && format != .npz {
            throw BatchError("\(origin), field 'output': a challenge .npz case writes a .npz (got \(path))")
        }
        if source == .everything {
            guard format == .png || format == .nifti else {
                throw BatchError("\(origin), field 'output': an Everything case writes a label map (.png, .nii or .nii.gz) and its records beside it as .json (got \(path))")
            }
            switch sel {
            case .range, .volume:
                throw BatchError("\(origin), field 'slices': Everything mode segments one slice per case; give a slice, not \(sel.tag)")
            case .image, .slice:
                break
            }
        }
        if source != .challenge && format == .npz {
            throw BatchError("\(origin), field 'output': .npz outputs are for challenge cases (an .npz input with boxes and no other prompts)")
        }
        if case .range = sel, format == .png || format == .npy {
            throw BatchError("\(origin), field 'output': \(path) holds one slice, but the case covers several; use .nii or .nii.gz")
        }
        if case .volume = sel, format == .png || format == .npy {
            throw BatchError("\(origin), field 'output': \(path) holds one slice, but the case covers a whole volume; use .nii or .nii.gz")
        }
        let id = sel.tag.isEmpty ? input : input + "#" + sel.tag
        return BatchCase(id: id, input: input, selection: sel, prompts: source, output: path, format: format, origin: origin)
    }

    /// Sorted by id; a repeated id or output path is an error naming both declarations.
    public static func check(_ cases: [BatchCase]) throws -> [BatchCase] {
        let sorted = cases.sorted { $0.id < $1.id }
        var outputs: [String: BatchCase] = [:]
        for (i, c) in sorted.enumerated() {
            if i > 0, sorted[i - 1].id == c.id {
                throw BatchError("\(c.origin): case \(c.id) is also declared at \(sorted[i - 1].origin)")
            }
            for file in c.outputs {
                let key = URL(fileURLWithPath: file).standardizedFileURL.path
                if let other = outputs[key], other.id != c.id {
                    throw BatchError("\(c.origin), field 'output': \(file) is also the output of \(other.origin)")
                }
                outputs[key] = c
            }
        }
        return sorted
    }

    /// The input's last path component.
    static func fileName(_ input: String) -> String {
        var s = input
        while s.count > 1 && s.hasSuffix("/") { s.removeLast() }
        return (s as NSString).lastPathComponent
    }

    /// The file name without its image extension (`.nii.gz` counted as one).
    static func stem(_ input: String) -> String {
        let name = fileName(input)
        let lower = name.lowercased()
        for ext in [".nii.gz", ".nii", ".dcm", ".dicom", ".png", ".jpg", ".jpeg", ".npy", ".npz"] where lower.hasSuffix(ext) {
            return String(name.dropLast(ext.count))
        }
        return name
    }

    /// Whether the case's default output is a single slice: a chosen slice, or a 2-D file.
    static func oneSlice(_ sel: CaseSelection, input: String) -> Bool {
        switch sel {
        case .slice: return true
        case .range, .volume: return false
        case .image:
            let l = input.lowercased()
            return [".png", ".jpg", ".jpeg", ".npy"].contains { l.hasSuffix($0) }
        }
    }
}
